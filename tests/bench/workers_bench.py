"""`make bench`: ingest files/s with 1, 2 and 4 workers on one shared inbox, on PostgreSQL
(the server at 127.0.0.1:5432, a database of its own per run, dropped after it) and a
SeaweedFS cluster (one master, three volume servers, filer, S3 gateway, started here on
loopback: tests/plugins/seaweed_cluster.py), a bucket of its own per run.

Each run fills the inbox with --count small invoices, starts the workers (`hramba ingest
feed`, as ops/hramba-worker@.service runs them) and times until the inbox is empty; then it
checks that nothing was lost nor archived twice: every file in done/, one unit each. On 2
cores the gain is bounded; the point is that it does not fall and nothing is lost.
Prints figures; never part of `make test`.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))

from plugins.cli import Cli, clean_env  # noqa: E402 - after the path to tests/
from plugins.inbox_workers import (  # noqa: E402
    Processes,
    archive_counts,
    fill_inbox,
    settled,
    wait_for,
    waiting,
)
from plugins.s3 import ACCESS_KEY, SECRET_KEY  # noqa: E402
from plugins.seaweed_cluster import running_cluster  # noqa: E402

SERVER = "host=127.0.0.1 port=5432 user=postgres"


def admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER} dbname=postgres", autocommit=True) as conn:
        conn.execute(sql)


def run(where: Path, endpoint: str, workers: int, count: int) -> float:
    """Files/s of `workers` workers over `count` files, once nothing is found lost."""
    database = f"hramba_bench_{uuid.uuid4().hex[:8]}"
    admin(f'CREATE DATABASE "{database}"')
    try:
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{database}"
        inbox = where / "inbox"
        inbox.mkdir(parents=True)
        cli = Cli(where / "home", clean_env() | {
            "HRAMBA_DATABASE_URL": url, "HRAMBA_TSA_DEVELOPMENT": "true",
            "HRAMBA_SIGNING_DEVELOPMENT": "true", "HRAMBA_STORAGE_KIND": "s3",
            "HRAMBA_STORAGE_ENDPOINT": endpoint, "HRAMBA_STORAGE_SECURE": "false",
            "HRAMBA_STORAGE_BUCKET": f"hramba-bench-{uuid.uuid4().hex[:8]}",
            "HRAMBA_STORAGE_ACCESS_KEY": ACCESS_KEY, "HRAMBA_STORAGE_SECRET_KEY": SECRET_KEY,
            "HRAMBA_FEED_INBOX": str(inbox), "HRAMBA_FEED_INTERVAL": "1"})
        cli("init")
        cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina")
        digests = fill_inbox(inbox, count)
        processes = Processes(cli, where / "logs")
        started = time.perf_counter()
        try:
            for n in range(1, workers + 1):
                processes.start(f"worker-{n}", "ingest", "feed")
            wait_for(lambda: waiting(inbox) == 0, 3600, "empty inbox", processes)
            seconds = time.perf_counter() - started
        finally:
            processes.stop()
        _check(url, inbox, digests)
        return count / seconds
    finally:
        admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _check(url: str, inbox: Path, digests: dict[str, str]) -> None:
    counts = archive_counts(url)
    lost = set(digests) - {p.name for p in settled(inbox)}
    if lost or counts["units"] != len(digests) or counts["archived_twice"]:
        raise SystemExit(f"lost or twice: {len(lost)} files not settled, {counts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=4_000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    where = Path(tempfile.mkdtemp(prefix="hramba-workers-bench-"))
    try:
        with running_cluster(where) as s3:
            print(f"{'ingest workers, one inbox (PostgreSQL + SeaweedFS cluster)':<60} "
                  f"{'files/s':>8} {'x 1':>6}")
            first = None
            for workers in args.workers:
                rate = run(where / f"run-{workers}", s3.endpoint, workers, args.count)
                first = first or rate
                print(f"{f'{workers} worker(s), {args.count:,} files, nothing lost':<60} "
                      f"{rate:>8.1f} {rate / first:>6.2f}")
    finally:
        shutil.rmtree(where, ignore_errors=True)


if __name__ == "__main__":
    main()
