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

from sqlalchemy import select

from hramba.db.engine import transaction
from hramba.db.models import FeedCursor
from hramba.services.context import Archive
from hramba.services.ingest import IngestResult, ingest_candidates, summarise
from ingest.feeds import HttpFeed, inbox_candidates, settle, spooled


@dataclass
class FeedReport:
    results: list[IngestResult] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sources": self.sources, **summarise(self.results)}


def pull_inbox(archive: Archive, inbox: Path, report: FeedReport) -> None:
    candidates = {c.relative: c for c in inbox_candidates(inbox)}
    report.sources.append(f"inbox {inbox}")
    for result in ingest_candidates(archive, candidates.values(), source="inbox"):
        settle(candidates[result.path], inbox, result.outcome)  # after the commit
        report.results.append(result)


def pull_http(archive: Archive, feed: HttpFeed, report: FeedReport) -> None:
    source = f"http {feed.url}"
    report.sources.append(source)
    spool = archive.home / "spool" / "feed"
    while items := feed.items(_cursor(archive, source)):
        paths = [feed.download(item, spool) for item in items]
        report.results.extend(ingest_candidates(archive, spooled(paths), source="feed"))
        _advance(archive, source, items[-1].cursor)  # only now: everything is committed
        for path in paths:
            path.unlink(missing_ok=True)
    shutil.rmtree(spool, ignore_errors=True)


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
