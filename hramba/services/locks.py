"""Exclusive work across processes and hosts: one runner at a time for a named task.

PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection of its
own, held for the block, in autocommit so no transaction idles open; the server drops it
with the connection should the runner die. SQLite: the archive is one file on one host,
so the lock is an flock(2) file under <home>/locks/, which the kernel drops when its
process dies. Either way a lock that is taken is not waited for: the caller is told.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from hramba.db.engine import reachable
from hramba.services.context import Archive


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for `name`: pg_try_advisory_lock takes a bigint."""
    digest = hashlib.sha256(f"hramba-{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def exclusive(archive: Archive, name: str) -> AbstractContextManager[bool]:
    """Try to take the lock called `name` without waiting; yields whether it was taken.
    It is held until the block ends."""
    engine = database_engine(archive)
    if engine.dialect.name == "postgresql":
        return _advisory_lock(engine, advisory_key(name))
    return file_lock(archive.home / "locks" / f"{name.replace(':', '-')}.lock")


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
def file_lock(path: Path) -> Iterator[bool]:
    """An exclusive flock on `path`, which then names the holding process id."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
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
