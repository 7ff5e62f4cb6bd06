"""The embedded default: objects as read-only files under a root directory.

    <root>/objects/<key>            the bytes, mode 0444
    <root>/objects/<key>#lock       retain-until, legal hold, size and digest recorded at put
    <root>/tmp/                     writes in progress; never listed; what a killed
                                    writer left is swept when a store opens

A put writes a temporary file, fsyncs it and links it into place (link(2) never replaces
a name: objects are write-once even between two writers), so an object's name never
points at partial bytes. Directory entries and lock files become durable at
`sync()` (one syncfs for the whole batch), which the archive calls before it commits the
batch's rows: a crash before that loses only objects no row refers to yet, and the re-run
writes them again.

Retention and legal hold are enforced here in software only. Anyone with write access to
the directory can still change or delete files: this is weaker than S3 Object Lock in
COMPLIANCE mode, which the server enforces even against its administrator. Use the S3
store in production.

The test tenants' store (storage.environments) is one with a `max_lock`: it keeps
objects for at most that long, or (zero) not at all.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from hramba.core.errors import (
    Conflict,
    IntegrityViolation,
    NotFound,
    RetentionLocked,
    ServiceUnavailable,
)
from hramba.core.types import (
    CHUNK,
    Clock,
    Digest,
    Hashed,
    HashingReader,
    ObjectKey,
    StoredObject,
)
from storage.environments import capped_lock, describe_lock

LOCK = "#lock"  # "#" never occurs in a key (storage.keys), so no object is named like a lock
Lock = dict[str, str | bool | int | None]


class LocalObjectStore:
    """ObjectStore on a local filesystem, retention enforced in software."""

    def __init__(self, root: Path, clock: Clock, *, max_lock: timedelta | None = None) -> None:
        self.root = root
        self.clock = clock
        self.max_lock = max_lock  # None: as asked (production); see capped_lock
        self.description = f"localfs {root}" + describe_lock(max_lock)
        for sub in ("objects", "tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        self.swept = sweep_temporary(root / "tmp")

    def _path(self, key: ObjectKey) -> Path:
        if not key or "#" in key or any(p in ("", ".", "..") for p in key.split("/")):
            raise ValueError(f"unsafe object key {key!r}")
        return Path(f"{self.root}/objects/{key}")

    def _lock_path(self, key: ObjectKey) -> Path:
        return Path(f"{self._path(key)}{LOCK}")

    def put(self, key: ObjectKey, data: BinaryIO, *, size: int, sha256: Digest,
            retain_until: datetime) -> StoredObject:
        path = self._path(key)
        if path.exists():
            raise Conflict(f"object {key} already exists; objects are write-once")
        os.makedirs(path.parent, exist_ok=True)
        lock = capped_lock(retain_until, self.clock.now(), self.max_lock)
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        fcntl.flock(fd, fcntl.LOCK_EX)  # a live writer's: sweep_temporary leaves it alone
        try:
            reader = HashingReader(data)
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(reader, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            got = reader.hashed()
            if got != Hashed(size, sha256):
                raise IntegrityViolation(
                    f"put {key}: received {got.size} bytes {got.sha256}, "
                    f"expected {size} bytes {sha256}")
            os.chmod(tmp, 0o444)
            try:
                # link(2), not rename(2): it never replaces a name, so of two writers of
                # one key the second finds the first's object instead of overwriting it.
                os.link(tmp, path)
            except FileExistsError:
                raise Conflict(f"object {key} already exists; objects are write-once"
                               ) from None
            # The lock after the object, so a losing writer never records its digest for
            # the winner's bytes. Until sync() a crash may leave it absent, which reads as
            # "no retention" and makes the re-run set it again.
            self._write_lock(key, {"retain_until": lock.isoformat() if lock else None,
                                   "legal_hold": False, "size": size, "sha256": sha256.hex})
        except OSError as exc:
            raise ServiceUnavailable(f"put {key}: {exc.strerror}") from exc
        finally:
            Path(tmp).unlink(missing_ok=True)
        return StoredObject(key, size, sha256, lock, legal_hold=False)

    def sync(self) -> None:
        """Make every put so far durable: one syncfs(2) of the store's filesystem."""
        fd = os.open(self.root, os.O_RDONLY)
        try:
            if _LIBC is None or _LIBC.syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def stat(self, key: ObjectKey, version: str | None = None) -> StoredObject:
        """`version` is ignored: a local object has one version only (write-once)."""
        path = self._path(key)
        if not path.is_file():
            raise NotFound(f"object {key} not found")
        lock = self._read_lock(key)
        sha256, retain_until = lock.get("sha256"), lock.get("retain_until")
        return StoredObject(key, path.stat().st_size,
                            Digest.sha256(str(sha256)) if sha256 else None,
                            datetime.fromisoformat(str(retain_until)) if retain_until else None,
                            bool(lock.get("legal_hold")))

    def open(self, key: ObjectKey, version: str | None = None
             ) -> AbstractContextManager[BinaryIO]:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise NotFound(f"object {key} not found") from exc

    def link(self, key: ObjectKey, expires: timedelta) -> str:
        self.stat(key)
        return self._path(key).as_uri()

    def exists(self, key: ObjectKey) -> bool:
        return self._path(key).is_file()

    def keys(self, prefix: str) -> Iterator[ObjectKey]:
        objects = self.root / "objects"
        folder = prefix.rpartition("/")[0]  # walk only below the prefix's folder
        for dirpath, dirnames, filenames in os.walk(objects / folder if folder else objects):
            dirnames.sort()
            rel = Path(dirpath).relative_to(objects).as_posix()
            for name in sorted(filenames):
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix) and not key.endswith(LOCK):
                    yield ObjectKey(key)

    def set_retention(self, key: ObjectKey, retain_until: datetime) -> None:
        current = self.stat(key).retain_until
        lock = capped_lock(retain_until, self.clock.now(), self.max_lock)
        if lock is None:
            return  # a store that locks nothing
        if current and lock < current:
            raise RetentionLocked(f"object {key}: retention can be extended, never shortened")
        self._write_lock(key, self._read_lock(key) | {"retain_until": lock.isoformat()})

    def set_legal_hold(self, key: ObjectKey, on: bool) -> None:
        self.stat(key)
        self._write_lock(key, self._read_lock(key) | {"legal_hold": on})

    def delete(self, key: ObjectKey) -> None:
        stored = self.stat(key)
        if stored.legal_hold:
            raise RetentionLocked(f"object {key} is under legal hold")
        if stored.retain_until and self.clock.now() < stored.retain_until:
            raise RetentionLocked(f"object {key} is retained until {stored.retain_until}")
        self._path(key).unlink()
        self._lock_path(key).unlink(missing_ok=True)

    def _read_lock(self, key: ObjectKey) -> Lock:
        """What was recorded at put; empty for a file put there by hand (or lost in a
        crash before sync, which the archive then sets again)."""
        try:
            return dict(json.loads(self._lock_path(key).read_text("utf-8")))
        except (FileNotFoundError, ValueError):
            return {}

    def _write_lock(self, key: ObjectKey, body: Lock) -> None:
        fd, tmp = tempfile.mkstemp(dir=self.root / "tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(body, out)
        os.replace(tmp, self._lock_path(key))


# A temporary file no process holds and untouched this long is a killed writer's. The
# age covers the instant between mkstemp and flock in `put`.
STALE_TEMPORARY = timedelta(minutes=1)


def sweep_temporary(tmp: Path) -> int:
    """Delete what killed writers left in tmp/ (a put is never resumed): files no process
    holds a lock on and older than STALE_TEMPORARY. Safe beside live writers in other
    processes, which hold theirs. How many were deleted."""
    cutoff = time.time() - STALE_TEMPORARY.total_seconds()  # the kernel's clock, as mtime
    swept = 0
    for entry in os.scandir(tmp):
        with contextlib.suppress(FileNotFoundError):  # another sweeper's, just now
            if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff \
                    and _unheld(entry.path):
                os.unlink(entry.path)
                swept += 1
    return swept


def _unheld(path: str) -> bool:
    fd = os.open(path, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)
    return True


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syncfs  # noqa: B018 - present on Linux only
    except (OSError, AttributeError):
        return None
    return libc


_LIBC = _libc()
