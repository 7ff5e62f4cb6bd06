"""The exchange feed: inbox and HTTP pull feed, each package archived exactly once."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from plugins.feedserver import FeedServer
from sqlalchemy import func, select

from hramba.core.errors import IntegrityViolation
from hramba.db.models import FeedCursor, FeedFailure, Unit
from hramba.services.context import Archive
from hramba.services.corpus import ujp_package
from hramba.services.feed import FeedReport, pull_http, pull_inbox
from hramba.services.quarantine import list_quarantine
from ingest.feeds import HttpFeed

BUYER = ("Občina Primer", "SI21423512")


def packages(n: int, start: int = 1) -> list[tuple[str, bytes]]:
    return [(f"package-{i:05d}.zip", ujp_package(i, random.Random(i), BUYER))
            for i in range(start, start + n)]


def units(archive: Archive) -> int:
    with archive.db.begin() as session:
        return int(session.scalar(select(func.count()).select_from(Unit)) or 0)


def test_inbox_files_move_only_after_their_outcome_is_committed(archive: Archive,
                                                                tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for name, data in packages(3):
        (inbox / name).write_bytes(data)
    (inbox / "broken.zip").write_bytes(b"PK\x03\x04 not really")
    (inbox / "arriving.zip.part").write_bytes(b"still being written")
    report = FeedReport()
    pull_inbox(archive, inbox, report)
    assert report.as_dict()["archived"] == 3
    assert report.as_dict()["quarantined"] == 1
    assert sorted(p.name for p in (inbox / "done").iterdir()) == [n for n, _ in packages(3)]
    assert [p.name for p in (inbox / "quarantine").iterdir()] == ["broken.zip"]
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == ["arriving.zip.part"]
    again = FeedReport()
    pull_inbox(archive, inbox, again)
    assert again.results == []


def test_http_feed_advances_its_cursor_and_takes_only_new_items(
        archive: Archive, feed_server: FeedServer) -> None:
    feed_server.items = packages(7)
    feed = HttpFeed(feed_server.url)
    first = FeedReport()
    pull_http(archive, feed, first)
    assert first.as_dict()["archived"] == 7
    with archive.db.begin() as session:
        assert session.scalars(select(FeedCursor.cursor)).one() == "6"
    feed_server.items += packages(2, start=8)
    second = FeedReport()
    pull_http(archive, feed, second)
    assert (second.as_dict()["archived"], second.as_dict()["duplicates"]) == (2, 0)
    assert units(archive) == 9


def test_an_item_damaged_run_after_run_is_quarantined_and_the_feed_goes_on(
        archive: Archive, feed_server: FeedServer) -> None:
    feed_server.items = packages(4)
    feed_server.damaged = {1}
    feed = HttpFeed(feed_server.url)
    for attempt in (1, 2):
        with pytest.raises(IntegrityViolation, match=f"attempt {attempt} of 3"):
            pull_http(archive, feed, FeedReport(), max_attempts=3)
        assert units(archive) == 0  # nothing of the page is archived, the cursor stays
    report = FeedReport()
    pull_http(archive, feed, report, max_attempts=3)
    assert (report.as_dict()["archived"], report.as_dict()["quarantined"]) == (3, 1)
    [held] = list_quarantine(archive)
    assert (held["code"], held["source"]) == ("HRB-I029", f"http {feed.url} item item-1")
    with archive.db.begin() as session:
        assert session.scalars(select(FeedCursor.cursor)).one() == "3"
        failure = session.scalars(select(FeedFailure)).one()
        assert (failure.attempts, failure.quarantine_id) == (3, held["id"])
    again = FeedReport()  # the feed has moved past it: nothing is fetched twice
    pull_http(archive, feed, again, max_attempts=3)
    assert again.as_dict()["archived"] == 0
    assert len(list_quarantine(archive)) == 1
