"""Pull the exchange feed: the inbox folder and the HTTP pull feed, exactly once.

Exactly once comes from the archive itself: unit ids derive from content, so anything
pulled again after a crash is a duplicate, never a second unit. What this module adds is
the order of steps: an inbox file is moved away, and a feed cursor advanced, only after
the outcome of its items is committed.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from hramba.core.errors import IntegrityViolation
from hramba.db.engine import transaction
from hramba.db.models import FeedCursor, FeedFailure
from hramba.domain.access import Action
from hramba.services import access
from hramba.services.context import Archive
from hramba.services.ingest import IngestResult, ingest_candidates, summarise
from hramba.services.quarantine import quarantine
from ingest.feeds import FeedItem, HttpFeed, inbox_candidates, mismatch, settle, spool_item, spooled

DAMAGED = "HRB-I029"  # the download does not match the size or sha256 the feed announced


@dataclass
class FeedReport:
    results: list[IngestResult] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sources": self.sources, **summarise(self.results)}


def pull_inbox(archive: Archive, inbox: Path, report: FeedReport) -> None:
    access.authorize(archive, Action.INGEST)  # before the inbox is touched
    candidates = {c.relative: c for c in inbox_candidates(inbox)}
    report.sources.append(f"inbox {inbox}")
    for result in ingest_candidates(archive, candidates.values(), source="inbox"):
        settle(candidates[result.path], inbox, result.outcome)  # after the commit
        report.results.append(result)


def pull_http(archive: Archive, feed: HttpFeed, report: FeedReport,
              max_attempts: int = 3) -> None:
    access.authorize(archive, Action.INGEST)  # before anything is fetched
    source = f"http {feed.url}"
    report.sources.append(source)
    spool = archive.home / "spool" / "feed"
    while items := feed.items(_cursor(archive, source)):
        paths = []
        for item in items:
            data = feed.fetch(item)
            problem = mismatch(item, data)
            if problem is None:
                paths.append(spool_item(item, data, spool))
            else:
                report.results.append(_refuse(archive, source, item, data, problem,
                                              max_attempts))
        report.results.extend(ingest_candidates(archive, spooled(paths), source="feed"))
        _advance(archive, source, items[-1].cursor)  # only now: everything is committed
        for path in paths:
            path.unlink(missing_ok=True)
    shutil.rmtree(spool, ignore_errors=True)


def _refuse(archive: Archive, source: str, item: FeedItem, data: bytes, problem: str,
            max_attempts: int) -> IngestResult:
    """A damaged download stops the run (exit 7), to be fetched again next time, until
    `max_attempts` runs saw it damaged: then it is quarantined, and the feed goes on."""
    now = archive.clock.now()
    with transaction(archive.db) as session:
        row = session.scalars(select(FeedFailure).where(
            FeedFailure.source == source, FeedFailure.item_id == item.id)).first()
        if row is None:
            row = FeedFailure(source=source, item_id=item.id, attempts=0, first_at=now)
            session.add(row)
        if row.quarantine_id is None:
            row.attempts, row.last_error, row.last_at = row.attempts + 1, problem, now
        attempts, qid = row.attempts, row.quarantine_id
    if attempts < max_attempts:
        raise IntegrityViolation(f"{problem} (attempt {attempts} of {max_attempts}; it is "
                                 "fetched again on the next run)")
    if qid is None:  # not already quarantined by a run that stopped before its commit
        qid = quarantine(archive, source=f"{source} item {item.id}", code=DAMAGED,
                         reason=f"{problem}, {attempts} times", tenant=None, data=data)
        with transaction(archive.db) as session:
            session.execute(update(FeedFailure).where(
                FeedFailure.source == source, FeedFailure.item_id == item.id)
                .values(quarantine_id=qid))
    return IngestResult(item.name, "quarantined", None, [DAMAGED],
                        f"{problem} (quarantine {qid})")


def _cursor(archive: Archive, source: str) -> str | None:
    with transaction(archive.db) as session:
        return session.scalars(select(FeedCursor.cursor).where(
            FeedCursor.source == source)).first()


def _advance(archive: Archive, source: str, cursor: str) -> None:
    with transaction(archive.db) as session:
        row = session.get(FeedCursor, source)
        if row is None:
            session.add(FeedCursor(source=source, cursor=cursor,
                                   updated_at=archive.clock.now()))
        else:
            row.cursor, row.updated_at = cursor, archive.clock.now()
