"""Archiving units end to end, on the embedded default and on PostgreSQL + S3."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from hramba.core.errors import NotFound, RejectedInput
from hramba.core.types import Digest, ObjectKey
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.ingest import ingest_directory
from hramba.services.units import get_unit, list_units, show_unit

INVOICE = b"\xef\xbb\xbf<?xml version='1.0'?><Invoice xmlns='urn:eslog:2.00'/>"
ATTACHMENT = b"%PDF-1.4 pretend\n" * 100


def files(*pairs: tuple[str, bytes]) -> list[IncomingFile]:
    return [IncomingFile(name, "invoice" if name.endswith(".xml") else "attachment",
                         "application/octet-stream", lambda d=data: io.BytesIO(d))
            for name, data in pairs]


def test_unit_is_stored_with_manifest_and_retention(archive: Archive) -> None:
    outcome = archive_unit(archive, "OBCINA1", files(("racun.xml", INVOICE),
                                                    ("Priloga1.pdf", ATTACHMENT)),
                           metadata={"invoice_number": "2026-1", "issue_date": "2025-06-01",
                                     "document_type": "380"})
    assert outcome.outcome == "archived"
    unit = show_unit(archive, outcome.unit_id)
    assert [f["role"] for f in unit["files"]] == ["invoice", "attachment", "manifest"]
    assert unit["files"][0]["sha256"] == Digest.of_bytes(INVOICE).hex
    # Received 2026-03-05, issued 2025-06-01: ten years after the end of the year of issue.
    assert unit["retention"] == {"retain_until": "2035-12-31T23:59:59+00:00",
                                 "policy": "invoice-10y@v1", "basis": "issue_date",
                                 "trigger_date": "2025-06-01", "needs_classification": False,
                                 "legal_hold": False, "disposed_at": None, "disposal": None}
    for f in unit["files"]:
        stored = archive.store.stat(ObjectKey(f["object_key"]))
        assert (stored.size, stored.sha256.hex) == (f["size"], f["sha256"])
        assert stored.retain_until.isoformat() == "2035-12-31T23:59:59+00:00"
    with archive.store.open(ObjectKey(unit["files"][2]["object_key"])) as stream:
        manifest = json.loads(stream.read())
    assert manifest["unit_id"] == outcome.unit_id
    assert manifest["metadata"]["invoice_number"] == "2026-1"
    assert manifest["policy"] == "invoice-10y@v1"
    assert [f["sha256"] for f in manifest["files"]] == [unit["files"][0]["sha256"],
                                                       unit["files"][1]["sha256"]]
    assert len(manifest["salt"]) == 32


def test_same_content_again_is_a_duplicate(archive: Archive) -> None:
    first = archive_unit(archive, "OBCINA1", files(("racun.xml", INVOICE)))
    again = archive_unit(archive, "OBCINA1", files(("racun.xml", INVOICE)))
    assert (again.outcome, again.unit_id) == ("duplicate", first.unit_id)
    assert len(list_units(archive)) == 1


def test_get_writes_the_files_back_byte_identical(archive: Archive, tmp_path: Path) -> None:
    outcome = archive_unit(archive, "OBCINA1", files(("racun.xml", INVOICE),
                                                    ("Priloga1.pdf", ATTACHMENT)))
    written = get_unit(archive, outcome.unit_id, tmp_path / "out")
    assert {p.name: p.read_bytes() for p in written[:2]} == {
        "racun.xml": INVOICE, "Priloga1.pdf": ATTACHMENT}


def test_get_keeps_the_original_names_made_safe(archive: Archive, tmp_path: Path) -> None:
    """Not the object keys' ASCII names (`Ra_un__t._7.pdf~6ad4f6901662`): the names as
    received, where they are safe, each unique in the folder."""
    outcome = archive_unit(archive, "OBCINA1", files(("racun.xml", INVOICE),
                                                    ("Račun št. 7.pdf", ATTACHMENT),
                                                    ("RACUN.xml", INVOICE + b" ")))
    written = get_unit(archive, outcome.unit_id, tmp_path / "out")
    assert {p.name: p.read_bytes() for p in written[:3]} == {
        "racun.xml": INVOICE, "Račun št. 7.pdf": ATTACHMENT, "RACUN (2).xml": INVOICE + b" "}


def test_unknown_tenant_and_unit_are_not_found(archive: Archive) -> None:
    with pytest.raises(NotFound, match="tenant NOBODY"):
        archive_unit(archive, "NOBODY", files(("racun.xml", INVOICE)))
    with pytest.raises(NotFound):
        show_unit(archive, "0" * 32)


@pytest.mark.parametrize("bad", [[], [("a.xml", INVOICE), ("a.xml", ATTACHMENT)],
                                 [("manifest.json", INVOICE)]])
def test_bad_units_are_rejected_before_anything_is_stored(
        archive: Archive, bad: list[tuple[str, bytes]]) -> None:
    with pytest.raises(RejectedInput):
        archive_unit(archive, "OBCINA1", files(*bad))
    assert list(archive.store.keys("units/")) == []


def test_the_same_file_twice_in_one_batch_is_archived_once(archive: Archive,
                                                           tmp_path: Path) -> None:
    for name in ("a.xml", "copy-of-a.xml"):
        (tmp_path / "in").mkdir(exist_ok=True)
        (tmp_path / "in" / name).write_bytes(INVOICE)
    (tmp_path / "in" / "b.xml").write_bytes(INVOICE.replace(b"'/>", b"'><!-- b --></Invoice>"))
    results = list(ingest_directory(archive, tmp_path / "in", "OBCINA1"))
    assert [(r.path, r.outcome) for r in results] == [
        ("a.xml", "archived"), ("b.xml", "archived"), ("copy-of-a.xml", "duplicate")]
    assert results[2].unit_id == results[0].unit_id
    assert len(list_units(archive)) == 2
