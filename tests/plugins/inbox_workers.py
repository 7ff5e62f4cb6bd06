"""Ingest workers on one shared inbox, as real processes: what the scale-out test and
tests/bench/workers_bench.py run, and what they check when the workers are done.

A worker is `hramba ingest feed` (pulling feed.inbox every feed.interval seconds), as
ops/hramba-worker@.service runs it; each writes its output to a log file of its own, shown
when one fails.
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import create_engine, text

from hramba.domain.manifest import MANIFEST_ROLE
from hramba.services.corpus import write_corpus

from .cli import HRAMBA, Cli

BUYER = ("Občina Primer", "SI21423512")


def fill_inbox(inbox: Path, count: int, *, min_size: int = 1_000,
               max_size: int = 2_000) -> dict[str, str]:
    """`count` small invoices at the inbox's top (written beside it, then moved in, as an
    exchange drops them): the sha256 of each, by name."""
    staging = inbox.parent / f"{inbox.name}-staging"
    digests = {}
    for path in write_corpus(staging, count, BUYER, min_size=min_size, max_size=max_size):
        digests[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
        path.rename(inbox / path.name)
    return digests


def waiting(inbox: Path) -> int:
    """Files still at the inbox's top."""
    return sum(1 for entry in os.scandir(inbox) if entry.is_file(follow_symlinks=False))


def settled(inbox: Path) -> list[Path]:
    """Files moved to done/ or quarantine/."""
    return [p for folder in ("done", "quarantine") if (inbox / folder).is_dir()
            for p in (inbox / folder).iterdir()]


@dataclass
class Processes:
    """Long-running `hramba` processes (workers, schedulers), each with its log."""

    cli: Cli
    logs: Path
    running: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    killed: list[str] = field(default_factory=list)
    _files: list[IO[bytes]] = field(default_factory=list)

    def start(self, name: str, *args: str) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        log = (self.logs / f"{name}.log").open("ab")
        self._files.append(log)
        self.running[name] = subprocess.Popen(
            [HRAMBA, "--home", str(self.cli.home), *args], env=self.cli.env,
            stdout=log, stderr=subprocess.STDOUT)

    def kill(self, name: str) -> None:
        """SIGKILL, mid-work: no handler runs, the database sees its connections drop."""
        self.running[name].send_signal(signal.SIGKILL)
        self.running[name].wait(30)
        self.killed.append(name)

    def ended(self) -> dict[str, int]:
        """The processes that have exited by themselves, and how."""
        return {name: code for name, proc in self.running.items()
                if (code := proc.poll()) is not None}

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        """SIGTERM to each (a scheduler finishes its running jobs), then wait."""
        for proc in self.running.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.running.values():
            try:
                proc.wait(120)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for log in self._files:
            log.close()


def wait_for(condition: Callable[[], bool], timeout: float, what: str,
             processes: Processes) -> None:
    """Poll `condition` until true; fail, with the log, if a process ends by itself or time
    runs out."""
    deadline = time.monotonic() + timeout
    while not condition():
        ended = processes.ended()
        if ended:
            name = next(iter(ended))
            raise AssertionError(f"{name} exited {ended[name]} while waiting for {what}:\n"
                                 f"{processes.log(name)}")
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout:.0f} s")
        time.sleep(0.5)


def exit_code(cli: Cli, *args: str, timeout: float = 900) -> int:
    """How `hramba ARGS` ends, given longer than Cli's two minutes: a full fixity sweep of
    tens of thousands of units reads every object back."""
    done = subprocess.run([HRAMBA, "--home", str(cli.home), *args], env=cli.env,
                          capture_output=True, timeout=timeout, check=False)
    if done.returncode:
        print(done.stdout.decode(errors="replace")[-3000:],
              done.stderr.decode(errors="replace")[-3000:])
    return done.returncode


def pending_units(database_url: str) -> int:
    return int(_query(database_url, "SELECT count(*) FROM units WHERE sealed_at IS NULL")[0][0])


def archive_counts(database_url: str) -> dict[str, int]:
    """What the database holds: units, distinct contents, `unit.archived` events and units
    with such an event more than once, Evidence Records and units without exactly one."""
    queries = {
        "units": "SELECT count(*) FROM units",
        "contents": "SELECT count(DISTINCT content_sha256) FROM units",
        "archived_events": "SELECT count(*) FROM audit_events WHERE action = 'unit.archived'",
        "archived_twice": "SELECT count(*) FROM (SELECT subject FROM audit_events WHERE "
                          "action = 'unit.archived' GROUP BY subject HAVING count(*) > 1) t",
        "evidence": "SELECT count(*) FROM evidence",
        "not_sealed_once": "SELECT count(*) FROM units u WHERE (SELECT count(*) FROM "
                           "evidence e WHERE e.unit_id = u.id) <> 1",
        "failed_job_runs": "SELECT count(*) FROM job_runs WHERE outcome <> 'ok'",
        "seal_runs": "SELECT count(*) FROM job_runs WHERE job = 'seal' AND outcome = 'ok'",
    }
    return {name: int(_query(database_url, sql)[0][0]) for name, sql in queries.items()}


def archived_files(database_url: str) -> dict[str, int]:
    """How many units hold each file received, by its name and sha256 ("name sha256"):
    not the manifests the archive writes."""
    return {f"{name} {sha256}": int(n) for name, sha256, n in _query(  # type: ignore[misc]
        database_url, f"SELECT name, sha256, count(*) FROM files WHERE role <> "
        f"'{MANIFEST_ROLE}' GROUP BY name, sha256")}


def _query(database_url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql))]
    finally:
        engine.dispose()
