"""Runners sharing one inbox (issue #16): on PostgreSQL each claims the files it archives
and passes over those another holds or has settled; on SQLite the inbox is one runner's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TENANT

from hramba.config import load_settings
from hramba.core.types import FixedClock
from hramba.services.context import Archive
from hramba.services.corpus import write_corpus
from hramba.services.feed import FeedReport, _claimed_batches, pull_inbox
from hramba.services.locks import shared
from hramba.services.tenants import add_tenant
from hramba.wiring import init_archive
from ingest.feeds import inbox_candidates

BUYER = ("Občina Primer", "SI21423512")


@pytest.fixture
def pg_archive(tmp_path: Path, pg_database_env: dict[str, str],
               clock: FixedClock) -> Iterator[Archive]:
    archive = init_archive(load_settings(home=str(tmp_path / "home"),
                                         environ=pg_database_env), clock)
    add_tenant(archive, TENANT)
    yield archive
    archive.close()


def fill(inbox: Path, count: int) -> list[str]:
    inbox.mkdir()
    for path in write_corpus(inbox.parent / "corpus", count, BUYER, max_size=6_000):
        path.rename(inbox / path.name)
    return sorted(p.name for p in inbox.iterdir())


def test_a_runner_passes_over_the_files_another_holds_and_takes_them_once_free(
        pg_archive: Archive, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    names = fill(inbox, 12)
    held = names[3:6]
    with shared(pg_archive, f"inbox:{inbox.absolute()}") as other:  # another runner's
        assert other is not None
        assert other.take(held) == held
        report = FeedReport()
        pull_inbox(pg_archive, inbox, report)
        assert report.sources == [f"inbox {inbox}"]
        assert sorted(r.path for r in report.results) == sorted(set(names) - set(held))
        assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == held
    # that runner gone (its connection closed), its files come round to the next pull
    again = FeedReport()
    pull_inbox(pg_archive, inbox, again)
    assert sorted(r.path for r in again.results) == held
    assert {r.outcome for r in report.results + again.results} == {"archived"}
    assert sorted(p.name for p in (inbox / "done").iterdir()) == names


def test_claims_are_each_runners_own_and_go_with_it(pg_archive: Archive) -> None:
    with shared(pg_archive, "inbox:/x") as first, shared(pg_archive, "inbox:/x") as second:
        assert first is not None
        assert second is not None
        assert first.take(["a", "b"]) == ["a", "b"]
        assert second.take(["a", "b", "c"]) == ["c"]
        first.release(["a"])
        assert second.take(["a", "b"]) == ["a"]
        assert first.take(["c"]) == []
    with shared(pg_archive, "inbox:/x") as third, shared(pg_archive, "inbox:/y") as fourth:
        assert third is not None
        assert fourth is not None
        assert third.take(["a", "b", "c"]) == ["a", "b", "c"]
        assert fourth.take(["a"]) == ["a"]  # the same name in another inbox


def test_files_settled_since_the_listing_are_passed_over(pg_archive: Archive,
                                                         tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    names = fill(inbox, 5)
    listing = inbox_candidates(inbox)
    (inbox / names[1]).unlink()  # moved to done/ by another runner since
    with shared(pg_archive, f"inbox:{inbox.absolute()}") as claims:
        assert claims is not None
        batches = list(_claimed_batches(claims, listing))
        assert [c.relative for b in batches for c in b] == names[:1] + names[2:]
        with shared(pg_archive, f"inbox:{inbox.absolute()}") as other:
            assert other is not None
            assert other.take([names[1]]) == [names[1]]  # not kept for nothing


def test_on_sqlite_the_inbox_is_one_runners_at_a_time(tmp_path: Path,
                                                     clock: FixedClock) -> None:
    archive = init_archive(load_settings(home=str(tmp_path / "home"), environ={}), clock)
    try:
        add_tenant(archive, TENANT)
        inbox = tmp_path / "inbox"
        fill(inbox, 2)
        with shared(archive, f"inbox:{inbox.absolute()}") as first:
            assert first is not None
            assert first.take(["a"]) == ["a"]
            report = FeedReport()
            pull_inbox(archive, inbox, report)
            assert report.sources == [f"inbox {inbox} (skipped: another run reads it now)"]
        pull_inbox(archive, inbox, report := FeedReport())
        assert [r.outcome for r in report.results] == ["archived", "archived"]
    finally:
        archive.close()
