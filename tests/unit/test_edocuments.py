"""E-documents beside e-invoices (ZPJS): orders, despatch and receipt advices, responses.

Detection and metadata of our own samples in tests/data/edocuments/; the expected values
were read off the sample files by hand, never computed with the code under test.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from ingest import formats
from ingest.formats import detect, edocument_metadata, parse_xml, unit_metadata
from ingest.intake import IntakeRejected, read_input

DATA = Path(__file__).resolve().parents[1] / "data"
SAMPLES = DATA / "edocuments"
BUYER = {"buyer_vat": "SI21423512", "buyer_name": "Občina Primer"}  # the tests' OBCINA1
SELLER = {"seller_vat": "SI59684127", "seller_name": "Pisarniški material d.o.o."}
NO_AMOUNT = {"payable_amount": None, "currency": None}

EXPECTED: dict[str, tuple[str, dict[str, Any]]] = {
    "eslog20_order.xml": ("eslog20-order", {
        "document_class": "order", "document_type": "220", "invoice_number": "N-2026-0042",
        "issue_date": "2026-02-10", "payable_amount": "1220.00", "currency": "EUR",
        "buyer_tax_number": "21423512", **BUYER, **SELLER}),
    "eslog20_despatch_advice.xml": ("eslog20-despatch", {
        "document_class": "despatch-advice", "document_type": "351",
        "invoice_number": "DOB-2026-0107", "issue_date": "2026-02-17",
        "order_reference": "N-2026-0042", "seller_tax_number": "59684127",
        **NO_AMOUNT, **BUYER, **SELLER}),
    "ubl_order.xml": ("ubl-order", {  # no OrderTypeCode: the class's 220
        "document_class": "order", "document_type": "220", "invoice_number": "NAR-2026-0043",
        "issue_date": "2026-02-11", "payable_amount": "610.00", "currency": "EUR",
        **BUYER, **SELLER}),
    "ubl_order_response.xml": ("ubl-order-resp", {
        "document_class": "order-response", "document_type": "231",
        "invoice_number": "OR-2026-0043", "issue_date": "2026-02-12",
        "payable_amount": "610.00", "currency": "EUR", "order_reference": "NAR-2026-0043",
        "response_code": "AP", **BUYER, **SELLER}),
    "ubl_despatch_advice.xml": ("ubl-despatch", {
        "document_class": "despatch-advice", "document_type": "351",
        "invoice_number": "DA-2026-0311", "issue_date": "2026-02-18",
        "order_reference": "NAR-2026-0043", **NO_AMOUNT, **BUYER, **SELLER}),
    "ubl_receipt_advice.xml": ("ubl-receipt", {  # its type code D is Peppol's, not 1001
        "document_class": "receipt-advice", "document_type": "632",
        "invoice_number": "RA-2026-0019", "issue_date": "2026-02-19",
        "order_reference": "NAR-2026-0043", "buyer_vat": None,
        "buyer_tax_number": "21423512", "buyer_name": "Občina Primer",
        **NO_AMOUNT, **SELLER}),
    "ubl_application_response.xml": ("ubl-app-response", {  # the budget user answers
        "document_class": "application-response", "document_type": None,
        "invoice_number": "AR-2026-0005", "issue_date": "2026-02-20",
        "responds_to": "2026-000123", "response_code": "AP", **NO_AMOUNT,
        "seller_vat": "SI21423512", "seller_name": "Občina Primer",
        "buyer_vat": "SI59684127", "buyer_name": "Pisarniški material d.o.o."}),
}


def root_of(name: str) -> Any:
    return parse_xml((SAMPLES / name).read_bytes(), name)


def test_the_table_covers_every_sample_and_every_format() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.xml")) == sorted(EXPECTED)
    assert sorted(fmt for fmt, _ in EXPECTED.values()) == sorted(formats.EDOCUMENT_FORMATS)
    assert all(len(fmt) <= 16 for fmt in formats.EDOCUMENT_FORMATS)  # Unit.format's width


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_format_and_metadata(name: str) -> None:
    fmt, expected = EXPECTED[name]
    root = root_of(name)
    assert detect(root) == fmt
    assert unit_metadata(fmt, root) == expected
    assert set(formats.METADATA_KEYS) <= set(expected)


@pytest.mark.parametrize(("xml", "expected"), [
    (b"<Order xmlns='urn:eslog:2.00'/>", "eslog20-order"),
    (b"<DespatchAdvice xmlns='urn:eslog:2.00'/>", "eslog20-despatch"),
    (b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:Order-2'/>", "ubl-order"),
    (b"<ApplicationResponse xmlns="
     b"'urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2'/>",
     "ubl-app-response"),
    (b"<Order xmlns='urn:oasis:names:specification:ubl:schema:xsd:DespatchAdvice-2'/>",
     "other"),
    (b"<Order/>", "other"),
    (b"<Remittance xmlns='urn:eslog:2.00'/>", "other"),
    (b"<Catalogue xmlns='urn:oasis:names:specification:ubl:schema:xsd:Catalogue-2'/>",
     "other"),
])
def test_detect_tells_e_documents_by_local_name_and_namespace(xml: bytes,
                                                              expected: str) -> None:
    assert detect(parse_xml(xml, "t.xml")) == expected


def test_an_invoice_is_of_class_invoice_with_its_fields_as_before() -> None:
    xml = (b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2' "
           b"xmlns:cbc='urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2'>"
           b"<cbc:ID>R-1</cbc:ID><cbc:InvoiceTypeCode>381</cbc:InvoiceTypeCode></Invoice>")
    root = parse_xml(xml, "t.xml")
    assert unit_metadata("ubl", root) == formats.invoice_metadata("ubl", root) | {
        "document_class": "invoice"}


def test_metadata_of_a_format_that_is_no_e_document_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="'ubl'"):
        edocument_metadata("ubl", root_of("ubl_order.xml"))


def test_an_unknown_document_type_is_refused_naming_its_root() -> None:
    path = DATA / "bad" / "HRB-I024_unknown_document_type.xml"
    with pytest.raises(IntakeRejected) as refused:
        read_input(path)
    assert refused.value.code == "HRB-I024"
    assert "{urn:oasis:names:specification:ubl:schema:xsd:Catalogue-2}Catalogue" in (
        refused.value.reason)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_intake_reads_a_bare_e_document_as_the_document_of_its_unit(name: str) -> None:
    parsed = read_input(SAMPLES / name)
    assert (parsed.unit_format, parsed.findings) == (EXPECTED[name][0], [])
    assert [(p.name, p.role, p.media_type) for p in parsed.parts] == [
        (name, "document", "application/xml")]
    assert parsed.metadata == EXPECTED[name][1]


def test_an_e_document_in_a_package_comes_with_its_attachments(tmp_path: Path) -> None:
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("narocilnica.xml", (SAMPLES / "ubl_order.xml").read_bytes())
        zf.writestr("Priloga1.pdf", b"%PDF-1.4\n% a visualisation\n%%EOF\n")
    parsed = read_input(path)
    assert parsed.unit_format == "ubl-order"
    assert [p.role for p in parsed.parts] == ["document", "attachment", "package"]
    assert parsed.metadata["invoice_number"] == "NAR-2026-0043"


def test_a_ubl_e_document_embeds_attachments_as_an_invoice_does() -> None:
    data = (SAMPLES / "ubl_despatch_advice.xml").read_bytes().replace(
        b"  <cac:DespatchSupplierParty>",
        b"  <cac:AdditionalDocumentReference><cbc:ID>1</cbc:ID><cac:Attachment>"
        b"<cbc:EmbeddedDocumentBinaryObject mimeCode='text/plain' filename='opomba.txt'>"
        b"UHJldnplbW5pY2E=</cbc:EmbeddedDocumentBinaryObject></cac:Attachment>"
        b"</cac:AdditionalDocumentReference>\n  <cac:DespatchSupplierParty>", 1)
    (embedded,) = formats.embedded_attachments("ubl-despatch", parse_xml(data, "d.xml"))
    assert (embedded.filename, embedded.data) == ("opomba.txt", b"Prevzemnica")
