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
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from hramba.core.errors import HrambaError, IntegrityViolation, ServiceUnavailable
from hramba.core.redact import redact_url
from hramba.db.engine import transaction
from hramba.db.models import FeedCursor, FeedFailure
from hramba.domain.access import Action
from hramba.services import access
from hramba.services.context import Archive
from hramba.services.ingest import BATCH, IngestResult, ingest_candidates, summarise
from hramba.services.locks import SharedClaims, exclusive, shared
from hramba.services.quarantine import quarantine
from ingest.directory import Candidate
from ingest.feeds import (
    FeedDamaged,
    FeedItem,
    FeedRefused,
    FeedUndelivered,
    HttpFeed,
    inbox_candidates,
    label,
    settle,
    spooled,
)

DAMAGED = "HRB-I029"  # the download does not match the size or sha256 the feed announced
REFUSED = "HRB-I032"  # the item breaks the protocol: link, redirect, name, size or sha256
UNDELIVERED = "HRB-I033"  # the feed answers the item's link with an HTTP error, run after run


@dataclass
class FeedReport:
    results: list[IngestResult] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sources": self.sources, **summarise(self.results)}


def pull_inbox(archive: Archive, inbox: Path, report: FeedReport) -> None:
    """Archive the inbox's files, each then moved to done/ or quarantine/. Any number of
    runners (processes, hosts) share an inbox on PostgreSQL: each claims the files it
    works on, a batch at a time, and passes over those another holds or has moved away
    already. A runner that dies drops its claims with its connection, and its files come
    round again to whoever lists the inbox next (duplicates, if their batch committed).
    On SQLite, one writer anyway, one runner reads an inbox at a time; a second skips it."""
    access.authorize(archive, Action.INGEST)  # before the inbox is touched
    with shared(archive, f"inbox:{inbox.absolute()}") as claims:
        if claims is None:
            report.sources.append(f"inbox {inbox} (skipped: another run reads it now)")
            return
        report.sources.append(f"inbox {inbox}")
        for batch in _claimed_batches(claims, inbox_candidates(inbox)):
            candidates = {c.relative: c for c in batch}
            try:
                for result in ingest_candidates(archive, batch, source="inbox"):
                    settle(candidates[result.path], inbox, result.outcome)  # after the commit
                    report.results.append(result)
            finally:  # settled, or left for the next runner to list the inbox
                claims.release(candidates)


def _claimed_batches(claims: SharedClaims,
                     listing: list[Candidate]) -> Iterator[list[Candidate]]:
    """The files of `listing` in batches this runner alone holds (one round trip each),
    without those another runner holds, nor those settled since the listing."""
    for start in range(0, len(listing), BATCH):
        chunk = listing[start:start + BATCH]
        taken = set(claims.take([c.relative for c in chunk]))
        batch = [c for c in chunk if c.relative in taken and os.path.lexists(c.path)]
        claims.release(taken.difference(c.relative for c in batch))
        if batch:
            yield batch


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
    except FeedUndelivered as exc:  # the listing works, this item does not: may never
        return _refuse(archive, source, item, UNDELIVERED, str(exc), max_attempts, None,
                       meanwhile=ServiceUnavailable)
    except FeedDamaged as exc:
        try:
            return _refuse(archive, source, item, DAMAGED, str(exc), max_attempts, exc.path)
        finally:
            exc.path.unlink(missing_ok=True)


def _refuse(archive: Archive, source: str, item: FeedItem, code: str, problem: str,
            max_attempts: int, path: Path | None,
            meanwhile: type[HrambaError] = IntegrityViolation) -> IngestResult:
    """A refused item stops the run (`meanwhile`: exit 7 for bytes that do not match,
    75 for an item the feed does not deliver), to be fetched again next time, until
    `max_attempts` runs refused it: then it is quarantined (the bytes received at `path`,
    if any), and the feed goes on."""
    attempts, qid = _record_failure(archive, source, item, problem)
    if attempts < max_attempts:
        raise meanwhile(f"{problem} (attempt {attempts} of {max_attempts}; it is fetched "
                        "again on the next run)")
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
