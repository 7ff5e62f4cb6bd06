"""hramba scheduler: run the jobs on their schedules, run one now, list them."""

from __future__ import annotations

import logging

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state
from hramba.cli.errors import ProblemsFound

app = command_group("Scheduled jobs: feed, seal, fixity, retention, renewal.")


@app.command("run")
def run(ctx: typer.Context,
        only: list[str] = typer.Option([], "--only", metavar="NAME",
                                       help="Run only this job (repeatable).")) -> None:
    """Run the jobs on their cron schedules until SIGTERM or SIGINT, then wait for running
    jobs to end (exit 0). Exit 5 if another scheduler holds this archive (SQLite)."""
    from hramba.jobs.scheduler import Scheduler, configured_jobs, stop_on_signals

    _log_to_stderr()
    settings = state(ctx).settings
    jobs = configured_jobs(settings, only)
    Scheduler(state(ctx).archive, settings, jobs).run(stop_on_signals())


@app.command("run-job")
def run_job(ctx: typer.Context,
            name: str = typer.Argument(..., help="feed, seal, fixity, retention or renewal."),
            as_json: bool = JSON_OPTION) -> None:
    """Run one job now, under its lock, recorded like a scheduled run; exit 1 if it
    failed, 5 if it is running elsewhere."""
    from hramba.jobs.runs import run_now

    result = run_now(state(ctx).archive, state(ctx).settings, name)
    if as_json:
        emit_json(result.as_dict())
    else:
        counts = "".join(f"\n  {k}: {v}" for k, v in result.counts.items())
        typer.echo(f"job {result.job} {result.outcome}{counts}"
                   + (f"\n  error: {result.error}" if result.error else ""))
    if result.outcome != "ok":
        raise ProblemsFound()


@app.command("jobs")
def jobs(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List every job: its schedule, its next run and how its last run ended."""
    from hramba.jobs.scheduler import describe_jobs

    rows = describe_jobs(state(ctx).archive, state(ctx).settings)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        last = r["last"] or {}
        typer.echo(f"{r['job']:<10} {r['schedule'] or 'disabled':<14} "
                   f"next {r['next_run'] or '-':<26} last {last.get('outcome', '-')} "
                   f"{last.get('started_at', '')}")


def _log_to_stderr() -> None:
    """Our runs at INFO, the libraries' warnings: for journald or a log file."""
    logging.basicConfig(level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("hramba").setLevel(logging.INFO)
