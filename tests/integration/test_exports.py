"""Retrieval exports end to end (issue #12, "Done when"), through the services, on both
profiles. A budget user of OBCINA1 (whose exports need approval) asks for a date range
and cannot approve her own request; an archivist approves; the scheduler's job builds the
package as an operator; the budget user downloads it. The ZIP as delivered: bagit-python
accepts the bag; metadata.csv and metadata.json have a row per unit of the range with
its files and their SHA-256, which the files in data/ match; files keep the names they
were received under; summary.pdf passes pyHanko's validator (signature and signature
timestamp) and renders. Each step is an audit event with the criteria, the actor and the
package's SHA-256. The delivery link works (S3: a presigned GET, until it expires; the
embedded default: a file:// URI). The retention sweep purges the package 30 days after
it was built, not a day earlier, with a purge record. A disposed unit in the range is
listed by its tombstone.

The S3 server keeps its own (real) time, so the clock starts at the real time, and the
purge test builds its package 30 days minus a few seconds ago by the archive's clock:
storage lets the package go when the archive's policy does."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import bagit  # type: ignore[import-untyped]
import pytest

from hramba.config import Settings
from hramba.core.errors import Conflict, NotFound, NotPermitted
from hramba.core.types import FixedClock, ObjectKey
from hramba.domain.access import Principal, Role
from hramba.domain.export import ExportState
from hramba.jobs.tasks import TASKS
from hramba.services import disposal, retention
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.audit import EventCriteria, LoggedEvent, list_events
from hramba.services.context import Archive
from hramba.services.export import (
    ExportView,
    approve_export,
    download_export,
    link_export,
    request_export,
    show_export,
)
from hramba.services.purge import list_purges
from hramba.services.seal import seal
from hramba.services.search import SearchCriteria
from hramba.services.units import show_unit
from storage.keys import export_prefix

from . import test_pdf
from .principals import acting_as, approve, principal
from .test_export_failures import set_needs_approval
from .test_pdf import assert_valid, dev_anchors, offline
from .test_search import budget_user, metadata

poppler = test_pdf.poppler  # the fixture: skips without pdftoppm (fails under CI)

RANGE = SearchCriteria(tenant="OBCINA1", date_from=date(2026, 1, 1), date_to=date(2026, 12, 31))
REASON = "Revizija Računskega sodišča 2026"
ATTACHMENT = "Račun št. 7.pdf"
# number: issue date, the files as received (name -> bytes). R-1 is outside the range.
UNITS: dict[str, tuple[str, dict[str, bytes]]] = {
    "R-7": ("2026-02-10", {"racun.xml": b"<Invoice n='R-7'/>",
                           ATTACHMENT: b"%PDF-1.4 scan of invoice R-7"}),
    "R-8": ("2026-02-20", {"racun.xml": b"<Invoice n='R-8'/>"}),
    "R-1": ("2025-12-01", {"racun.xml": b"<Invoice n='R-1'/>"}),
}
IN_RANGE = ("R-7", "R-8")
ARCHIVIST = principal("ana", Role.ARCHIVIST)
OPERATOR = principal("scheduler", Role.OPERATOR)
DELIVERY = timedelta(days=30)  # policies/export-delivery-30d.v1.yaml
LOCK_MARGIN = timedelta(seconds=8)  # more than a build takes; how long the purge test waits


@dataclass(frozen=True)
class Delivered:
    """An export as the budget user received it."""

    view: ExportView  # as built
    package: Path  # the ZIP downloaded
    bag: Path  # the ZIP unpacked: export-<id>/
    units: dict[str, str]  # unit id by invoice number, of every unit archived


@pytest.fixture(autouse=True)
def real_time(clock: FixedClock) -> None:
    """The S3 server refuses a retain-until already past by its own clock."""
    clock.at = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def a_month_ago(real_time: None, clock: FixedClock) -> None:
    """The archive set up (its development TSA and signing key made) 30 days ago less
    LOCK_MARGIN: a package built now is locked in storage until LOCK_MARGIN from now.
    Ask for it before `archive`."""
    clock.at = clock.at - DELIVERY + LOCK_MARGIN


@pytest.fixture
def delivered(archive: Archive, profile_settings: Settings, tmp_path: Path) -> Delivered:
    """UNITS archived and sealed; the export of RANGE requested, approved, built by the
    scheduler's job and downloaded by the budget user."""
    units = archive_units(archive)
    set_needs_approval(archive, "OBCINA1")
    asked = request_as_budget_user(archive)
    approve_as_archivist(archive, asked.export_id)
    run_exports_job(archive, profile_settings)
    package = download_as_budget_user(archive, asked.export_id, tmp_path / "delivered")
    return Delivered(show_export(archive, asked.export_id), package,
                     unpacked(package, tmp_path / "open"), units)


# --- request, approval, build, download ---------------------------------------------------

def test_a_budget_user_asks_an_archivist_approves_the_scheduler_builds_she_downloads(
        archive: Archive, profile_settings: Settings, tmp_path: Path) -> None:
    archive_units(archive)
    set_needs_approval(archive, "OBCINA1")
    asked = request_as_budget_user(archive)
    assert (asked.state, asked.needs_approval, asked.matched) == (
        ExportState.AWAITING_APPROVAL, True, len(IN_RANGE))
    assert run_exports_job(archive, profile_settings)["exports built"] == 0  # not yet
    me = budget_user(archive)
    with acting_as(archive, me), pytest.raises(NotPermitted):
        approve_export(archive, asked.export_id)  # a budget user approves nothing
    with (acting_as(archive, Principal(me.login, frozenset({Role.APPROVER}))),
          pytest.raises(Conflict, match="another person must approve it")):
        approve_export(archive, asked.export_id)  # an approver, but the one who asked
    assert show_export(archive, asked.export_id).state == ExportState.AWAITING_APPROVAL

    approved = approve_as_archivist(archive, asked.export_id)
    assert (approved.state, approved.approved_by) == (ExportState.QUEUED, ARCHIVIST.login)
    counts = run_exports_job(archive, profile_settings)
    assert (counts["exports built"], counts["exports failed"]) == (1, 0)
    built = show_export(archive, asked.export_id)
    assert (built.state, built.units, built.failure) == (ExportState.READY, len(IN_RANGE), None)

    package = download_as_budget_user(archive, asked.export_id, tmp_path / "delivered")
    assert package.name == f"export-{asked.export_id}.zip"
    assert (package.stat().st_size, sha256_of(package)) == (built.size, built.sha256)
    assert zipfile.ZipFile(package).testzip() is None


def test_bagit_python_validates_the_bag(delivered: Delivered) -> None:
    bag = bagit.Bag(str(delivered.bag))
    bag.validate(processes=1)  # raises BagValidationError, naming what is wrong
    assert bag.version_info == (1, 0)
    assert set(bag.algorithms) == {"sha256", "sha512"}
    assert bag.info["E-Hramba-Export"] == str(delivered.view.export_id)
    assert json.loads(bag.info["E-Hramba-Criteria"])["date_from"] == "2026-01-01"


def test_metadata_has_one_row_per_unit_of_the_range_with_its_files_and_sha256(
        archive: Archive, delivered: Delivered) -> None:
    expected = {delivered.units[n]: recorded_digests(archive, delivered.units[n])
                for n in IN_RANGE}
    in_json = {row["unit_id"]: {f["name"]: f["sha256"] for f in row["files"]}
               for row in metadata_rows(delivered.bag)}
    in_csv = {row["unit_id"]: dict(zip(row["files"].split(" | "), row["sha256"].split(" | "),
                                       strict=True))
              for row in csv_rows(delivered.bag)}
    assert len(metadata_rows(delivered.bag)) == len(csv_rows(delivered.bag)) == len(IN_RANGE)
    assert in_json == in_csv == expected  # R-1, issued in 2025, is not there
    for number in IN_RANGE:  # the files as received, with the digests of their bytes
        assert digests(UNITS[number][1]).items() <= expected[delivered.units[number]].items()


def test_every_data_file_has_the_sha256_recorded_for_it(archive: Archive,
                                                        delivered: Delivered) -> None:
    recorded = {f["path"]: f["sha256"] for row in metadata_rows(delivered.bag)
                for f in row["files"]}
    on_disk = {path.relative_to(delivered.bag).as_posix(): sha256_of(path)
               for path in (delivered.bag / "data" / "units").rglob("*")
               if path.is_file() and path.name not in ("evidence.ers", "CHECK.txt")}
    assert on_disk == recorded  # every file recorded, none unrecorded, each matching
    assert sorted(recorded.values()) == sorted(  # and as recorded at intake
        d for n in IN_RANGE for d in recorded_digests(archive, delivered.units[n]).values())


def test_files_are_under_the_names_they_were_received_under(delivered: Delivered) -> None:
    unit_id = delivered.units["R-7"]
    (row,) = [r for r in metadata_rows(delivered.bag) if r["unit_id"] == unit_id]
    assert row["folder"] == f"2026-02-10_R-7_{unit_id}"
    folder = delivered.bag / "data" / "units" / row["folder"]
    assert (folder / ATTACHMENT).read_bytes() == UNITS["R-7"][1][ATTACHMENT]
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["CHECK.txt", "evidence.ers", "manifest.json", "racun.xml", ATTACHMENT])


def test_pyhanko_accepts_the_summary_signature_and_its_timestamp(
        archive: Archive, delivered: Delivered) -> None:
    status, _ = offline((delivered.bag / "summary.pdf").read_bytes(), dev_anchors(archive.home))
    assert_valid(status)  # intact, valid, trusted; the signature timestamp valid and trusted
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.timestamp == delivered.view.built_at


def test_the_summary_renders(poppler: None, delivered: Delivered, tmp_path: Path) -> None:
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1",
                    str(delivered.bag / "summary.pdf"), str(tmp_path / "summary")], check=True)
    (page,) = tmp_path.glob("summary*.png")
    assert page.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert page.stat().st_size > 5_000  # a page with text on it, not a blank one
    shutil.copyfile(page, "/tmp/export-summary.png")  # for a person to look at


# --- the audit log --------------------------------------------------------------------------

def test_each_step_is_an_audit_event_with_the_criteria_actor_and_sha256(
        archive: Archive, delivered: Delivered) -> None:
    view, sha256 = delivered.view, sha256_of(delivered.package)
    logged = export_events(archive, view.export_id)
    assert [e.action for e in logged] == ["export.requested", "export.approved",
                                          "export.built", "export.downloaded"]
    by_action = {e.action: e for e in logged}
    assert {a: e.actor for a, e in by_action.items()} == {
        "export.requested": "bu", "export.approved": ARCHIVIST.login,
        "export.built": OPERATOR.login, "export.downloaded": "bu"}
    assert {e.tenant for e in logged} == {"OBCINA1"}
    for action in ("export.requested", "export.approved", "export.built"):
        assert by_action[action].details["criteria"] == view.criteria, action
    assert view.criteria["date_from"] == "2026-01-01"
    assert view.criteria["date_to"] == "2026-12-31"
    assert by_action["export.requested"].details["reason"] == REASON
    assert by_action["export.built"].details["sha256"] == sha256 == view.sha256
    assert by_action["export.downloaded"].details["sha256"] == sha256


def test_the_download_event_carries_the_criteria_too(archive: Archive,
                                                      delivered: Delivered) -> None:
    (downloaded,) = [e for e in export_events(archive, delivered.view.export_id)
                     if e.action == "export.downloaded"]
    assert downloaded.details.get("criteria") == delivered.view.criteria


# --- the delivery link ----------------------------------------------------------------------

S3_ONLY = pytest.mark.parametrize("profile_settings", ["postgres-s3"], indirect=True)
LOCAL_ONLY = pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)


@S3_ONLY
def test_a_presigned_link_gives_the_package(archive: Archive, delivered: Delivered) -> None:
    with acting_as(archive, budget_user(archive)):
        url, expires = link_export(archive, delivered.view.export_id)
    assert urllib.parse.urlsplit(url).scheme == "http"
    assert expires == archive.clock.now() + timedelta(days=archive.exports.link_days)
    assert hashlib.sha256(fetch(url)).hexdigest() == delivered.view.sha256


@S3_ONLY
def test_a_presigned_link_fails_once_it_expired(archive: Archive, delivered: Delivered) -> None:
    # link_export takes whole days; the store's own link, for two seconds
    url = archive.store.link(package_key(archive, delivered.view.export_id),
                             timedelta(seconds=2))
    assert hashlib.sha256(fetch(url)).hexdigest() == delivered.view.sha256
    time.sleep(3)
    with pytest.raises(urllib.error.HTTPError) as refused:
        fetch(url)
    refused.value.close()  # it holds the connection
    assert refused.value.code == 403


@LOCAL_ONLY
def test_the_embedded_default_links_to_the_stored_package(archive: Archive,
                                                          delivered: Delivered) -> None:
    with acting_as(archive, budget_user(archive)):
        url, _ = link_export(archive, delivered.view.export_id)
    parts = urllib.parse.urlsplit(url)
    assert parts.scheme == "file"
    path = Path(urllib.request.url2pathname(parts.path))
    assert path.is_file()
    assert sha256_of(path) == delivered.view.sha256


# --- the purge ------------------------------------------------------------------------------

def test_the_sweep_leaves_a_package_younger_than_30_days(
        archive: Archive, delivered: Delivered, clock: FixedClock, tmp_path: Path) -> None:
    built_at, export_id = delivered.view.built_at, delivered.view.export_id
    assert built_at is not None
    key = package_key(archive, export_id)
    clock.at = built_at + DELIVERY - timedelta(minutes=1)
    with acting_as(archive, OPERATOR):
        assert retention.sweep(archive)["export packages purged"] == 0
    assert list(archive.store.keys(export_prefix("OBCINA1", export_id))) == [key]
    assert show_export(archive, export_id).state == ExportState.READY
    assert [p for p in list_purges(archive) if p["kind"] == "export"] == []
    again = download_as_budget_user(archive, export_id, tmp_path / "again")
    assert sha256_of(again) == delivered.view.sha256


def test_the_sweep_purges_the_package_30_days_after_it_was_built(
        a_month_ago: None, archive: Archive, profile_settings: Settings, clock: FixedClock,
        tmp_path: Path) -> None:
    archive_units(archive)
    asked = request_as_budget_user(archive)  # no approval needed here
    run_exports_job(archive, profile_settings)
    built = show_export(archive, asked.export_id)
    assert built.state == ExportState.READY
    assert built.built_at is not None
    key = package_key(archive, asked.export_id)
    wait_for_storage_lock(archive, profile_settings, key)

    clock.at = built.built_at + DELIVERY + timedelta(minutes=1)
    with acting_as(archive, OPERATOR):
        assert retention.sweep(archive)["export packages purged"] == 1
    assert list(archive.store.keys(export_prefix("OBCINA1", asked.export_id))) == []
    assert not archive.store.exists(key)
    purged = show_export(archive, asked.export_id)
    assert (purged.state, purged.purged_at) == (ExportState.PURGED, clock.at)
    (record,) = [p for p in list_purges(archive) if p["kind"] == "export"]
    assert (record["subject"], record["counts"], record["policy"]) == (
        f"export {asked.export_id}", {"packages": 1}, "export-delivery-30d@v1")
    assert record["details"]["tenant"] == "OBCINA1"
    with pytest.raises(NotFound, match="purged"):
        download_as_budget_user(archive, asked.export_id, tmp_path / "too-late")


# --- a disposed unit ------------------------------------------------------------------------

def test_a_disposed_unit_in_the_range_is_listed_by_its_tombstone(
        archive: Archive, profile_settings: Settings, clock: FixedClock,
        tmp_path: Path) -> None:
    archive.minimum_lock = timedelta(seconds=2)  # an expired invoice's files, locked briefly
    gone = archive_invoice(archive, "R-2013", "2013-04-01", {"racun.xml": b"<Invoice y='13'/>"})
    kept = archive_invoice(archive, "R-2026", "2026-02-10", {"racun.xml": b"<Invoice y='26'/>"})
    seal(archive)
    for key in unit_keys(archive, gone):
        wait_for_storage_lock(archive, profile_settings, key)
    dispose_due(archive)
    assert show_unit(archive, gone)["retention"]["disposed_at"] is not None

    asked = request_as_budget_user(archive, SearchCriteria(
        tenant="OBCINA1", date_from=date(2013, 1, 1), date_to=date(2026, 12, 31)))
    assert asked.matched == 2
    run_exports_job(archive, profile_settings)
    bag = unpacked(download_as_budget_user(archive, asked.export_id, tmp_path / "got"),
                   tmp_path / "open")
    rows = {row["unit_id"]: row for row in metadata_rows(bag)}
    assert set(rows) == {gone, kept}
    assert rows[gone]["disposed_at"] is not None
    assert rows[kept]["disposed_at"] is None
    assert (rows[gone]["folder"], rows[gone]["tombstone"]) == (
        None, f"data/tombstones/{gone}.json")
    tombstone = json.loads((bag / "data" / "tombstones" / f"{gone}.json").read_text("utf-8"))
    assert (tombstone["unit_id"], tombstone["disposed_at"]) == (gone, rows[gone]["disposed_at"])
    assert [f["sha256"] for f in tombstone["files"]] == list(
        recorded_digests(archive, gone).values())
    assert sha256_hex(b"<Invoice y='13'/>") in [f["sha256"] for f in tombstone["files"]]
    assert {row["unit_id"]: bool(row["disposed_at"]) for row in csv_rows(bag)} == {
        gone: True, kept: False}
    assert [p.name for p in (bag / "data" / "units").iterdir()] == [rows[kept]["folder"]]
    bagit.Bag(str(bag)).validate(processes=1)


# --- helpers --------------------------------------------------------------------------------

def archive_units(archive: Archive) -> dict[str, str]:
    """UNITS archived for OBCINA1 and sealed; unit ids by invoice number."""
    units = {number: archive_invoice(archive, number, issued, files)
             for number, (issued, files) in UNITS.items()}
    seal(archive)
    return units


def archive_invoice(archive: Archive, number: str, issued: str, files: dict[str, bytes]
                    ) -> str:
    """An e-SLOG invoice of Komunala to OBCINA1; the first file the invoice, the others
    its attachments."""
    incoming = [IncomingFile(name, "invoice" if n == 0 else "attachment",
                             "application/xml" if name.endswith(".xml") else "application/pdf",
                             partial(io.BytesIO, data))
                for n, (name, data) in enumerate(files.items())]
    return archive_unit(archive, "OBCINA1", incoming, unit_format="eslog20", metadata=metadata({
        "issue_date": issued, "invoice_number": number, "payable_amount": "120.50",
        "seller": ("SI39705684", "Komunala Primer d.o.o.")})).unit_id


def request_as_budget_user(archive: Archive, criteria: SearchCriteria = RANGE) -> ExportView:
    with acting_as(archive, budget_user(archive)):
        return request_export(archive, criteria, REASON)


def approve_as_archivist(archive: Archive, export_id: int) -> ExportView:
    with acting_as(archive, ARCHIVIST):
        return approve_export(archive, export_id)


def run_exports_job(archive: Archive, settings: Settings) -> dict[str, Any]:
    """The scheduler's "exports" job, as the scheduler runs it: as an operator."""
    with acting_as(archive, OPERATOR):
        return TASKS["exports"](archive, settings)


def download_as_budget_user(archive: Archive, export_id: int, out: Path) -> Path:
    with acting_as(archive, budget_user(archive)):
        return download_export(archive, export_id, out)


def dispose_due(archive: Archive) -> None:
    """Propose (the fixture's admin), approve (a second person), execute."""
    proposal = disposal.propose(archive, "OBCINA1", instruction="NAVODILO-2026/1")
    approve(archive, proposal["id"])
    disposal.execute(archive, proposal["id"])


def unpacked(package: Path, into: Path) -> Path:
    with zipfile.ZipFile(package) as zipped:
        zipped.extractall(into)
    return into / package.stem


def metadata_rows(bag: Path) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = json.loads((bag / "metadata.json").read_text("utf-8"))["units"]
    return rows


def csv_rows(bag: Path) -> list[dict[str, str]]:
    with (bag / "metadata.csv").open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def recorded_digests(archive: Archive, unit_id: str) -> dict[str, str]:
    """The unit's files as intake recorded them (with the unit's manifest.json): name ->
    SHA-256."""
    return {f["name"]: f["sha256"] for f in show_unit(archive, unit_id)["files"]}


def digests(files: dict[str, bytes]) -> dict[str, str]:
    return {name: sha256_hex(data) for name, data in files.items()}


def export_events(archive: Archive, export_id: int) -> list[LoggedEvent]:
    return list(list_events(archive, EventCriteria(unit=f"export {export_id}")).events)


def package_key(archive: Archive, export_id: int) -> ObjectKey:
    """The one object stored for the export."""
    (key,) = archive.store.keys(export_prefix("OBCINA1", export_id))
    return key


def unit_keys(archive: Archive, unit_id: str) -> list[ObjectKey]:
    return [ObjectKey(f["object_key"]) for f in show_unit(archive, unit_id)["files"]]


def wait_for_storage_lock(archive: Archive, settings: Settings, key: ObjectKey) -> None:
    """Until storage lets `key` go and the archive's clock is past its lock: the S3
    server judges by its own clock, so wait for that; the local store by the archive's."""
    until = archive.store.stat(key).retain_until
    assert until is not None
    if settings.storage.kind == "s3":
        assert until - datetime.now(UTC) < timedelta(seconds=30)
        time.sleep(max(0.0, (until - datetime.now(UTC)).total_seconds()) + 1)
    assert isinstance(archive.clock, FixedClock)
    archive.clock.at = max(archive.clock.at, until + timedelta(seconds=1))


def fetch(url: str) -> bytes:
    """GET `url`, which must be on this machine (the test S3 server)."""
    assert urllib.parse.urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1"), url
    with urllib.request.urlopen(url, timeout=10) as response:
        body: bytes = response.read()
    return body


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
