"""Exclusive work across processes and hosts: one runner at a time for a named task.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its
own, held for the block, in autocommit so no transaction idles open; the server drops it
with the connection should the runner die. SQLite: the archive is one file on one host,
so the lock is an flock(2) file under <home>/locks/, which the kernel drops when its
process dies. Either way a lock that is taken is not waited for: the caller is told.
Work that runners share (the files of one inbox) is claimed item by item instead
(`shared`): each runner takes, in one round trip, the items no other holds.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import OperationalError

from hramba.core.errors import ServiceUnavailable
from hramba.db.engine import reachable
from hramba.services.context import Archive


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name`: pg_try_advisory_lock takes a bigint. A file
    name that is not UTF-8 (its bytes kept as surrogates) makes a key too."""
    digest = hashlib.sha256(f"hramba-{name}".encode(errors="surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def exclusive(archive: Archive, name: str) -> AbstractContextManager[bool]:
    """Try to take the lock called `name` without waiting; yields whether it was taken.
    It is held until the block ends."""
    engine = database_engine(archive)
    if engine.dialect.name == "postgresql":
        return _advisory_lock(engine, advisory_key(name))
    return file_lock(archive.home / "locks" / _file_name(name))


def _file_name(name: str) -> str:
    """The lock file of `name`: the name itself where it makes a plain file name ("job:seal"
    -> job-seal.lock), else a digest of it (a path, a URL)."""
    if re.fullmatch(r"[A-Za-z0-9:_.-]{1,100}", name):
        return f"{name.replace(':', '-')}.lock"
    digest = hashlib.sha256(name.encode(errors="surrogateescape")).hexdigest()
    return f"h-{digest[:32]}.lock"


CLAIM_WAIT_SECONDS = 300  # a claim held longer is another run's stall: retry later


@contextmanager
def claimed(archive: Archive, names: Iterable[str]) -> Iterator[None]:
    """Hold every lock in `names` for the block, waiting for them: what two writers of
    the same unit or document key need, so that the second sees the first's commit
    instead of racing it. PostgreSQL: session advisory locks on one connection, taken in
    a fixed order (so two runners never deadlock), waited for at most CLAIM_WAIT_SECONDS
    (then ServiceUnavailable, naming the wait). SQLite, one writer on one host anyway:
    one flock for the archive's intake, waited for without limit (the holder is alive:
    the kernel drops the lock of a dead one)."""
    keys = sorted({advisory_key(name) for name in names})
    if not keys:
        yield
        return
    engine = database_engine(archive)
    if engine.dialect.name != "postgresql":
        with file_lock(archive.home / "locks" / "intake.lock", wait=True):
            yield
        return
    with reachable(), engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.execute(text(f"SET lock_timeout = '{CLAIM_WAIT_SECONDS}s'"))
        try:
            try:  # one round trip, in the array's (sorted) order
                conn.execute(text("SELECT pg_advisory_lock(k) FROM unnest(CAST(:keys AS "
                                  "bigint[])) WITH ORDINALITY AS t(k, n) ORDER BY n"),
                             {"keys": keys})
            except OperationalError as exc:
                raise ServiceUnavailable(
                    f"another run has held a claim on the same units for over "
                    f"{CLAIM_WAIT_SECONDS} s: retry later") from exc
            yield
        finally:  # the connection's only locks: all go before it returns to the pool
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
            conn.execute(text("RESET lock_timeout"))


class SharedClaims:
    """Claims on the items of one scope that several runners share (an inbox's files):
    `take` claims, without waiting, those of the names no other runner holds, in one round
    trip; `release` gives them back. On PostgreSQL each is a session advisory lock on the
    runner's own connection, which the server drops should the runner die; without a
    connection the runner holds the whole scope, and every name is its own."""

    def __init__(self, scope: str, conn: Connection | None = None) -> None:
        self.scope, self._conn = scope, conn

    def take(self, names: Sequence[str]) -> list[str]:
        """Those of `names` now claimed by this runner, in their order."""
        if self._conn is None:
            return list(names)
        keys = self._keys(names)
        taken = set(self._conn.scalars(text(
            "SELECT k FROM unnest(CAST(:keys AS bigint[])) AS t(k) "
            "WHERE pg_try_advisory_lock(k)"), {"keys": list(keys)}))
        return [name for key, name in keys.items() if key in taken]

    def release(self, names: Iterable[str]) -> None:
        keys = list(self._keys(names))
        if self._conn is not None and keys:
            self._conn.execute(text("SELECT pg_advisory_unlock(k) FROM unnest(CAST(:keys AS "
                                    "bigint[])) AS t(k)"), {"keys": keys})

    def _keys(self, names: Iterable[str]) -> dict[int, str]:
        return {advisory_key(f"{self.scope}/{name}"): name for name in names}


@contextmanager
def shared(archive: Archive, scope: str) -> Iterator[SharedClaims | None]:
    """Claims on the items of `scope` for the block, or None if they cannot be had.
    PostgreSQL: any number of runners, each on a connection of its own (AUTOCOMMIT, as in
    `exclusive`), each taking the items the others do not hold. SQLite, one writer anyway:
    the scope is one runner's at a time (its lock file, not waited for), None for another."""
    engine = database_engine(archive)
    if engine.dialect.name != "postgresql":
        with file_lock(archive.home / "locks" / _file_name(scope)) as held:
            yield SharedClaims(scope) if held else None
        return
    with reachable(), engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        try:
            yield SharedClaims(scope, conn)
        finally:  # before the connection goes back to the pool, with none of its claims
            conn.execute(text("SELECT pg_advisory_unlock_all()"))


def database_engine(archive: Archive) -> Engine:
    bind = archive.db.kw.get("bind")
    assert isinstance(bind, Engine)
    return bind


@contextmanager
def _advisory_lock(engine: Engine, key: int) -> Iterator[bool]:
    # AUTOCOMMIT: the lock belongs to the session, so no transaction needs to stay open
    # (an "idle in transaction" connection for hours would hold back VACUUM).
    with reachable(), engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT")
        held = bool(conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}))
        try:
            yield held
        finally:
            if held:  # before the connection goes back to the pool, still locked
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})


@contextmanager
def file_lock(path: Path, *, wait: bool = False) -> Iterator[bool]:
    """An exclusive flock on `path`, which then names the holding process id; without
    `wait`, a lock another process holds is not waited for (yields False)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        yield True
    finally:
        os.close(fd)  # closing drops the lock


def holder(path: Path) -> str:
    """The process id a lock file names, as far as it can be read."""
    try:
        return path.read_text("ascii").strip() or "unknown"
    except OSError:
        return "unknown"
