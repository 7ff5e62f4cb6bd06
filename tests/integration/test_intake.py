"""Intake through `ingest dir`: packages and bare invoices, routing, findings, refusals."""

from __future__ import annotations

import io
import random
import shutil
import zipfile
from pathlib import Path

from sqlalchemy import select

from hramba.db.models import TrafficRecord
from hramba.services.context import Archive
from hramba.services.corpus import ujp_package
from hramba.services.ingest import ingest_directory, summarise
from hramba.services.quarantine import list_quarantine
from hramba.services.units import show_unit

BAD = Path(__file__).resolve().parents[1] / "data" / "bad"
BUYER = ("Občina Primer", "SI21423512")  # the archive fixture's tenant OBCINA1


def package(seq: int, buyer: tuple[str, str] = BUYER) -> bytes:
    return ujp_package(seq, random.Random(seq), buyer)


def repack(data: bytes, change: dict[str, bytes | None]) -> bytes:
    """The same package with members replaced, added or (None) removed."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name not in change:
                dst.writestr(name, src.read(name))
        for name, content in change.items():
            if content is not None:
                dst.writestr(name, content)
    return out.getvalue()


def member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def inbox(tmp_path: Path, files: dict[str, bytes]) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir(exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def test_package_is_routed_by_receiver_and_keeps_its_traffic_data(
        archive: Archive, tmp_path: Path) -> None:
    (result,) = ingest_directory(archive, inbox(tmp_path, {"p.zip": package(1)}))
    assert (result.outcome, result.codes) == ("archived", [])
    unit = show_unit(archive, str(result.unit_id))
    assert unit["tenant"] == "OBCINA1"
    assert unit["format"] == "eslog20"
    assert [f["role"] for f in unit["files"]] == ["envelope", "invoice", "attachment",
                                                 "manifest"]
    assert unit["metadata"]["invoice_number"] == "2026-000001"
    assert unit["metadata"]["doc_id"] == "PKG-2026-000001"
    with archive.db.begin() as session:
        (traffic,) = session.scalars(select(TrafficRecord)).all()
    assert (traffic.unit_id, traffic.doc_id, traffic.receiver_id) == (
        result.unit_id, "PKG-2026-000001", "SI21423512")
    assert traffic.sent_at is not None


def test_unknown_receiver_goes_to_quarantine(archive: Archive, tmp_path: Path) -> None:
    (result,) = ingest_directory(archive, inbox(tmp_path, {
        "p.zip": package(2, ("Neznan", "SI39705684"))}))
    assert (result.outcome, result.codes) == ("quarantined", ["HRB-I026"])
    assert [q["code"] for q in list_quarantine(archive)] == ["HRB-I026"]


def test_same_document_with_other_content_is_a_conflict(archive: Archive,
                                                        tmp_path: Path) -> None:
    original = package(3)
    changed = repack(original, {"Priloga1.pdf": b"%PDF-1.4 another visualisation\n"})
    first, second = ingest_directory(archive, inbox(tmp_path, {
        "a.zip": original, "b.zip": changed}))
    assert first.outcome == "archived"
    assert (second.outcome, second.codes) == ("quarantined", ["HRB-I025"])
    assert first.unit_id is not None
    assert first.unit_id[:8] in str(second.reason)


def test_rulebook_breaches_are_archived_with_findings(archive: Archive,
                                                      tmp_path: Path) -> None:
    original = package(4)
    envelope = member(original, "envelope.xml").replace(b"<amount>", b"<amount>1")
    breached = repack(original, {"envelope.xml": envelope, "Priloga1.pdf": None,
                                 "Račun 1.pdf": b"%PDF-1.4\n", "slike.zip": original})
    (result,) = ingest_directory(archive, inbox(tmp_path, {"p.zip": breached}),
                                 "OBCINA1")
    assert result.outcome == "archived"
    assert sorted(set(result.codes)) == ["HRB-W001", "HRB-W002", "HRB-W003", "HRB-W004"]
    findings = show_unit(archive, str(result.unit_id))["findings"]
    assert any("Priloga1.pdf" in f["detail"] and f["code"] == "HRB-W003" for f in findings)


def test_each_named_bad_input_is_refused_with_its_code(archive: Archive,
                                                       tmp_path: Path) -> None:
    folder = tmp_path / "bad"
    shutil.copytree(BAD, folder)
    results = list(ingest_directory(archive, folder, "OBCINA1"))
    assert len(results) == len(list(folder.iterdir()))
    for result in results:
        empty = (folder / result.path).stat().st_size == 0  # caught before intake
        expected = "HRB-I001" if empty else Path(result.path).name.split("_", 1)[0]
        assert (result.outcome, result.codes) == ("quarantined", [expected]), result
    assert summarise(results)["archived"] == 0
    assert len(list_quarantine(archive)) == len(results)


def test_xsd_validation_when_configured(archive: Archive, tmp_path: Path) -> None:
    from plugins.samples import samples_dir

    samples = samples_dir()
    archive.xsd_dir = samples / "xsd"
    folder = inbox(tmp_path, {
        "good.xml": (samples / "eslog20" / "sample_eSLOG20_INVOIC_v200.xml").read_bytes(),
        "broken.xml": (samples / "eslog20" / "media24si-eslog2_inv.xml").read_bytes()})
    good, broken = sorted(ingest_directory(archive, folder, "OBCINA1"),
                          key=lambda r: r.path != "good.xml")
    assert (good.outcome, good.codes) == ("archived", [])
    assert broken.outcome == "archived"
    assert "HRB-W006" in broken.codes
