"""Who may run what: one lock per job, and on SQLite one scheduler per archive.

Each run holds the job's lock (hramba.services.locks: a PostgreSQL advisory lock, or on
SQLite an flock file under <home>/locks/), so a job never runs twice at once, whatever
runs it: any number of schedulers sharing a PostgreSQL database, or a manual `run-job`.
On SQLite, a scheduler also holds `<home>/scheduler.lock` for its life: one scheduler per
archive. A lock that is taken is not waited for: the run is skipped.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from hramba.core.errors import Conflict
from hramba.services.context import Archive
from hramba.services.locks import advisory_key, database_engine, exclusive, file_lock, holder

__all__ = ["advisory_key", "job_lock", "runner_id", "scheduler_lock"]


def runner_id() -> str:
    """Who runs a job, as job_runs.runner records it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def job_lock(archive: Archive, name: str) -> AbstractContextManager[bool]:
    """Try to take job `name`'s lock without waiting; yields whether it was taken. It is
    held until the block ends."""
    return exclusive(archive, f"job:{name}")


@contextmanager
def scheduler_lock(archive: Archive) -> Iterator[None]:
    """On SQLite, hold <home>/scheduler.lock for the block, or raise Conflict naming the
    process that holds it. On PostgreSQL, nothing: the job locks suffice."""
    if database_engine(archive).dialect.name == "postgresql":
        yield
        return
    path = archive.home / "scheduler.lock"
    with file_lock(path) as held:
        if not held:
            raise Conflict(f"another scheduler runs on this archive: {path} is held by "
                           f"pid {holder(path)} (on SQLite one scheduler per archive)")
        yield
