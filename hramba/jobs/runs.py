"""One run of a job: under its lock, recorded in `job_runs` and in the audit log.

A run is inserted as "running" before the job starts and completed after it, with the
job's counts and its outcome; the completion and its `job.run` audit event commit
together. A row left "running" by a runner that died is closed as failed by the next
run of that job, which holds the job's lock and so knows nobody else is running it.
Every timestamp comes from the archive's clock, so tests travel in time. What a run
records (its error, its counts) and logs has credentials masked (hramba.core.redact): a
source's error may quote its URL, and the audit log keeps what it is given for good.

A job runs as the archive's principal, which must be allowed to run scheduled jobs
(Action.SCHEDULE: an operator); the job's services check their own actions.
"""

from __future__ import annotations

import json
import logging
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hramba.config import Settings
from hramba.core.errors import Conflict, HrambaError
from hramba.core.redact import redact_text
from hramba.core.types import iso
from hramba.db.engine import transaction
from hramba.db.models import JobRun
from hramba.domain.access import Action
from hramba.jobs.locks import job_lock, runner_id
from hramba.jobs.tasks import JobFunction, task
from hramba.services import access, audit
from hramba.services.context import Archive

log = logging.getLogger(__name__)
INTERRUPTED = "interrupted: its runner stopped before the job ended"


@dataclass(frozen=True)
class RunResult:
    """A recorded run, as `scheduler run-job` and `scheduler jobs` report it."""

    id: int
    job: str
    runner: str
    started_at: datetime
    ended_at: datetime | None
    outcome: str  # running | ok | failed
    counts: dict[str, Any]
    error: str | None

    @classmethod
    def of(cls, row: JobRun) -> RunResult:
        return cls(row.id, row.job, row.runner, row.started_at, row.ended_at, row.outcome,
                   row.counts, row.error)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "job": self.job, "runner": self.runner,
                "started_at": self.started_at.isoformat(),
                "ended_at": iso(self.ended_at),
                "outcome": self.outcome, "counts": self.counts, "error": self.error}


def run_job(archive: Archive, settings: Settings, name: str,
            function: JobFunction) -> RunResult | None:
    """Run `function` as job `name` if nobody else runs it now, and record the run;
    None (logged, not recorded) when another runner holds the job's lock."""
    access.authorize(archive, Action.SCHEDULE)
    with job_lock(archive, name) as held:
        if not held:
            log.info("job %s skipped: another runner holds its lock", name)
            return None
        run_id = _start(archive, name)
        counts, error = _call(archive, settings, name, function)
        result = _finish(archive, run_id, counts, error)
    log.info("job %s %s: %s%s", name, result.outcome, json.dumps(counts),
             f" ({error})" if error else "")
    return result


def run_now(archive: Archive, settings: Settings, name: str) -> RunResult:
    """`scheduler run-job`: one run of a configured job now, enabled or not; Conflict if
    it is running elsewhere."""
    result = run_job(archive, settings, name, task(name))
    if result is None:
        raise Conflict(f"job {name} is running elsewhere (its lock is held); try again later")
    return result


def last_runs(archive: Archive) -> dict[str, RunResult]:
    """The latest run of each job (by insertion, which time travel cannot reorder)."""
    access.authorize(archive, Action.SCHEDULE)
    latest = select(func.max(JobRun.id)).group_by(JobRun.job)
    with transaction(archive.db) as session:
        rows = session.scalars(select(JobRun).where(JobRun.id.in_(latest)))
        return {row.job: RunResult.of(row) for row in rows}


def _call(archive: Archive, settings: Settings, name: str,
          function: JobFunction) -> tuple[dict[str, Any], str | None]:
    """The job's counts and its error, if it failed; an error never escapes."""
    try:
        counts = _plain(function(archive, settings))
    except HrambaError as exc:  # our messages name the problem
        return {}, redact_text(str(exc))
    except Exception as exc:  # noqa: BLE001 - logged below, its traceback masked too
        log.error("job %s raised\n%s", name,
                  redact_text("".join(traceback.format_exception(exc))).rstrip())
        return {}, redact_text(f"{type(exc).__name__}: {exc}" if str(exc)
                               else type(exc).__name__)
    error = counts.pop("error", None)
    return counts, str(error) if error else None


def _plain(counts: dict[str, Any]) -> dict[str, Any]:
    """The counts as the JSON column will hold them (dates as text), with credentials
    masked: the feed's counts name its sources by URL."""
    plain: dict[str, Any] = _masked(json.loads(json.dumps(counts, default=str)))
    return plain


def _masked(value: Any) -> Any:
    """Every text in a JSON value through redact_text."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


def _start(archive: Archive, name: str) -> int:
    with transaction(archive.db) as session:
        now = archive.clock.now()
        _close_interrupted(session, archive, name, now)
        row = JobRun(job=name, runner=runner_id(), started_at=now, ended_at=None,
                     outcome="running", counts={}, error=None)
        session.add(row)
        session.flush()
        return row.id


def _close_interrupted(session: Session, archive: Archive, name: str, now: datetime) -> None:
    for row in session.scalars(select(JobRun).where(JobRun.job == name,
                                                    JobRun.outcome == "running")):
        row.ended_at, row.outcome, row.error = now, "failed", INTERRUPTED
        _audit(session, archive, row)


def _finish(archive: Archive, run_id: int, counts: dict[str, Any],
            error: str | None) -> RunResult:
    with transaction(archive.db) as session:
        row = session.get_one(JobRun, run_id)
        row.ended_at, row.counts, row.error = archive.clock.now(), counts, error
        row.outcome = "failed" if error else "ok"
        _audit(session, archive, row)
        return RunResult.of(row)


def _audit(session: Session, archive: Archive, row: JobRun) -> None:
    audit.record(session, archive, "job.run", f"job {row.job}",
                 details=RunResult.of(row).as_dict())
