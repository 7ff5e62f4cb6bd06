"""E-documents (ZPJS) through intake: `ingest dir`, a UJP package, the inbox feed and the
portal; each a unit of its tenant under the invoice policy, with the reason recorded."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
import requests
from plugins.portal import Server, budget_user

from hramba.services.audit import EventCriteria, list_events
from hramba.services.context import Archive
from hramba.services.feed import FeedReport, pull_inbox
from hramba.services.ingest import ingest_directory
from hramba.services.units import readable, show_unit

from .test_intake import inbox
from .test_portal import sign_in

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "edocuments"
# file: format, document class, document type, the tenant's side
EXPECTED = {
    "eslog20_despatch_advice.xml": ("eslog20-despatch", "despatch-advice", "351", "received"),
    "eslog20_order.xml": ("eslog20-order", "order", "220", "received"),
    "ubl_application_response.xml": ("ubl-app-response", "application-response", None,
                                     "issued"),  # the budget user answers an invoice
    "ubl_despatch_advice.xml": ("ubl-despatch", "despatch-advice", "351", "received"),
    "ubl_order.xml": ("ubl-order", "order", "220", "received"),
    "ubl_order_response.xml": ("ubl-order-resp", "order-response", "231", "received"),
    "ubl_receipt_advice.xml": ("ubl-receipt", "receipt-advice", "632", "received"),
}
ENVELOPE = """<envelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xsi:noNamespaceSchemaLocation="icl_eb_envelope_einvoice.xsd">
 <sender><name>Pisarniški material d.o.o.</name><country>SI</country>
  <sender_identifier>SI59684127</sender_identifier></sender>
 <receiver><name>Občina Primer</name><country>SI</country>
  <receiver_identifier>SI21423512</receiver_identifier>
  <receiver_eddress><receiver_agent>UJPLSI2DICL</receiver_agent>
  <receiver_mailbox>SI56011006000012345</receiver_mailbox></receiver_eddress></receiver>
 <doc_data><doc_id>PKG-N-2026-0042</doc_id><external_doc_id>N-2026-0042</external_doc_id>
  <timestamp>2026-02-10T09:12:00</timestamp></doc_data>
</envelope>"""


def samples() -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(SAMPLES.glob("*.xml"))}


def archived_reason(archive: Archive, unit_id: str) -> str | None:
    (event,) = [e for e in list_events(archive, EventCriteria(unit=unit_id)).events
                if e.action == "unit.archived"]
    reason: str | None = event.details.get("retention_reason")
    return reason


def test_each_e_document_is_a_unit_of_its_tenant_under_the_invoice_policy(
        archive: Archive, tmp_path: Path) -> None:
    results = list(ingest_directory(archive, inbox(tmp_path, samples())))
    assert [(r.path, r.outcome, r.codes) for r in results] == [
        (name, "archived", []) for name in EXPECTED]
    for result in results:
        fmt, doc_class, doc_type, direction = EXPECTED[result.path]
        unit = show_unit(archive, str(result.unit_id))
        assert (unit["tenant"], unit["format"], unit["direction"]) == (
            "OBCINA1", fmt, direction), result.path
        assert (unit["metadata"]["document_class"], unit["metadata"]["document_type"]) == (
            doc_class, doc_type)
        assert [f["role"] for f in unit["files"]] == ["document", "manifest"]
        assert (unit["retention"]["policy"], unit["retention"]["needs_classification"]) == (
            "invoice-10y@v1", False)
        assert unit["retention"]["retain_until"].startswith("2036-12-31")
        assert archived_reason(archive, str(result.unit_id)) == (
            f"e-document '{doc_class}': no period of its own in law, the invoice-10y@v1 "
            "policy applies")
        assert readable(archive, str(result.unit_id)) is None  # no invoice view: metadata


def test_an_e_document_in_a_ujp_package_keeps_envelope_and_attachment(
        archive: Archive, tmp_path: Path) -> None:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as zf:
        zf.writestr("envelope.xml", ENVELOPE)
        zf.writestr("N-2026-0042_1.xml", (SAMPLES / "eslog20_order.xml").read_bytes())
        zf.writestr("Priloga1.pdf", b"%PDF-1.4\n% e-narocilnica N-2026-0042\n%%EOF\n")
    (result,) = ingest_directory(archive, inbox(tmp_path, {"p.zip": data.getvalue()}))
    assert (result.outcome, result.codes) == ("archived", [])
    unit = show_unit(archive, str(result.unit_id))
    assert (unit["tenant"], unit["format"]) == ("OBCINA1", "eslog20-order")
    assert [f["role"] for f in unit["files"]] == ["envelope", "document", "attachment",
                                                 "package", "manifest"]
    assert (unit["metadata"]["doc_id"], unit["metadata"]["receiver_id"],
            unit["metadata"]["invoice_number"], unit["metadata"]["payable_amount"]) == (
        "PKG-N-2026-0042", "SI21423512", "N-2026-0042", "1220.00")


def test_the_inbox_feed_takes_e_documents_as_ingest_dir_does(archive: Archive,
                                                             tmp_path: Path) -> None:
    folder = inbox(tmp_path, samples())
    report = FeedReport()
    pull_inbox(archive, folder, report)
    assert (report.as_dict()["archived"], report.as_dict()["quarantined"]) == (
        len(EXPECTED), 0)
    formats = {show_unit(archive, str(r.unit_id))["format"] for r in report.results}
    assert formats == {fmt for fmt, *_ in EXPECTED.values()}


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_the_portal_shows_an_e_document_by_its_metadata(archive: Archive, portal: Server,
                                                        tmp_path: Path) -> None:
    (result,) = ingest_directory(archive, inbox(tmp_path, {
        "n.xml": (SAMPLES / "ubl_order.xml").read_bytes()}))
    budget_user(archive, "ana", "OBCINA1")
    page = requests.get(f"{portal.url}/units/{result.unit_id}", cookies=sign_in(portal),
                        timeout=30)
    assert page.status_code == 200
    assert "<h1>NAR-2026-0043</h1>" in page.text
    assert "ubl-order" in page.text
    assert "610,00 EUR" in page.text
