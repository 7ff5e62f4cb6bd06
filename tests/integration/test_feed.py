"""The exchange feed: inbox and HTTP pull feed, each package archived exactly once."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from plugins.feedserver import FeedServer
from sqlalchemy import func, select

from hramba.core.errors import ConfigurationError, IntegrityViolation, ServiceUnavailable
from hramba.db.models import FeedCursor, FeedFailure, Unit
from hramba.services.context import Archive
from hramba.services.corpus import ujp_package
from hramba.services.feed import DAMAGED, REFUSED, FeedReport, pull_http, pull_inbox
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


@pytest.mark.parametrize("status", [404, 500])
def test_an_item_the_feed_will_not_deliver_stops_it_only_max_attempts_runs(
        archive: Archive, feed_server: FeedServer, status: int) -> None:
    feed_server.items = packages(3)
    feed_server.failing = {1: status}
    feed = HttpFeed(feed_server.url)
    for attempt in (1, 2):  # perhaps the feed's hiccup: retry later (exit 75)
        with pytest.raises(ServiceUnavailable, match=f"HTTP {status} .*attempt {attempt} of 3"):
            pull_http(archive, feed, FeedReport(), max_attempts=3)
    report = FeedReport()
    pull_http(archive, feed, report, max_attempts=3)
    assert (report.as_dict()["archived"], report.as_dict()["quarantined"]) == (2, 1)
    [held] = list_quarantine(archive)
    assert (held["code"], held["source"]) == ("HRB-I033", f"http {feed.url} item item-1")
    with archive.db.begin() as session:
        assert session.scalars(select(FeedCursor.cursor)).one() == "2"  # past it


def test_hostile_feed_items_are_refused_with_their_code_and_the_feed_goes_on(
        archive: Archive, feed_server: FeedServer, canary: FeedServer,
        tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_bytes(b"not for the archive")
    secret.chmod(0o600)
    canary.items = packages(1)
    hostile: dict[str, tuple[dict[str, object], str]] = {
        "a local file": ({"href": "file:///etc/passwd"}, REFUSED),
        "a local 0600 file": ({"href": secret.as_uri()}, REFUSED),
        "another loopback port": ({"href": f"{canary.url}/packages/0"}, REFUSED),
        "a redirect elsewhere": ({"href": "moved/away"}, REFUSED),
        "a redirect loop": ({"href": "moved/loop"}, REFUSED),
        "no sha256": ({"sha256": None}, REFUSED),
        "a malformed sha256": ({"sha256": "9f86d0"}, REFUSED),
        "no size": ({"size": None}, REFUSED),
        "a size as text": ({"size": "18342"}, REFUSED),
        "a name with ../": ({"name": "../package.zip"}, REFUSED),
        "a name with a backslash": ({"name": "..\\package.zip"}, REFUSED),
        "a name with NUL": ({"name": "package\x00.zip"}, REFUSED),
        "a name not UTF-8": ({"name": "package-\udcff.zip"}, REFUSED),
        "more bytes than its size": ({}, DAMAGED),
        "more bytes, without a Content-Length": ({}, DAMAGED),
    }
    at = {what: 2 * n + 1 for n, what in enumerate(hostile)}  # each between good items
    feed_server.items = packages(2 * len(hostile) + 1)
    for what, (announced, _) in hostile.items():
        feed_server.announce[at[what]] = announced
    feed_server.trailing = {at["more bytes than its size"]: b"and then some",
                            at["more bytes, without a Content-Length"]: b"and more"}
    feed_server.unsized = {at["more bytes, without a Content-Length"]}
    feed_server.redirects = {"/feed/moved/away": f"{canary.url}/packages/0",
                             "/feed/moved/loop": "/feed/moved/loop",
                             "/feed/moved/here": "/feed/packages/0"}
    feed_server.announce[0] = {"href": "moved/here"}  # a redirect on the origin is fine
    feed = HttpFeed(feed_server.url)
    assert "package-\udcff.zip" in [item.name for item in feed.items(None)]  # JSON's \udcff
    report = FeedReport()
    pull_http(archive, feed, report, max_attempts=1)
    assert report.as_dict()["archived"] == len(hostile) + 1
    held = {q["source"].rsplit(" ", 1)[1]: q for q in list_quarantine(archive)}
    assert {item: q["code"] for item, q in held.items()} == {
        f"item-{at[what]}": code for what, (_, code) in hostile.items()}
    assert canary.requests == []
    for what, (_, code) in hostile.items():  # refused: nothing kept; damaged: its size
        kept = None if code == REFUSED else len(feed_server.items[at[what]][1])
        assert held[f"item-{at[what]}"]["size"] == kept, what
    with archive.db.begin() as session:
        assert session.scalars(select(FeedCursor.cursor)).one() == str(2 * len(hostile))
    fetched = len(feed_server.downloads())
    again = FeedReport()
    pull_http(archive, feed, again, max_attempts=1)
    assert (again.results, len(feed_server.downloads())) == ([], fetched)


def test_an_item_on_an_allowed_origin_is_fetched(archive: Archive, feed_server: FeedServer,
                                                 canary: FeedServer) -> None:
    feed_server.items = canary.items = packages(2)
    feed_server.announce[1] = {"href": f"{canary.url}/packages/1"}  # a CDN, say
    report = FeedReport()
    pull_http(archive, HttpFeed(feed_server.url, allowed_origins=[canary.origin]), report)
    assert report.as_dict()["archived"] == 2
    assert canary.downloads() == ["/feed/packages/1"]
    with pytest.raises(ConfigurationError, match=r"feed\.allowed_origins"):
        HttpFeed(feed_server.url, allowed_origins=[f"{canary.origin}/cdn"])
