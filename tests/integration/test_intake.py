"""Intake through `ingest dir`: packages and bare invoices, routing, findings, refusals."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import random
import shutil
import zipfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hramba.db.models import TrafficRecord
from hramba.services import ingest as ingest_module
from hramba.services.context import Archive
from hramba.services.corpus import SELLERS, invoice, ujp_package
from hramba.services.ingest import ingest_directory, summarise
from hramba.services.quarantine import list_quarantine, release
from hramba.services.tenants import NewTenant, add_tenant
from hramba.services.units import get_unit, readable, show_unit

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
    folder.mkdir(parents=True, exist_ok=True)
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
                                                 "package", "manifest"]
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


# --- quarantine that resolves itself -------------------------------------------------------


def test_the_same_refusal_again_is_the_same_item(archive: Archive, tmp_path: Path) -> None:
    folder = inbox(tmp_path, {"broken.xml": b"<Invoice", "copy.xml": b"<Invoice"})
    first = list(ingest_directory(archive, folder, "OBCINA1"))
    again = list(ingest_directory(archive, folder, "OBCINA1"))
    assert [r.codes for r in first + again] == [["HRB-I010"]] * 4
    (item,) = list_quarantine(archive)
    assert all(item["id"] in str(r.reason) for r in first + again)


def test_a_corrected_or_now_routable_file_closes_its_quarantine_items(
        archive: Archive, tmp_path: Path) -> None:
    stranger = ("Občina Nova", "SI81713878")
    folder = inbox(tmp_path, {"fixed.xml": b"<Invoice", "later.zip": package(21, stranger),
                              "copy.xml": invoice(22, random.Random(22), stranger, 2000, 3000)})
    assert [r.codes for r in ingest_directory(archive, folder)] == [
        ["HRB-I026"], ["HRB-I010"], ["HRB-I026"]]
    (folder / "fixed.xml").write_bytes(invoice(23, random.Random(23), BUYER, 2000, 3000))
    (folder / "copy.xml").rename(tmp_path / "copy.xml")  # the same bytes, elsewhere
    add_tenant(archive, NewTenant("NOVA", stranger[1], stranger[0], "production"))
    results = list(ingest_directory(archive, folder))
    (moved,) = ingest_directory(archive, inbox(tmp_path / "x", {
        "copy.xml": (tmp_path / "copy.xml").read_bytes()}))
    assert list_quarantine(archive) == []
    decided = {q["source"].rsplit("/", 1)[1]: q for q in list_quarantine(archive, None)}
    assert {name: (q["status"], q["unit_id"]) for name, q in decided.items()} == {
        "fixed.xml": ("resolved", results[0].unit_id),
        "later.zip": ("resolved", results[1].unit_id),
        "copy.xml": ("resolved", moved.unit_id)}
    assert decided["fixed.xml"]["decision"].startswith("archived by a later intake as unit")


def test_a_release_keeps_what_intake_read_and_never_archives_twice(
        archive: Archive, tmp_path: Path) -> None:
    stranger = ("Občina Nova", "SI81713878")
    first, second = package(24, stranger), package(25, stranger)
    list(ingest_directory(archive, inbox(tmp_path, {"a.zip": first, "b.zip": second})))
    items = {q["source"].rsplit("/", 1)[1]: q["id"] for q in list_quarantine(archive)}
    unit = show_unit(archive, release(archive, items["a.zip"], "OBCINA1"))
    assert (unit["format"], unit["metadata"]["invoice_number"]) == ("eslog20", "2026-000024")
    assert [f["role"] for f in unit["files"]] == ["envelope", "invoice", "attachment",
                                                 "package", "manifest"]
    assert [f["code"] for f in unit["findings"]] == ["HRB-I026"]
    # meanwhile the operator routed the same members, zipped anew, by hand
    (routed,) = ingest_directory(archive, inbox(tmp_path / "routed", {
        "b2.zip": repack(second, {})}), "OBCINA1")
    assert release(archive, items["b.zip"], "OBCINA1") == routed.unit_id
    (decided,) = [q for q in list_quarantine(archive, None) if q["id"] == items["b.zip"]]
    assert decided["decision"] == f"already archived as unit {routed.unit_id}"


def test_the_package_is_kept_as_received_with_what_is_outside_its_members(
        archive: Archive, tmp_path: Path) -> None:
    plain, appended = package(26), package(27) + b"hidden after the archive"
    results = list(ingest_directory(archive, inbox(tmp_path, {"a.zip": plain,
                                                              "b.zip": appended})))
    assert [r.codes for r in results] == [[], ["HRB-W007"]]
    shown = [show_unit(archive, str(r.unit_id)) for r in results]
    kept = [next(f for f in u["files"] if f["role"] == "package") for u in shown]
    assert [(f["name"], f["size"]) for f in kept] == [("a.zip", len(plain)),
                                                      ("b.zip", len(appended))]
    assert kept[1]["sha256"] == hashlib.sha256(appended).hexdigest()
    assert shown[1]["findings"] == [{"code": "HRB-W007", "detail":
                                     "b.zip: 24 bytes after the end of the ZIP archive"}]
    out = tmp_path / "out"
    get_unit(archive, str(results[1].unit_id), out)
    assert (out / "b.zip").read_bytes() == appended
    (again,) = ingest_directory(archive, inbox(tmp_path / "again", {"c.zip": repack(
        plain, {})}))  # the same members in another ZIP: the same document
    assert (again.outcome, again.unit_id) == ("duplicate", results[0].unit_id)


# --- hybrid PDF invoices and what PDFs carry ----------------------------------------------

DATA = Path(__file__).resolve().parents[1] / "data"


def test_factur_x_and_zugferd_pdfs_are_archived_as_received_with_their_xmls_metadata(
        archive: Archive, tmp_path: Path) -> None:
    files = {"factur-x.pdf": (DATA / "facturx" / "MustangBeispiel20221026.pdf").read_bytes(),
             "zugferd.pdf": (DATA / "facturx" / "zugferd_invoice.pdf").read_bytes(),
             "mismatch.pdf": (DATA / "pdf" / "facturx-name-mismatch.pdf").read_bytes()}
    results = list(ingest_directory(archive, inbox(tmp_path, files), "OBCINA1"))
    assert [(r.path, r.codes) for r in results] == [  # in the order of their names
        ("factur-x.pdf", ["HRB-W010"]), ("mismatch.pdf", ["HRB-W011", "HRB-W010"]),
        ("zugferd.pdf", ["HRB-W010"])]
    facturx, _, zugferd = (show_unit(archive, str(r.unit_id)) for r in results)
    assert [(f["name"], f["role"], f["media_type"]) for f in facturx["files"]][:2] == [
        ("factur-x.pdf", "invoice", "application/pdf"),
        ("factur-x.xml", "derived", "application/xml")]
    assert facturx["files"][0]["sha256"] == hashlib.sha256(files["factur-x.pdf"]).hexdigest()
    assert (facturx["format"], facturx["metadata"]["invoice_number"],
            facturx["metadata"]["hybrid"], facturx["metadata"]["hybrid_profile"]) == (
        "cii", "RE1001", "factur-x", "EN 16931")
    assert (zugferd["format"], zugferd["metadata"]["invoice_number"],
            zugferd["metadata"]["seller_name"], zugferd["metadata"]["payable_amount"],
            zugferd["metadata"]["hybrid"]) == (
        "zugferd1", "2014-03", "Kraxi GmbH", "1005.55", "zugferd1")
    shown = readable(archive, str(results[2].unit_id))
    assert shown is not None
    assert (shown.number, len(shown.lines)) == ("2014-03", 7)


def test_active_encrypted_or_bomb_pdf_attachments_are_archived_and_flagged(
        archive: Archive, tmp_path: Path) -> None:
    def with_attachment(seq: int, name: str, pdf: str) -> bytes:
        return repack(package(seq), {"Priloga1.pdf": None,
                                     name: (DATA / "pdf" / pdf).read_bytes()})

    results = list(ingest_directory(archive, inbox(tmp_path, {
        "a.zip": with_attachment(31, "Skripta.pdf", "pdf-javascript.pdf"),
        "b.zip": with_attachment(32, "Zaklenjeno.pdf", "pdf-encrypted.pdf"),
        "c.zip": with_attachment(33, "Bomba.pdf", "pdf-embedded-bomb.pdf"),
        "d.pdf": (DATA / "pdf" / "pdf-javascript.pdf").read_bytes()})))
    assert [(r.outcome, sorted(set(r.codes) - {"HRB-W003"})) for r in results] == [
        ("archived", ["HRB-W008"]), ("archived", ["HRB-W009"]), ("archived", ["HRB-W009"]),
        ("quarantined", ["HRB-I024"])]
    details = [f["detail"] for f in show_unit(archive, str(results[0].unit_id))["findings"]]
    assert "'Skripta.pdf' holds active content: JavaScript" in details


def test_a_program_embedded_in_a_pdf_is_refused_as_a_program_in_the_package(
        archive: Archive, tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("make_pdfs", DATA / "pdf" / "make_pdfs.py")
    assert spec is not None
    assert spec.loader is not None
    make_pdfs = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_pdfs)
    carrier = make_pdfs.hybrid_pdf(b"MZ\x90\x00" + bytes(200), "Navodila.pdf.exe", None)
    results = list(ingest_directory(archive, inbox(tmp_path, {
        "a.zip": repack(package(41), {"Priloga1.pdf": carrier}), "b.pdf": carrier})))
    assert [(r.outcome, r.codes) for r in results] == [("quarantined", ["HRB-I023"])] * 2
    assert "embedded 'Navodila.pdf.exe': executable extension .exe" in str(results[0].reason)


def test_a_file_changed_while_intake_reads_it_is_refused_not_archived_as_other_bytes(
        archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = invoice(1, random.Random(1), ("Občina Primer", "SI21423512"), 5_000, 6_000)
    folder = inbox(tmp_path, {"a.xml": data})
    parse = ingest_module.read_input

    def parse_then_a_writer_appends(path: Path, **kwargs: Any) -> Any:
        parsed = parse(path, **kwargs)
        with path.open("ab") as f:  # the writer was not done: metadata is of other bytes
            f.write(b"\n<!-- more -->")
        return parsed

    monkeypatch.setattr(ingest_module, "read_input", parse_then_a_writer_appends)
    (result,) = ingest_directory(archive, folder, "OBCINA1")
    assert (result.outcome, result.codes) == ("quarantined", ["HRB-I004"])
    assert "a.xml changed while it was being read" in str(result.reason)
    monkeypatch.undo()
    (again,) = ingest_directory(archive, folder, "OBCINA1")  # finished now: archived
    assert again.outcome == "archived"
