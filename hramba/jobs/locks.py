"""Who may run what: one lock per job, and on SQLite one scheduler per archive.

PostgreSQL: a session-level advisory lock per job (`pg_try_advisory_lock`), taken on a
connection of its own and held for the job's duration. Any number of schedulers may
share the database; the lock keeps each job from running twice at once, and the server
drops it with the connection should its runner die.

SQLite: the archive is one file on one host, so the locks are flock(2) files in the data
directory, which the kernel drops when their process dies: `<home>/scheduler.lock` for a
scheduler's life (one scheduler per archive) and `<home>/locks/<job>.lock` for each run,
so a manual `run-job` never overlaps a scheduled run of the same job.

Either way, a lock that is taken is not waited for: the run is skipped.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

from sqlalchemy import Engine, text

from hramba.core.errors import Conflict
from hramba.db.engine import reachable
from hramba.services.context import Archive


def runner_id() -> str:
    """Who runs a job, as job_runs.runner records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def advisory_key(name: str) -> int:
    """A stable signed 64-bit key for job `name`: pg_try_advisory_lock takes a bigint."""
    digest = hashlib.sha256(f"hramba-job:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def job_lock(archive: Archive, name: str) -> AbstractContextManager[bool]:
    """Try to take job `name`'s lock without waiting; yields whether it was taken. It is
    held until the block ends."""
    engine = database_engine(archive)
    if engine.dialect.name == "postgresql":
        return _advisory_lock(engine, advisory_key(name))
    return _file_lock(archive.home / "locks" / f"{name}.lock")


@contextmanager
def scheduler_lock(archive: Archive) -> Iterator[None]:
    """On SQLite, hold <home>/scheduler.lock for the block, or raise Conflict naming the
    process that holds it. On PostgreSQL, nothing: the job locks suffice."""
    if database_engine(archive).dialect.name == "postgresql":
        yield
        return
    path = archive.home / "scheduler.lock"
    with _file_lock(path) as held:
        if not held:
            raise Conflict(f"another scheduler runs on this archive: {path} is held by "
                           f"pid {_holder(path)} (on SQLite one scheduler per archive)")
        yield


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
def _file_lock(path: Path) -> Iterator[bool]:
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


def _holder(path: Path) -> str:
    try:
        return path.read_text("ascii").strip() or "unknown"
    except OSError:
        return "unknown"
