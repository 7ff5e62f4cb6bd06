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
from hramba.services.corpus import SELLERS, invoice, ujp_package
from hramba.services.ingest import ingest_directory, summarise
from hramba.services.quarantine import list_quarantine
from hramba.services.tenants import NewTenant, add_tenant
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


# --- routing by either party, by tax number, and the tenant given --------------------------

OTHER = ("Občina Druga", "SI56251009")


def issued_by(data: bytes, tax_number: str) -> bytes:
    """The invoice as if `tax_number` had issued it (it names the seller so)."""
    for _, seller in SELLERS:
        data = data.replace(seller.encode(), tax_number.encode())
    return data


def test_an_invoice_a_tenant_issued_is_its_own_and_kept_as_issued(
        archive: Archive, tmp_path: Path) -> None:
    issued = issued_by(invoice(11, random.Random(11), ("Kupec d.o.o.", "SI11111111"),
                               2000, 3000), BUYER[1])
    received = invoice(12, random.Random(12), BUYER, 2000, 3000)
    results = ingest_directory(archive, inbox(tmp_path, {"i.xml": issued, "r.xml": received}))
    shown = [show_unit(archive, str(r.unit_id)) for r in results]
    assert [(u["tenant"], u["direction"]) for u in shown] == [("OBCINA1", "issued"),
                                                              ("OBCINA1", "received")]
    assert shown[0]["counterparty"] == "Kupec d.o.o."


def test_a_buyer_known_only_by_its_tax_number_without_si_is_found(
        archive: Archive, tmp_path: Path) -> None:
    data = invoice(13, random.Random(13), BUYER, 2000, 3000).replace(
        b"<D_1153>VA</D_1153><D_1154>SI21423512", b"<D_1153>AHP</D_1153><D_1154>21423512")
    assert b"SI21423512" not in data
    (result,) = ingest_directory(archive, inbox(tmp_path, {"ahp.xml": data}))
    unit = show_unit(archive, str(result.unit_id))
    assert (unit["tenant"], unit["direction"]) == ("OBCINA1", "received")
    assert unit["metadata"]["buyer_tax_number"] == "21423512"


def test_a_tenant_given_for_another_tenants_document_is_refused(
        archive: Archive, tmp_path: Path) -> None:
    add_tenant(archive, NewTenant("OBCINA2", OTHER[1], OTHER[0], "production"))
    theirs = invoice(14, random.Random(14), OTHER, 2000, 3000)
    nobodys = invoice(15, random.Random(15), ("Neznan", "SI11111111"), 2000, 3000)
    wrong, released = ingest_directory(
        archive, inbox(tmp_path, {"a.xml": theirs, "b.xml": nobodys}), "OBCINA1")
    assert (wrong.outcome, wrong.codes) == ("quarantined", ["HRB-I031"])
    assert "SI56251009, a registered tenant, not OBCINA1 (SI21423512)" in str(wrong.reason)
    assert released.outcome == "archived"  # parties no tenant has: the operator decides
    (tmp_path / "again").mkdir()
    (routed,) = ingest_directory(archive, inbox(tmp_path / "again", {"a.xml": theirs}))
    assert show_unit(archive, str(routed.unit_id))["tenant"] == "OBCINA2"


def test_an_invoice_and_a_credit_note_may_share_a_number(archive: Archive,
                                                         tmp_path: Path) -> None:
    bill = invoice(16, random.Random(16), BUYER, 2000, 3000)
    credit = bill.replace(b"<D_1001>380</D_1001>", b"<D_1001>381</D_1001>")
    again = bill.replace(b"</M_INVOIC>", b"<!-- changed --></M_INVOIC>")
    results = ingest_directory(archive, inbox(tmp_path, {
        "a.xml": bill, "b.xml": credit, "c.xml": again}))
    assert [(r.outcome, r.codes) for r in results] == [
        ("archived", []), ("archived", []), ("quarantined", ["HRB-I025"])]
