"""Scale-out on a real distributed store (issue #16, point 5): four ingest workers share
one inbox, two schedulers seal, on PostgreSQL and a SeaweedFS cluster (one master, three
volume servers, filer, S3 gateway); one worker is killed at random twice and restarted.
Every file is archived exactly once, every unit sealed once, fixity and the audit chain
are clean.

HRAMBA_TEST_SCALE_FILES sets the number of files (default 20,000); the seed of the kills
is printed, HRAMBA_TEST_SCALE_SEED repeats a run's.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
from plugins.cli import Cli, clean_env
from plugins.inbox_workers import (
    Processes,
    archive_counts,
    archived_files,
    exit_code,
    fill_inbox,
    pending_units,
    settled,
    wait_for,
    waiting,
)

FILES = int(os.environ.get("HRAMBA_TEST_SCALE_FILES", "20000"))
WORKERS = 4
SCHEDULERS = 2
KILLS = 2


@pytest.fixture
def scaled(tmp_path: Path, pg_database_env: dict[str, str],
           cluster_env: dict[str, str]) -> Cli:
    """One archive on PostgreSQL and the cluster, its inbox filled, nothing running yet."""
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    cli = Cli(tmp_path / "home", clean_env() | pg_database_env | cluster_env | {
        "HRAMBA_FEED_INBOX": str(inbox), "HRAMBA_FEED_INTERVAL": "1",
        "HRAMBA_SCHEDULER_FEED": "* * * * *", "HRAMBA_SCHEDULER_SEAL": "* * * * *"})
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer")
    return cli


@pytest.mark.slow
@pytest.mark.s3
@pytest.mark.timeout(1500)
def test_four_workers_two_schedulers_and_two_kills_archive_each_file_once(
        scaled: Cli, tmp_path: Path, pg_database_env: dict[str, str]) -> None:
    inbox, url = tmp_path / "inbox", pg_database_env["HRAMBA_DATABASE_URL"]
    digests = fill_inbox(inbox, FILES)
    seed = int(os.environ.get("HRAMBA_TEST_SCALE_SEED") or time.time())
    print(f"scale-out: {FILES} files, seed {seed}")
    rng = random.Random(seed)
    processes = Processes(scaled, tmp_path / "logs")
    started = time.monotonic()
    try:
        for n in range(1, SCHEDULERS + 1):
            processes.start(f"scheduler-{n}", "scheduler", "run", "--only", "feed",
                            "--only", "seal")
        for n in range(1, WORKERS + 1):
            processes.start(f"worker-{n}", "ingest", "feed")
        for at in sorted(rng.uniform(0.1, 0.7) for _ in range(KILLS)):  # of the files
            wait_for(lambda at=at: len(settled(inbox)) >= at * FILES, 900,
                     f"{at:.0%} of the files settled", processes)
            victim = f"worker-{rng.randint(1, WORKERS)}"
            time.sleep(rng.uniform(0, 1))  # anywhere in a batch
            processes.kill(victim)
            processes.start(victim, "ingest", "feed")
        wait_for(lambda: waiting(inbox) == 0, 900, "empty inbox", processes)
        ingested = time.monotonic() - started
        wait_for(lambda: pending_units(url) == 0, 300, "units all sealed by the schedulers",
                 processes)
    finally:
        processes.stop()
    print(f"scale-out: {FILES} files ingested in {ingested:.0f} s "
          f"({FILES / ingested:.0f} files/s), sealed after {time.monotonic() - started:.0f} s")
    assert len(processes.killed) == KILLS
    assert sorted(p.name for p in settled(inbox)) == sorted(digests)  # all in done/
    assert not (inbox / "quarantine").exists()
    assert archived_files(url) == {f"{name} {sha256}": 1 for name, sha256 in digests.items()}
    counts = archive_counts(url)
    assert counts == {"units": FILES, "contents": FILES, "archived_events": FILES,
                      "archived_twice": 0, "evidence": FILES, "not_sealed_once": 0,
                      "failed_job_runs": 0, "seal_runs": counts["seal_runs"]}
    assert counts["seal_runs"] >= 1
    assert exit_code(scaled, "fixity") == 0
    assert exit_code(scaled, "audit", "verify") == 0
