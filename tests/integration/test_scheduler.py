"""The scheduler: locked, recorded runs; two schedulers on one PostgreSQL never overlap a
job; a failing job is recorded and the others go on; runs follow the archive's clock."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]
from plugins.services import free_port
from sqlalchemy import create_engine, select, text

from hramba.config import JOBS, Settings, load_settings
from hramba.core.errors import ConfigurationError, Conflict, NotFound, ServiceUnavailable
from hramba.core.types import Clock, FixedClock, SystemClock
from hramba.db.models import AuditEvent, JobRun
from hramba.jobs.crontab import crontab_weekdays
from hramba.jobs.locks import advisory_key, job_lock, runner_id
from hramba.jobs.runs import INTERRUPTED, run_job, run_now
from hramba.jobs.scheduler import Job, Scheduler, configured_jobs, describe_jobs
from hramba.jobs.tasks import TASKS
from hramba.services.context import Archive
from hramba.wiring import init_archive, open_archive

EVERY_SECOND = CronTrigger(second="*")
JobBody = Callable[[Archive, Settings], dict[str, Any]]


def embedded(tmp_path: Path, clock: Clock) -> tuple[Archive, Settings]:
    settings = load_settings(home=str(tmp_path / "home"), environ={})
    return init_archive(settings, clock), settings


@pytest.fixture
def opened() -> Iterator[list[Archive]]:
    """Archives a test opens, closed however the test ends."""
    archives: list[Archive] = []
    yield archives
    for archive in archives:
        archive.close()


@pytest.fixture
def sqlite_archive(tmp_path: Path, clock: FixedClock,
                   opened: list[Archive]) -> tuple[Archive, Settings]:
    archive, settings = embedded(tmp_path, clock)
    opened.append(archive)
    return archive, settings


def runs(archive: Archive, job: str) -> list[JobRun]:
    with archive.db.begin() as session:
        return list(session.scalars(select(JobRun).where(JobRun.job == job)
                                    .order_by(JobRun.started_at, JobRun.id)))


def job_events(archive: Archive) -> list[AuditEvent]:
    with archive.db.begin() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "job.run")
                                    .order_by(AuditEvent.seq)))


def run_for(schedulers: list[Scheduler], seconds: float) -> None:
    """Run each scheduler in its own thread for `seconds`, then stop them all cleanly."""
    stop = threading.Event()
    threads = [threading.Thread(target=s.run, args=(stop,)) for s in schedulers]
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join(30)
        assert not thread.is_alive(), "scheduler did not stop"


def test_task_registry_names_the_configured_jobs() -> None:
    assert tuple(TASKS) == JOBS


@pytest.mark.parametrize(("crontab", "names"), [
    ("*", "*"), ("0", "sun"), ("7", "sun"), ("1-5", "mon,tue,wed,thu,fri"),
    ("5-7", "sun,fri,sat"), ("*/2", "sun,tue,thu,sat"), ("1,3", "mon,wed"),
    ("sat,SUN", "sun,sat"), ("1/3", "mon,thu")])
def test_crontab_weekdays_count_sunday_as_zero(crontab: str, names: str) -> None:
    assert crontab_weekdays(crontab) == names


@pytest.mark.parametrize("bad", ["8", "5-1", "*/0", "mo"])
def test_crontab_weekdays_refuse_what_cron_refuses(bad: str) -> None:
    with pytest.raises(ValueError, match="weekday"):
        crontab_weekdays(bad)


def test_advisory_key_is_a_stable_signed_bigint() -> None:
    keys = {name: advisory_key(f"job:{name}") for name in JOBS}
    assert all(-(2**63) <= k < 2**63 for k in keys.values())
    assert len(set(keys.values())) == len(JOBS)
    assert advisory_key("job:seal") == advisory_key("job:seal") != advisory_key("job:Seal")


def test_run_is_recorded_at_the_archive_clock_and_audited(
        sqlite_archive: tuple[Archive, Settings], clock: FixedClock) -> None:
    archive, settings = sqlite_archive
    clock.at = at = clock.at + timedelta(days=400)  # a year on, without sleeping
    result = run_now(archive, settings, "seal")
    assert (result.outcome, result.error) == ("ok", None)
    assert result.started_at == result.ended_at == at
    assert result.runner == runner_id()
    [row] = runs(archive, "seal")
    assert (row.started_at, row.outcome, row.counts["sealed"]) == (at, "ok", 0)
    [event] = job_events(archive)
    assert (event.subject, event.occurred_at) == ("job seal", at)
    assert event.details == result.as_dict()


def returning(counts: dict[str, Any]) -> JobBody:
    return lambda archive, settings: counts


def raising(exc: Exception) -> JobBody:
    def body(archive: Archive, settings: Settings) -> dict[str, Any]:
        raise exc
    return body


@pytest.mark.parametrize(("body", "error"), [
    (returning({"done": 1}), None),
    (returning({"done": 1, "error": "TSA down, 3 pending"}), "TSA down, 3 pending"),
    (raising(ServiceUnavailable("feed host: URLError")), "feed host: URLError"),
    (raising(ZeroDivisionError("division by zero")), "ZeroDivisionError: division by zero"),
    (raising(NotImplementedError()), "NotImplementedError"),
])
def test_outcome_of_a_run(sqlite_archive: tuple[Archive, Settings], body: JobBody,
                          error: str | None) -> None:
    archive, settings = sqlite_archive
    result = run_job(archive, settings, "probe", body)
    assert result is not None
    assert (result.outcome, result.error) == ("failed" if error else "ok", error)
    assert "error" not in result.counts
    [row] = runs(archive, "probe")
    assert (row.outcome, row.error) == (result.outcome, error)
    assert job_events(archive)[-1].details["outcome"] == result.outcome


@pytest.mark.parametrize("url", ["http://feeduser:FEED-PW@127.0.0.1:{port}/items?token=SECRET",
                                 "http://127.0.0.1:{port}/items?token=SECRET"])
def test_a_run_records_no_credentials_of_a_feed_url(sqlite_archive: tuple[Archive, Settings],
                                                    url: str) -> None:
    archive, settings = sqlite_archive
    closed = url.format(port=free_port())  # nobody listens there
    result = run_now(archive, replace(settings, feed=replace(settings.feed, url=closed)),
                     "feed")
    assert (result.outcome, (result.error or "")[:4]) == ("failed", "feed")
    [row] = runs(archive, "feed")
    for recorded in (row.error or "", str(row.counts), str(job_events(archive)[-1].details)):
        assert "SECRET" not in recorded
        assert "FEED-PW" not in recorded


def test_a_run_masks_credentials_that_a_library_quotes(
        sqlite_archive: tuple[Archive, Settings]) -> None:
    archive, settings = sqlite_archive
    leaky = raising(ValueError("Max retries exceeded with url: /items?token=SECRET"))
    counting = returning({"sources": ["http u:SECRET@h/x?sig=SECRET"], "error": "token=SECRET"})
    raised, counted = (run_job(archive, settings, "probe", body) for body in (leaky, counting))
    assert raised is not None
    assert raised.error == "ValueError: Max retries exceeded with url: /items?token=***"
    assert counted is not None
    assert (counted.counts, counted.error) == ({"sources": ["http u:***@h/x?sig=***"]},
                                               "token=***")
    assert "SECRET" not in str([e.details for e in job_events(archive)])


def test_a_held_job_lock_skips_the_run(sqlite_archive: tuple[Archive, Settings]) -> None:
    archive, settings = sqlite_archive
    with job_lock(archive, "seal") as held:  # as a scheduled run in another process would
        assert held
        assert run_job(archive, settings, "seal", TASKS["seal"]) is None
        with pytest.raises(Conflict, match="running elsewhere"):
            run_now(archive, settings, "seal")
    assert runs(archive, "seal") == []
    assert run_now(archive, settings, "seal").outcome == "ok"


def test_a_run_left_running_is_closed_by_the_next(
        sqlite_archive: tuple[Archive, Settings], clock: FixedClock) -> None:
    archive, settings = sqlite_archive
    at = clock.at
    with archive.db.begin() as session:  # a runner that died mid-run
        session.add(JobRun(job="seal", runner="gone:1", started_at=at, ended_at=None,
                           outcome="running", counts={}, error=None))
    clock.at = at + timedelta(hours=1)
    run_now(archive, settings, "seal")
    died, next_run = runs(archive, "seal")
    assert (died.outcome, died.error, died.ended_at) == ("failed", INTERRUPTED, clock.at)
    assert (next_run.outcome, next_run.started_at) == ("ok", clock.at)


def test_jobs_show_schedule_next_run_and_last_outcome(
        sqlite_archive: tuple[Archive, Settings], clock: FixedClock) -> None:
    archive, settings = sqlite_archive
    run_now(archive, settings, "seal")
    clock.at = datetime(2026, 3, 5, 10, 30, tzinfo=UTC)  # Thursday, 11:30 in Ljubljana (CET)
    rows = {r["job"]: r for r in describe_jobs(archive, settings)}
    assert list(rows) == list(JOBS)
    assert rows["seal"]["next_run"] == "2026-03-05T12:15:00+01:00"
    assert rows["renewal"]["next_run"] == "2026-03-08T03:00:00+01:00"  # "* * 0": Sunday
    assert rows["seal"]["last"]["outcome"] == "ok"
    assert rows["feed"]["last"] is None


def test_only_and_disabled_jobs(tmp_path: Path) -> None:
    settings = load_settings(home=str(tmp_path), environ={"HRAMBA_SCHEDULER_FEED": ""})
    assert list(configured_jobs(settings)) == ["seal", "fixity", "retention", "renewal", "exports",
                                                "reports"]
    assert list(configured_jobs(settings, ["seal"])) == ["seal"]
    with pytest.raises(ConfigurationError, match=r"scheduler\.feed is empty"):
        configured_jobs(settings, ["feed"])
    with pytest.raises(NotFound, match="no job 'sael'"):
        configured_jobs(settings, ["sael"])


@pytest.mark.slow
def test_a_failing_job_is_recorded_and_the_others_go_on(tmp_path: Path,
                                                       opened: list[Archive]) -> None:
    archive, settings = embedded(tmp_path, SystemClock())
    opened.append(archive)
    jobs = {"boom": Job(EVERY_SECOND, raising(RuntimeError("disk on fire"))),
            "fine": Job(EVERY_SECOND, returning({"ticks": 1}))}
    run_for([Scheduler(archive, settings, jobs)], 3.5)
    failed, fine = runs(archive, "boom"), runs(archive, "fine")
    assert len(failed) >= 2
    assert {(r.outcome, r.error) for r in failed} == {("failed", "RuntimeError: disk on fire")}
    assert len(fine) >= 2
    assert {(r.outcome, r.counts["ticks"]) for r in fine} == {("ok", 1)}


@pytest.mark.pg
@pytest.mark.slow
def test_two_schedulers_on_one_postgres_never_overlap_a_job(
        tmp_path: Path, pg_database_env: dict[str, str], opened: list[Archive]) -> None:
    settings = load_settings(home=str(tmp_path / "home"), environ=pg_database_env)
    opened += [init_archive(settings, SystemClock()), open_archive(settings, SystemClock())]
    archives = list(opened)
    running, most, ran, guard = [0], [0], Counter[str](), threading.Lock()

    def slow(label: str) -> JobBody:
        def job(archive: Archive, settings: Settings) -> dict[str, Any]:
            with guard:
                running[0] += 1
                most[0] = max(most[0], running[0])
            time.sleep(0.7)
            with guard:
                running[0] -= 1
            ran[label] += 1
            return {"by": label}
        return job

    schedulers = [Scheduler(a, settings, {"slow": Job(EVERY_SECOND, slow(label))})
                  for a, label in zip(archives, "AB", strict=True)]
    run_for(schedulers, 4.5)
    rows = runs(archives[0], "slow")
    assert len(rows) >= 3
    assert all(r.outcome == "ok" and r.ended_at is not None for r in rows)
    for before, after in pairwise(rows):
        assert before.ended_at is not None
        assert before.ended_at <= after.started_at, "two runs of one job overlapped"
    assert most[0] == 1
    assert sum(ran.values()) == len(rows)
    # both fired every second: one of them found the lock taken at least once
    assert sum(s.skipped["slow"] for s in schedulers) >= 1


@pytest.mark.pg
def test_advisory_lock_held_by_another_session_skips_the_run(
        tmp_path: Path, pg_database_env: dict[str, str], clock: FixedClock,
        opened: list[Archive]) -> None:
    settings = load_settings(home=str(tmp_path / "home"), environ=pg_database_env)
    archive = init_archive(settings, clock)
    opened.append(archive)
    other = create_engine(settings.database_url, isolation_level="AUTOCOMMIT")
    try:
        with other.connect() as conn:  # e.g. a scheduler on another host
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": advisory_key("job:seal")})
            with pytest.raises(Conflict):
                run_now(archive, settings, "seal")
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": advisory_key("job:seal")})
        assert runs(archive, "seal") == []
        assert run_now(archive, settings, "seal").outcome == "ok"
    finally:
        other.dispose()
