"""The seven scheduled jobs, each a thin call of one service.

A job takes the archive and the settings and returns its counts, a JSON-serialisable
dict that lands in `job_runs.counts`. It reports a failure either by raising or, when
the service hands back a report rather than raising (seal, fixity), by an `error` entry
in its counts; hramba.jobs.runs turns either into the outcome "failed".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from hramba.config import Settings
from hramba.core.errors import NotFound
from hramba.services import export, fixity, renewal, reports, retention, seal
from hramba.services.context import Archive
from hramba.services.feed import FeedReport, pull_http, pull_inbox
from ingest.feeds import HttpFeed

JobFunction = Callable[[Archive, Settings], dict[str, Any]]


def pull_feed(archive: Archive, settings: Settings) -> dict[str, Any]:
    """`hramba ingest feed --once`; quarantined items are counted, not a failure (they
    wait in the quarantine for a person, like a quarantined `ingest dir` file)."""
    feed = settings.feed
    if feed.inbox is None and not feed.url:
        return {"skipped": "no feed configured"}
    report = FeedReport()
    if feed.inbox is not None:
        pull_inbox(archive, feed.inbox, report)
    if feed.url:
        pull_http(archive, HttpFeed(feed.url, allowed_origins=feed.allowed_origins), report,
                  feed.max_attempts)
    summary = report.as_dict()
    del summary["results"]  # one row per file: too much for a run's counts
    return summary


def seal_units(archive: Archive, settings: Settings) -> dict[str, Any]:
    """`hramba seal`; a TSA outage stops it with `error` set, which fails the run."""
    return seal.seal(archive).as_dict()


def sweep_fixity(archive: Archive, settings: Settings) -> dict[str, Any]:
    """Today's slice of the rolling sweep; any error finding fails the run, naming the
    finding codes (the findings themselves are in the sweep's audit event)."""
    report = fixity.sweep(archive, settings.scheduler.fixity_period_days)
    codes = Counter(f.code for f in report.findings)
    counts: dict[str, Any] = {**report.counts, "findings": dict(codes)}
    if not report.ok:
        counts["error"] = "fixity problems: " + ", ".join(
            f"{code} x{n}" for code, n in sorted(codes.items()))
    return counts


def sweep_retention(archive: Archive, settings: Settings) -> dict[str, Any]:
    """`hramba retention sweep`: mirror holds, purge what is due, remind budget users of
    exports awaiting their confirmation, deliver the notifications waiting."""
    return retention.sweep(archive)


def renew_evidence(archive: Archive, settings: Settings) -> dict[str, Any]:
    """`hramba evidence renew`: renew every chain whose proof weakens within the margin."""
    return renewal.renew(archive).as_dict()


def build_exports(archive: Archive, settings: Settings) -> dict[str, Any]:
    """Build the retrieval exports waiting (queued, approved, or failed before); a
    failed build fails the run, its reason recorded on the export."""
    counts: dict[str, Any] = export.build_queued(archive)
    if counts["exports failed"]:
        counts["error"] = f"{counts['exports failed']} export build(s) failed: hramba export ls"
    return counts


def make_reports(archive: Archive, settings: Settings) -> dict[str, Any]:
    """Last month's integrity, evidence and access reports, last year's holdings report,
    per tenant, each once."""
    return reports.make_periodic(archive)


# In the order of hramba.config.JOBS, which names the same jobs (a test checks it).
TASKS: dict[str, JobFunction] = {
    "feed": pull_feed,
    "seal": seal_units,
    "fixity": sweep_fixity,
    "retention": sweep_retention,
    "renewal": renew_evidence,
    "exports": build_exports,
    "reports": make_reports,
}


def task(name: str) -> JobFunction:
    """The job called `name`, or NotFound listing the jobs there are."""
    if name not in TASKS:
        raise NotFound(f"no job {name!r}; the jobs are {', '.join(TASKS)}")
    return TASKS[name]
