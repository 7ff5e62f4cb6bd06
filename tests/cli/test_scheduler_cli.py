"""`hramba scheduler` as an operator runs it on the embedded default."""

from __future__ import annotations

from pathlib import Path

import pytest
from plugins.cli import Cli
from plugins.services import free_port, stop, wait_until
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from hramba.config import JOBS
from hramba.db.models import AuditEvent

INVOICE = b"\xef\xbb\xbf<?xml version='1.0'?><Invoice xmlns='urn:eslog:2.00'/>\n"


def audit_events(cli: Cli, action: str) -> list[AuditEvent]:
    engine = create_engine(f"sqlite:///{cli.home / 'hramba.db'}")
    try:
        with Session(engine) as session:
            return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
    finally:
        engine.dispose()


def test_run_job_records_and_jobs_lists(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "a.xml").write_bytes(INVOICE)
    cli("ingest", "dir", str(tmp_path / "in"), "--tenant", "OBCINA1")
    run = cli("scheduler", "run-job", "seal", "--json").json()
    assert (run["job"], run["outcome"], run["error"]) == ("seal", "ok", None)
    assert (run["counts"]["sealed"], run["counts"]["pending"]) == (1, 0)
    assert run["started_at"] <= run["ended_at"]
    [event] = audit_events(cli, "job.run")
    assert (event.subject, event.details["id"], event.details["outcome"]) == (
        "job seal", run["id"], "ok")
    cli("audit", "verify")  # the run's event is chained like any other
    jobs = {j["job"]: j for j in cli("scheduler", "jobs", "--json").json()}
    assert list(jobs) == list(JOBS)
    assert all(j["schedule"] and j["next_run"] for j in jobs.values())
    assert jobs["seal"]["last"] == run
    assert jobs["feed"]["last"] is None
    assert "seal       15 * * * *" in cli("scheduler", "jobs").out


def test_run_job_exit_codes(cli: Cli) -> None:
    assert cli("scheduler", "run-job", "sael", check=False).code == 4
    down = Cli(cli.home, {**cli.env, "HRAMBA_FEED_URL": f"http://127.0.0.1:{free_port()}/"})
    failed = down("scheduler", "run-job", "feed", "--json", check=False)
    assert failed.code == 1
    assert failed.json()["outcome"] == "failed"
    assert "feed 127.0.0.1" in failed.json()["error"]
    jobs = {j["job"]: j for j in down("scheduler", "jobs", "--json").json()}
    assert jobs["feed"]["last"]["outcome"] == "failed"


@pytest.mark.slow
def test_one_scheduler_per_sqlite_archive_and_sigterm_stops_it(cli: Cli) -> None:
    first = cli.popen("scheduler", "run", "--only", "seal", "--only", "feed")
    try:
        lock = cli.home / "scheduler.lock"
        wait_until(lambda: lock.is_file() and lock.read_text() == str(first.pid), 60,
                   "the first scheduler to take its lock", first)
        second = cli("scheduler", "run", check=False)
        assert second.code == 5
        assert str(lock) in second.err
        assert f"pid {first.pid}" in second.err
        first.terminate()
        assert first.wait(60) == 0  # stopped cleanly
    finally:
        stop(first)
    unknown = cli("scheduler", "run", "--only", "sael", check=False)
    assert unknown.code == 4
