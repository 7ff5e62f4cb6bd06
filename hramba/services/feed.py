"""Pull the exchange feed: the inbox folder and the HTTP pull feed, exactly once.

Exactly once comes from the archive itself: unit ids derive from content, so anything
pulled again after a crash is a duplicate, never a second unit. What this module adds is
the order of steps: an inbox file is moved away, and a feed cursor advanced, only after
the outcome of its items is committed. And that a bad item never holds up the others: one
that breaks the protocol is refused at once (HRB-I032), one that comes down damaged is
fetched again, up to max_attempts runs (HRB-I029); both then end in the quarantine and the
cursor moves past them.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from hramba.core.errors import IntegrityViolation
from hramba.core.redact import redact_url
from hramba.db.engine import transaction
from hramba.db.models import FeedCursor, FeedFailure
from hramba.domain.access import Action
from hramba.services import access
from hramba.services.context import Archive
from hramba.services.ingest import IngestResult, ingest_candidates, summarise
from hramba.services.locks import exclusive
from hramba.services.quarantine import quarantine
from ingest.feeds import (
    FeedDamaged,
    FeedItem,
    FeedRefused,
    HttpFeed,
    inbox_candidates,
    label,
    settle,
    spooled,
)

DAMAGED = "HRB-I029"  # the download does not match the size or sha256 the feed announced
REFUSED = "HRB-I032"  # the item breaks the protocol: link, redirect, name, size or sha256


@dataclass
class FeedReport:
    results: list[IngestResult] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sources": self.sources, **summarise(self.results)}


def pull_inbox(archive: Archive, inbox: Path, report: FeedReport) -> None:
    """Archive the inbox's files, each then moved to done/ or quarantine/. One reader of
    an inbox at a time (any process, any host): a second finds it taken and skips it,
    rather than trip over files the first is moving."""
    access.authorize(archive, Action.INGEST)  # before the inbox is touched
    with exclusive(archive, f"inbox:{inbox.absolute()}") as held:
        if not held:
            report.sources.append(f"inbox {inbox} (skipped: another run reads it now)")
            return
        candidates = {c.relative: c for c in inbox_candidates(inbox)}
        report.sources.append(f"inbox {inbox}")
        for result in ingest_candidates(archive, candidates.values(), source="inbox"):
            settle(candidates[result.path], inbox, result.outcome)  # after the commit
            report.results.append(result)


def pull_http(archive: Archive, feed: HttpFeed, report: FeedReport,
              max_attempts: int = 3) -> None:
    access.authorize(archive, Action.INGEST)  # before anything is fetched
    source = f"http {redact_url(feed.url)}"
    with exclusive(archive, f"feed:{source}") as held:  # one reader of a feed at a time
        if not held:
            report.sources.append(f"{source} (skipped: another run reads it now)")
            return
        report.sources.append(source)
        _pull(archive, feed, source, report, max_attempts)


def _pull(archive: Archive, feed: HttpFeed, source: str, report: FeedReport,
          max_attempts: int) -> None:
    # A folder of its own, which it empties at the end, whatever other feeds spool.
    spool = archive.home / "spool" / hashlib.sha256(source.encode()).hexdigest()[:16]
    while items := feed.items(_cursor(archive, source)):
        paths = []
        for item in items:
            taken = _take(archive, feed, source, item, spool, max_attempts)
            if isinstance(taken, Path):
                paths.append(taken)
            else:
                report.results.append(taken)
        report.results.extend(ingest_candidates(archive, spooled(paths), source="feed"))
        _advance(archive, source, items[-1].cursor)  # only now: everything is committed
        for path in paths:
            path.unlink(missing_ok=True)
    shutil.rmtree(spool, ignore_errors=True)


def _take(archive: Archive, feed: HttpFeed, source: str, item: FeedItem, spool: Path,
          max_attempts: int) -> Path | IngestResult:
    """The item spooled for intake, or the result of refusing it."""
    try:
        return feed.download(item, spool)
    except FeedRefused as exc:  # the announcement will not change: once is enough
        return _refuse(archive, source, item, REFUSED, str(exc), 1, None)
    except FeedDamaged as exc:
        try:
            return _refuse(archive, source, item, DAMAGED, str(exc), max_attempts, exc.path)
        finally:
            exc.path.unlink(missing_ok=True)


def _refuse(archive: Archive, source: str, item: FeedItem, code: str, problem: str,
            max_attempts: int, path: Path | None) -> IngestResult:
    """A refused item stops the run (exit 7), to be fetched again next time, until
    `max_attempts` runs refused it: then it is quarantined (the bytes received at `path`,
    if any), and the feed goes on."""
    attempts, qid = _record_failure(archive, source, item, problem)
    if attempts < max_attempts:
        raise IntegrityViolation(f"{problem} (attempt {attempts} of {max_attempts}; it is "
                                 "fetched again on the next run)")
    if qid is None:  # not already quarantined by a run that stopped before its commit
        qid = quarantine(archive, source=f"{source} item {item.id}", code=code,
                         reason=problem if attempts == 1 else f"{problem}, {attempts} times",
                         tenant=None, path=path)
        with transaction(archive.db) as session:
            session.execute(update(FeedFailure).where(
                FeedFailure.source == source, FeedFailure.item_id == item.id)
                .values(quarantine_id=qid))
    return IngestResult(label(item.name), "quarantined", None, [code],
                        f"{problem} (quarantine {qid})")


def _record_failure(archive: Archive, source: str, item: FeedItem,
                    problem: str) -> tuple[int, str | None]:
    """Count one more failed attempt at `item` (none once it is quarantined): the
    attempts so far, and its quarantine id if it has one."""
    now = archive.clock.now()
    with transaction(archive.db) as session:
        row = session.scalars(select(FeedFailure).where(
            FeedFailure.source == source, FeedFailure.item_id == item.id)).first()
        if row is None:
            row = FeedFailure(source=source, item_id=item.id, attempts=0, first_at=now)
            session.add(row)
        if row.quarantine_id is None:
            row.attempts, row.last_error, row.last_at = row.attempts + 1, problem, now
        return row.attempts, row.quarantine_id


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
