"""Retrieval exports, bad input and failure (issue #12): criteria that match nothing make no
export; a request over exports.max_units waits for approval or is refused with the number;
a budget user's package holds only its own tenant's units through every criterion (a
seller both tenants buy from included), and another tenant's exports read as if they did
not exist; storage down or the disk full while building leaves the export "failed" with
its reason, nothing stored, nothing to download, no scratch files, and the next run builds
it; two builders at once build it once. On both profiles."""

from __future__ import annotations

import errno
import json
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from threading import Barrier
from typing import Any, BinaryIO

import pytest

from hramba.config import Settings
from hramba.core.errors import Conflict, NotFound, RejectedInput, ServiceUnavailable
from hramba.core.types import FixedClock, ObjectKey
from hramba.db.engine import transaction
from hramba.db.models import Tenant
from hramba.domain.access import Action, Principal, Role
from hramba.domain.export import ExportRules, ExportState, OverLimit
from hramba.domain.search import Direction
from hramba.ports import ObjectStore
from hramba.services import access
from hramba.services import export as service
from hramba.services import package as package_module
from hramba.services.audit import EventCriteria, list_events
from hramba.services.context import Archive
from hramba.services.export import (
    STALE_BUILD,
    ExportView,
    approve_export,
    build_export,
    build_queued,
    download_export,
    link_export,
    list_exports,
    request_export,
    show_export,
)
from hramba.services.seal import seal
from hramba.services.search import SearchCriteria, search_units
from hramba.wiring import open_archive
from storage.keys import export_prefix

from . import test_search
from .principals import acting_as
from .test_search import KOMUNALA, OWN, archive_invoice, budget_user

corpus = test_search.corpus  # the fixture: UNITS archived, OBCINA2 registered


@pytest.fixture(autouse=True)
def real_time(clock: FixedClock) -> None:
    """The clock at the real time: a package is locked for 30 days from its building, and
    an S3 server refuses a retain-until already past by its own clock (InvalidRequest)."""
    clock.at = datetime.now(UTC).replace(microsecond=0)


def criteria(**given: Any) -> SearchCriteria:
    return SearchCriteria(tenant="OBCINA1", **given)


def requested(archive: Archive, **given: Any) -> ExportView:
    return request_export(archive, criteria(**given), "audit 2026")


def packaged_units(archive: Archive, export_id: int, tmp_path: Path) -> tuple[set[str], set[str]]:
    """The unit ids of the package as delivered: in metadata.json, and in its folders'
    names under data/units/ (`<date>_<number>_<unit id>`)."""
    package = download_export(archive, export_id, tmp_path / f"delivered-{export_id}")
    with zipfile.ZipFile(package) as zipped:
        bag = f"export-{export_id}/"
        listed = json.loads(zipped.read(f"{bag}metadata.json"))["units"]
        folders = {name[len(bag):].split("/")[2] for name in zipped.namelist()
                   if name.startswith(f"{bag}data/units/")}
    return {row["unit_id"] for row in listed}, {f.rpartition("_")[2] for f in folders}


def events(archive: Archive, action: str) -> list[dict[str, Any]]:
    logged = list_events(archive, EventCriteria(limit=1000)).events
    return [e.details for e in logged if e.action == action]


def stored_packages(archive: Archive, export_id: int) -> list[ObjectKey]:
    return list(archive.store.keys(export_prefix("OBCINA1", export_id)))


def scratch_left(archive: Archive) -> list[Path]:
    scratch = archive.home / "tmp"
    return list(scratch.rglob("*")) if scratch.exists() else []


def tenant_id(archive: Archive, code: str) -> int:
    return access.tenant(archive, code, Action.TENANT_READ).id


def set_needs_approval(archive: Archive, code: str) -> None:
    """No service sets it yet: the column, directly."""
    with transaction(archive.db) as session:
        session.get_one(Tenant, tenant_id(archive, code)).exports_need_approval = True


# --- criteria that match nothing, and the limit -------------------------------------------

@pytest.mark.parametrize("given", [{"number": "nobody's"},
                                   {"party": "Občina Druga"},  # only OBCINA2 has such units
                                   {"date_from": date(2030, 1, 1)}],
                         ids=["no such number", "another tenant's party", "after them all"])
def test_criteria_matching_nothing_make_no_export(archive: Archive, corpus: dict[str, str],
                                                  given: dict[str, Any]) -> None:
    with (acting_as(archive, budget_user(archive)),
          pytest.raises(NotFound, match=r"^no unit of OBCINA1 meets the criteria: nothing to")):
        requested(archive, **given)
    assert list_exports(archive) == []
    assert events(archive, "export.requested") == []


def test_over_the_limit_waits_for_approval(archive: Archive, corpus: dict[str, str]) -> None:
    archive.exports = ExportRules(max_units=2, over_limit=OverLimit.APPROVE)
    with transaction(archive.db) as session:
        assert not session.get_one(Tenant, tenant_id(archive, "OBCINA1")).exports_need_approval
    with acting_as(archive, budget_user(archive)):
        over = requested(archive, party="komunala")  # water, refund, undated
        at_limit = requested(archive, date_to=date(2026, 1, 31))  # water, power
        with pytest.raises(Conflict, match=r"is awaiting-approval: an approver must approve"):
            build_export(archive, over.export_id)
    assert (over.state, over.needs_approval, over.matched) == (
        ExportState.AWAITING_APPROVAL, True, 3)
    assert (at_limit.state, at_limit.needs_approval, at_limit.matched) == (
        ExportState.QUEUED, False, 2)
    assert show_export(archive, over.export_id).state == ExportState.AWAITING_APPROVAL


def test_over_the_limit_is_refused_with_the_number(archive: Archive,
                                                   corpus: dict[str, str]) -> None:
    archive.exports = ExportRules(max_units=2, over_limit=OverLimit.REFUSE)
    with (acting_as(archive, budget_user(archive)),
          pytest.raises(RejectedInput, match=r"match 3 units, over the limit of 2 ")):
        requested(archive, party="komunala")
    assert list_exports(archive) == []
    assert requested(archive, number="R-1").state == ExportState.QUEUED  # under it: asked


# --- tenant isolation ---------------------------------------------------------------------

# Each criterion also matches OBCINA2's unit "theirs" (the same seller, date, number and
# amount): the budget user of OBCINA1 must get only OBCINA1's units all the same.
ISOLATION: list[tuple[str, dict[str, Any], set[str]]] = [
    ("all", {}, OWN),
    ("date range", {"date_from": date(2026, 1, 1), "date_to": date(2026, 1, 31)},
     {"water", "power"}),
    ("party by VAT id", {"party": KOMUNALA[0]}, {"water", "refund", "undated"}),
    ("party by tax number", {"party": KOMUNALA[0][2:]}, {"water", "refund", "undated"}),
    ("party by name", {"party": "komunala primer"}, {"water", "refund", "undated"}),
    ("number", {"number": "R-1"}, {"water"}),
    ("type", {"document_type": "invoice"}, OWN - {"refund"}),
    ("direction", {"direction": Direction.RECEIVED}, {"water", "power", "refund", "undated"}),
    ("amount range", {"amount_min": Decimal(100), "amount_max": Decimal(130)}, {"water"}),
    ("currency", {"currency": "EUR"}, OWN - {"undated"}),
    ("format", {"unit_format": "eslog20"}, {"water", "power", "refund", "undated"}),
    ("pending", {"sealed": False}, OWN),
    ("combined", {"party": "komunala", "number": "R-1", "currency": "eur"}, {"water"}),
]


@pytest.mark.parametrize(("given", "expected"), [(g, e) for _, g, e in ISOLATION],
                         ids=[name for name, _, _ in ISOLATION])
def test_a_package_holds_only_the_requesters_tenant(
        archive: Archive, corpus: dict[str, str], tmp_path: Path,
        given: dict[str, Any], expected: set[str]) -> None:
    theirs = corpus["theirs"]
    everywhere = search_units(archive, SearchCriteria(**given)).hits  # as an admin
    assert theirs in {hit.unit_id for hit in everywhere}, "the criterion must reach OBCINA2"
    with acting_as(archive, budget_user(archive)):
        view = build_export(archive, requested(archive, **given).export_id)
        listed, folders = packaged_units(archive, view.export_id, tmp_path)
    assert listed == folders == {corpus[label] for label in expected}
    assert theirs not in listed | folders
    assert (view.state, view.matched, view.units) == ("ready", len(expected), len(expected))


def test_sealed_and_pending_packages_hold_only_the_requesters_tenant(
        archive: Archive, corpus: dict[str, str], clock: FixedClock, tmp_path: Path) -> None:
    clock.at += timedelta(hours=1)
    seal(archive)
    late = {tenant: archive_invoice(archive, tenant, "eslog20", {"seller": KOMUNALA},
                                    f"<late t='{tenant}'/>") for tenant in ("OBCINA1", "OBCINA2")}
    with acting_as(archive, budget_user(archive)):
        sealed = build_export(archive, requested(archive, sealed=True).export_id)
        pending = build_export(archive, requested(archive, sealed=False).export_id)
        assert packaged_units(archive, sealed.export_id, tmp_path) == (
            {corpus[label] for label in OWN},) * 2
        assert packaged_units(archive, pending.export_id, tmp_path) == ({late["OBCINA1"]},) * 2


def test_another_tenants_exports_do_not_exist_for_a_budget_user(
        archive: Archive, corpus: dict[str, str], tmp_path: Path) -> None:
    set_needs_approval(archive, "OBCINA2")
    theirs = request_export(archive, SearchCriteria(tenant="OBCINA2"), "their audit")
    own = tenant_id(archive, "OBCINA1")
    scoped_approver = Principal("ap", frozenset({Role.APPROVER}), frozenset({own}))
    unknown = theirs.export_id + 100
    for export_id in (theirs.export_id, unknown):  # the same answer for either
        gone = rf"^export {export_id} does not exist$"
        with acting_as(archive, budget_user(archive)):
            for attempt in (show_export, build_export, link_export):
                with pytest.raises(NotFound, match=gone):
                    attempt(archive, export_id)
            with pytest.raises(NotFound, match=gone):
                download_export(archive, export_id, tmp_path / "out")
            assert list_exports(archive) == []
            with pytest.raises(NotFound, match=r"^tenant OBCINA2 is not registered"):
                list_exports(archive, "OBCINA2")
            with pytest.raises(NotFound, match=r"^tenant OBCINA2 is not registered"):
                request_export(archive, SearchCriteria(tenant="OBCINA2"), "curious")
        with acting_as(archive, scoped_approver), pytest.raises(NotFound, match=gone):
            approve_export(archive, export_id)
    assert not (tmp_path / "out").exists()
    assert show_export(archive, theirs.export_id).state == ExportState.AWAITING_APPROVAL
    with acting_as(archive, Principal("boris", frozenset({Role.APPROVER}))):
        assert approve_export(archive, theirs.export_id).state == ExportState.QUEUED
    assert len(list_exports(archive)) == 1  # the budget user's request made none


# --- storage down, disk full ------------------------------------------------------------

class FailingStore:
    """The archive's store, going down after `healthy` calls of `method`: "open" refuses
    to open a file, "read" breaks a file's stream after its first bytes, "put" drops the
    connection while the package is uploaded."""

    def __init__(self, real: ObjectStore, method: str, healthy: int) -> None:
        self.real, self.method, self.healthy = real, method, healthy

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def _down(self, method: str) -> bool:
        if method == self.method:
            self.healthy -= 1
        return self.healthy < 0

    @contextmanager
    def open(self, key: ObjectKey, version: str | None = None) -> Iterator[Any]:
        if self.method == "open" and self._down("open"):
            raise ServiceUnavailable(f"storage: get {key}: Connection refused")
        breaks = self.method == "read" and self._down("read")
        with self.real.open(key, version) as stream:
            yield Broken(stream) if breaks else stream

    def put(self, key: ObjectKey, data: BinaryIO, **kwargs: Any) -> Any:
        if self.method == "put" and self._down("put"):
            data.read(100)
            raise ServiceUnavailable(f"storage: put {key}: Broken pipe")
        return self.real.put(key, data, **kwargs)


class Broken:
    """A file's stream that gives a few bytes, then fails as a dropped connection does."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream, self.given = stream, False

    def read(self, size: int = -1) -> bytes:
        if self.given:
            raise ServiceUnavailable("storage: get: Connection reset by peer")
        self.given = True
        return self.stream.read(8)


def assert_failed_cleanly(archive: Archive, export_id: int, reason: str,
                          tmp_path: Path) -> None:
    """Failed with the reason, nothing stored, nothing to download or link, no scratch."""
    view = show_export(archive, export_id)
    assert view.state == ExportState.FAILED
    assert reason in (view.failure or "")
    assert (view.sha256, view.size, view.built_at) == (None, None, None)
    assert stored_packages(archive, export_id) == []
    for attempt in (lambda: download_export(archive, export_id, tmp_path / "early"),
                    lambda: link_export(archive, export_id)):
        with pytest.raises(NotFound, match=r"has no package to download: it is failed \("):
            attempt()
    assert not (tmp_path / "early").exists() or not any((tmp_path / "early").iterdir())
    assert scratch_left(archive) == []
    assert reason in events(archive, "export.failed")[-1]["reason"]
    assert events(archive, "export.built") == []


@pytest.mark.parametrize(("method", "healthy", "reason"), [
    ("open", 2, "Connection refused"),  # the third file
    ("read", 1, "Connection reset by peer"),  # the second file, part-way through
    ("put", 0, "Broken pipe"),  # the package, complete
])
def test_storage_down_while_building(archive: Archive, corpus: dict[str, str],
                                     tmp_path: Path, method: str, healthy: int,
                                     reason: str) -> None:
    real = archive.store
    view = requested(archive)
    archive.store = FailingStore(real, method, healthy)
    with pytest.raises(ServiceUnavailable, match=reason):
        build_export(archive, view.export_id)
    archive.store = real
    assert_failed_cleanly(archive, view.export_id, reason, tmp_path)

    archive.store = FailingStore(real, method, 0)  # still down: the scheduler retries
    assert build_queued(archive) == {"exports built": 0, "exports failed": 1}
    archive.store = real
    assert_failed_cleanly(archive, view.export_id, reason, tmp_path)
    assert build_queued(archive) == {"exports built": 1, "exports failed": 0}  # back up
    rebuilt = show_export(archive, view.export_id)
    assert (rebuilt.state, rebuilt.failure, rebuilt.units) == ("ready", None, len(OWN))
    assert len(stored_packages(archive, view.export_id)) == 1
    listed, _ = packaged_units(archive, view.export_id, tmp_path)
    assert listed == {corpus[label] for label in OWN}
    assert scratch_left(archive) == []


def test_disk_full_while_writing_the_package(archive: Archive, corpus: dict[str, str],
                                             tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    write = package_module._HashingSink.write
    written: list[int] = []

    def full(sink: Any, data: bytes) -> int:
        if sink.size + len(data) > 4096:  # the disk holds 4 KiB of it
            raise OSError(errno.ENOSPC, "No space left on device")
        written.append(len(data))
        return write(sink, data)

    view = requested(archive)
    monkeypatch.setattr(package_module._HashingSink, "write", full)
    with pytest.raises(ServiceUnavailable, match=r"No space left on device"):
        build_export(archive, view.export_id)
    monkeypatch.undo()
    assert written, "the package was being written when the disk filled"
    assert_failed_cleanly(archive, view.export_id, "No space left on device", tmp_path)

    rebuilt = build_export(archive, view.export_id)
    assert (rebuilt.state, rebuilt.failure) == ("ready", None)
    assert (rebuilt.size or 0) > 4096
    assert [e["sha256"] for e in events(archive, "export.built")] == [rebuilt.sha256]
    listed, _ = packaged_units(archive, view.export_id, tmp_path)
    assert listed == {corpus[label] for label in OWN}


# --- two builders -------------------------------------------------------------------------

def test_a_claimed_export_is_not_built_again_until_its_claim_is_stale(
        archive: Archive, corpus: dict[str, str], clock: FixedClock) -> None:
    view = requested(archive)
    assert service._claim(archive, view.export_id)  # a worker took it, then crashed
    assert not service._claim(archive, view.export_id)
    with pytest.raises(Conflict, match=rf"^export {view.export_id} is building$"):
        build_export(archive, view.export_id)
    assert build_queued(archive) == {"exports built": 0, "exports failed": 0}
    clock.at += STALE_BUILD + timedelta(minutes=1)
    assert build_queued(archive) == {"exports built": 1, "exports failed": 0}
    assert len(events(archive, "export.built")) == 1


def test_two_schedulers_at_once_build_it_once(archive: Archive, corpus: dict[str, str],
                                              profile_settings: Settings, clock: FixedClock,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers, each with its own connections, both see the export waiting and both
    try to claim it at the same moment."""
    view = requested(archive)
    both_listed = Barrier(2, timeout=30)
    claim = service._claim

    def together(worker: Archive, export_id: int) -> bool:
        both_listed.wait()
        return claim(worker, export_id)

    monkeypatch.setattr(service, "_claim", together)
    workers = [open_archive(profile_settings, clock) for _ in range(2)]
    try:
        with ThreadPoolExecutor(2) as pool:
            runs = [r.result() for r in [pool.submit(build_queued, w) for w in workers]]
    finally:
        for worker in workers:
            worker.close()
    assert sorted(r["exports built"] for r in runs) == [0, 1]
    assert [r["exports failed"] for r in runs] == [0, 0]
    assert len(events(archive, "export.built")) == 1
    assert len(stored_packages(archive, view.export_id)) == 1
    assert show_export(archive, view.export_id).state == ExportState.READY
