"""APScheduler wiring: each job fires on its cron schedule as a locked, recorded run.

The only module that imports APScheduler (an import-linter contract), so its 3.x API,
and its weekday numbering (see hramba.jobs.crontab), stay here. Jobs run in worker
threads; `max_instances=1` keeps a job from overlapping itself in this process,
hramba.jobs.locks across processes and hosts. A fire that finds the job still running
is dropped, and fires missed while the process was busy or asleep collapse into one
(`coalesce`) if they are at most MISFIRE_GRACE late.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.base import BaseTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.cron import CronTrigger  # type: ignore[import-untyped]

from hramba.config import JOBS, Settings
from hramba.core.errors import ConfigurationError
from hramba.core.types import iso
from hramba.domain.access import Action
from hramba.jobs.crontab import crontab_weekdays
from hramba.jobs.locks import scheduler_lock
from hramba.jobs.runs import last_runs, run_job
from hramba.jobs.tasks import JobFunction, task
from hramba.services import access
from hramba.services.context import Archive

log = logging.getLogger(__name__)
MISFIRE_GRACE = 600  # seconds


@dataclass(frozen=True)
class Job:
    """What to run and when: a 5-field crontab line (in scheduler.timezone) or, for
    tests, any APScheduler trigger."""

    trigger: str | BaseTrigger
    function: JobFunction


def cron_trigger(expr: str, timezone: str) -> CronTrigger:
    """A crontab line (minute hour day month weekday; 0 = Sunday) as a trigger."""
    fields = expr.split()
    if len(fields) != 5:
        raise ConfigurationError(f"cron expression {expr!r} must have 5 fields")
    minute, hour, day, month, weekday = fields
    try:
        return CronTrigger(minute=minute, hour=hour, day=day, month=month,
                           day_of_week=crontab_weekdays(weekday), timezone=ZoneInfo(timezone))
    except ValueError as exc:
        raise ConfigurationError(f"cron expression {expr!r}: {exc}") from exc


def configured_jobs(settings: Settings, only: Sequence[str] = ()) -> dict[str, Job]:
    """The jobs whose schedule is set, or just those named in `only` (each must be a
    job with a schedule)."""
    schedules = settings.scheduler.schedules
    for name in only:
        task(name)  # NotFound for a name that is no job
        if not schedules.get(name):
            raise ConfigurationError(f"job {name} has no schedule: scheduler.{name} is empty")
    jobs = {name: Job(schedules[name], task(name)) for name in JOBS
            if schedules.get(name) and (not only or name in only)}
    if not jobs:
        raise ConfigurationError("no job has a schedule: every scheduler.<job> is empty")
    return jobs


class Scheduler:
    """Runs `jobs` on their triggers until told to stop; `skipped` counts the fires that
    found a job's lock held by another runner."""

    def __init__(self, archive: Archive, settings: Settings, jobs: Mapping[str, Job]) -> None:
        self.archive, self.settings = archive, settings
        self.skipped: Counter[str] = Counter()
        timezone = settings.scheduler.timezone
        self._scheduler = BackgroundScheduler(timezone=ZoneInfo(timezone), job_defaults={
            "max_instances": 1, "coalesce": True, "misfire_grace_time": MISFIRE_GRACE})
        for name, job in jobs.items():
            trigger = (cron_trigger(job.trigger, timezone) if isinstance(job.trigger, str)
                       else job.trigger)
            self._scheduler.add_job(self._fire, trigger, args=(name, job.function),
                                    id=name, name=name)

    def run(self, stop: threading.Event) -> None:
        """Hold the scheduler lock (SQLite), fire jobs until `stop` is set, then wait for
        the running ones to end. Refused at once (not at the first fire) for a principal
        that may not run scheduled jobs: they run as it."""
        access.authorize(self.archive, Action.SCHEDULE)
        with scheduler_lock(self.archive):
            self._scheduler.start()
            try:
                log.info("scheduler started: %s", ", ".join(
                    f"{j.id} next at {j.next_run_time}" for j in self._scheduler.get_jobs()))
                while not stop.wait(1):
                    pass
                log.info("scheduler stopping: waiting for running jobs")
            finally:
                self._scheduler.shutdown(wait=True)
        log.info("scheduler stopped")

    def _fire(self, name: str, function: JobFunction) -> None:
        if run_job(self.archive, self.settings, name, function) is None:
            self.skipped[name] += 1


def stop_on_signals() -> threading.Event:
    """An event that SIGTERM or SIGINT sets: the scheduler then shuts down cleanly.
    Call it from the main thread (Python delivers signals only there)."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    return stop


def describe_jobs(archive: Archive, settings: Settings) -> list[dict[str, Any]]:
    """Every job: its schedule, its next run after the archive clock's now (in
    scheduler.timezone) and its last recorded run."""
    last, now = last_runs(archive), archive.clock.now()
    rows = []
    for name in JOBS:
        expr = settings.scheduler.schedules.get(name, "")
        trigger = cron_trigger(expr, settings.scheduler.timezone) if expr else None
        next_run = trigger.get_next_fire_time(None, now) if trigger else None
        rows.append({"job": name, "schedule": expr or None,
                     "next_run": iso(next_run),
                     "last": last[name].as_dict() if name in last else None})
    return rows
