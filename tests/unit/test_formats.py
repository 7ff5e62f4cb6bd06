"""Format intake: every public sample's format and metadata, refused XML, embedded files, XSDs.

Expected values were read off the sample files by hand (see shared/FORMATS.md and
shared/samples/PROVENANCE.md), never computed with the code under test.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from plugins.samples import samples_dir

from hramba.core.errors import ConfigurationError, RejectedInput
from hramba.domain.search import name_key
from ingest import formats
from ingest.formats import (
    Embedded,
    XmlRejected,
    detect,
    embedded_attachments,
    envelope_metadata,
    invoice_metadata,
    parse_xml,
    xsd_errors,
)

# path, format, document_type, invoice_number, issue_date, seller_vat, buyer_vat,
# payable_amount, currency
Row = tuple[str, str, str, str, str, str | None, str | None, str, str]
TOSL110 = ("380", "TOSL110", "2013-04-10", "NL16356706", "DK16356607", "2337.50", "DKK")
GZS16 = ("380", "RAC-12345-6789-XX", "2012-04-01", "SI39705684", "SI12345678")
PEPPOL = ("2017-11-13", "GB1232434", "SE4598375937")
MAX_CONTENT = ("2018210", "2018-02-08", "SE123456789001", "SE123451234501", "12500.00", "SEK")
XR = ("DE123456789",)

INVOICES: list[Row] = [
    ("eslog20/sample_eSLOG20_INVOIC_v200.xml", "eslog20", *TOSL110),
    ("eslog20/sample_eSLOG20_INVOIC_v200-signed.xml", "eslog20", *TOSL110),
    ("eslog20/sample_eSLOG20_INVOIC_v200_with_BT.xml", "eslog20", *TOSL110),
    ("eslog20/sample_eSLOG20_INVOIC_v200_with_BT-signed.xml", "eslog20", *TOSL110),
    ("eslog20/media24si-eslog2_inv.xml", "eslog20",
     "380", "1-2019-154", "2023-10-23", "12345678", "87654321", "1.81", "EUR"),
    ("eslog16/sample_eSLOG16_1.xml", "eslog16", *GZS16, "179.70", "EUR"),
    ("eslog16/sample_eSLOG16_1-signed.xml", "eslog16", *GZS16, "179.70", "EUR"),
    ("eslog16/sample_eSLOG16_2.xml", "eslog16", *GZS16, "216.55", "EUR"),
    ("eslog16/sample_eSLOG16_2-signed.xml", "eslog16", *GZS16, "216.55", "EUR"),
    ("ubl/ubl-tc434-example5.xml", "ubl", *TOSL110),
    ("ubl/ubl-tc434-example1.xml", "ubl",
     "380", "12115118", "2015-01-09", "NL8200.98.395.B.01", None, "250.33", "EUR"),
    ("ubl/ubl-tc434-example2.xml", "ubl",
     "380", "TOSL108", "2013-06-30", "NO123456789MVA", "NO987654321MVA", "801.78", "NOK"),
    ("ubl/ubl-tc434-example7.xml", "ubl",
     "380", "INVOICE_test_7", "2013-03-11", None, None, "3200.00", "SEK"),
    ("ubl/ubl-tc434-creditnote1.xml", "ubl",
     "381", "018304 / 28865", "2019-09-23", "BE0000000196", "BE0000000295", "100.11", "EUR"),
    ("ubl/Invoice-Max_content.xml", "ubl", "380", *MAX_CONTENT),
    ("ubl/CreditNote-Max_content.xml", "ubl", "381", *MAX_CONTENT),
    ("ubl/FT_G2G_TD01_con_Allegato_Bonifico_e_Split_Payment.xml", "ubl",
     "380", "1316/85", "2020-02-13", "IT01598570354", "IT02241850367", "1246.00", "EUR"),
    ("ubl/peppol-bis3_base-example.xml", "ubl", "380", "Snippet1", *PEPPOL, "1656.25", "EUR"),
    ("ubl/peppol-bis3_base-creditnote-correction.xml", "ubl",
     "381", "Snippet1", *PEPPOL, "1656.25", "EUR"),
    ("ubl/peppol-bis3_base-negative-inv-correction.xml", "ubl",
     "380", "Correction1", *PEPPOL, "-1656.25", "EUR"),
    ("ubl/peppol-bis3_Allowance-example.xml", "ubl",
     "380", "Snippet1", *PEPPOL, "6125.00", "EUR"),
    ("ubl/peppol-bis3_Vat-category-S.xml", "ubl", "380", "Snippet1", *PEPPOL, "8550.00", "EUR"),
    # The E sample's cbc:ID really is "Vat-Z" (copied from the Z sample by its authors).
    ("ubl/peppol-bis3_vat-category-E.xml", "ubl",
     "380", "Vat-Z", "2018-08-30", "GB928741974", None, "1200.00", "GBP"),
    ("ubl/peppol-bis3_vat-category-Z.xml", "ubl",
     "380", "Vat-Z", "2018-08-30", "GB928741974", None, "1200.00", "GBP"),
    ("ubl/peppol-bis3_vat-category-O.xml", "ubl",
     "380", "Vat-O", "2018-08-30", None, None, "3200.00", "SEK"),
    ("ubl/xrechnung_01.15a-INVOICE_ubl.xml", "ubl",
     "380", "0000123456", "2017-12-11", *XR, None, "10686.20", "EUR"),
    ("ubl/xrechnung_01.18a-INVOICE_ubl.xml", "ubl",
     "384", "PRG1502112", "2015-04-24", *XR, None, "10555.30", "EUR"),
    ("ubl/xrechnung_01.20a-INVOICE_ubl.xml", "ubl",
     "389", "1234567890", "2021-01-25", *XR, "DE987654321", "357.00", "EUR"),
    ("cii/CII_example5.xml", "cii", *TOSL110),
    ("cii/CII_example1.xml", "cii",
     "380", "12115118", "2015-01-09", "NL8200.98.395.B.01", None, "250.33", "EUR"),
    ("cii/CII_example2.xml", "cii",
     "380", "TOSL108", "2013-06-30", "NO123456789MVA", "NO987654321MVA", "801.78", "NOK"),
    # Unlike its UBL twin (2013-03-11), the CII example 7 is dated 20130513.
    ("cii/CII_example7.xml", "cii",
     "380", "INVOICE_test_7", "2013-05-13", None, None, "3200.00", "SEK"),
    # schemeID="VA" holds a German tax number here, not a VAT ID; we report what is there.
    ("cii/CII_business_example_Z.xml", "cii",
     "380", "2016166", "2015-01-09", "DE37/302/30168", None, "11693.87", "EUR"),
    ("cii/XRechnung-O.xml", "cii", "380", "150377292", "2021-01-14", None, None, "385544.60",
     "EUR"),
    ("cii/huf_example_cii.xml", "cii",
     "380", "21/001003559/996", "2021-10-05", "HU30048650", "DE242688168", "87859.00", "HUF"),
    ("cii/xrechnung_01.15a-INVOICE_uncefact.xml", "cii",
     "380", "0000123456", "2017-12-11", *XR, None, "10686.20", "EUR"),
    ("cii/xrechnung_01.18a-INVOICE_uncefact.xml", "cii",
     "384", "PRG1502112", "2015-04-24", *XR, None, "10555.30", "EUR"),
    ("cii/xrechnung_01.20a-INVOICE_uncefact.xml", "cii",
     "389", "1234567890", "2021-01-25", *XR, "DE987654321", "357.00", "EUR"),
]
ENVELOPE = "envelope/media24si-eslog2_envelope.xml"
KEYS = ("document_type", "invoice_number", "issue_date", "seller_vat", "buyer_vat",
        "payable_amount", "currency")
NAME_KEYS = ("seller_name", "buyer_name")

# The parties' names (BT-27 and BT-44), read off each sample by hand like the rest.
TOSL110_NAMES = ("SellerCompany", "Buyercompany ltd")
GZS16_NAMES = ("SETCCE", "Zelo dolg naziv podjetja za prvo vrstico d.o.o. "
                         "Oddelek za naročanje nenavadnega blaga")
PEPPOL_NAMES = ("SupplierOfficialName Ltd", "Buyer Official Name")
MAX_NAMES = ("The Global Chain Sweden AB", "Project services AB")
VAT_CATEGORY_NAMES = ("The Sellercompany Incorporated", "The Buyercompany")
XR_NAMES = ("[Seller name]", "[Buyer name]")
NAMES: dict[str, tuple[str, str]] = {
    # The GZS e-SLOG 2.0 sample spells its buyer "BuyerCompany ltd", its twins "Buyercompany".
    **{f"eslog20/sample_eSLOG20_INVOIC_v200{variant}.xml": ("SellerCompany", "BuyerCompany ltd")
       for variant in ("", "-signed", "_with_BT", "_with_BT-signed")},
    "eslog20/media24si-eslog2_inv.xml": ("Company d.o.o.", "Recipient & Name"),
    # NazivPartnerja1..4 joined: "...za prvo vr" is a full 35 characters, cut mid-word.
    **{f"eslog16/sample_eSLOG16_{n}.xml": GZS16_NAMES
       for n in ("1", "1-signed", "2", "2-signed")},
    "ubl/ubl-tc434-example5.xml": TOSL110_NAMES,
    "ubl/ubl-tc434-example1.xml": ("De Koksmaat", "ODIN 59"),
    "ubl/ubl-tc434-example2.xml": ("Salescompany ltd.", "The Buyercompany"),
    "ubl/ubl-tc434-example7.xml": ("The Sellercompany Incorporated", "THe Buyercompany"),
    "ubl/ubl-tc434-creditnote1.xml": ("My Supplier Company", "My Customer Company"),
    "ubl/Invoice-Max_content.xml": MAX_NAMES,
    "ubl/CreditNote-Max_content.xml": MAX_NAMES,
    "ubl/FT_G2G_TD01_con_Allegato_Bonifico_e_Split_Payment.xml": (
        "Azienda Unita Sanitaria Locale di Reggio Emilia", "AZIENDA AUSL DI MODENA"),
    **{f"ubl/peppol-bis3_{name}.xml": PEPPOL_NAMES for name in (
        "base-example", "base-creditnote-correction", "base-negative-inv-correction",
        "Allowance-example", "Vat-category-S")},
    **{f"ubl/peppol-bis3_vat-category-{c}.xml": VAT_CATEGORY_NAMES for c in "EZO"},
    "ubl/xrechnung_01.15a-INVOICE_ubl.xml": XR_NAMES,
    "ubl/xrechnung_01.18a-INVOICE_ubl.xml": XR_NAMES,
    "ubl/xrechnung_01.20a-INVOICE_ubl.xml": ("Betriebsstätte", "Kunde 1"),
    "cii/CII_example5.xml": TOSL110_NAMES,
    "cii/CII_example1.xml": ("De Koksmaat", "ODIN 59"),
    "cii/CII_example2.xml": ("Salescompany ltd.", "The Buyercompany"),
    "cii/CII_example7.xml": ("The Sellercompany Incorporated", "THe Buyercompany"),
    "cii/CII_business_example_Z.xml": ("XXX AG", "XXX AG"),
    "cii/XRechnung-O.xml": ("XX", "XX"),
    "cii/huf_example_cii.xml": ("DKV Euro Service GmbH + Co. KG",
                                "HIL Heeresinstandsetzungslogistik GmbH"),
    "cii/xrechnung_01.15a-INVOICE_uncefact.xml": XR_NAMES,
    "cii/xrechnung_01.18a-INVOICE_uncefact.xml": XR_NAMES,
    "cii/xrechnung_01.20a-INVOICE_uncefact.xml": ("Betriebsstätte", "Kunde 1"),
}


def load(relative: str) -> bytes:
    return (samples_dir() / relative).read_bytes()


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[object]]:
    """Any Python-level connect fails the test; libxml2's own I/O is shut by the resolver."""
    attempts: list[object] = []

    def refuse(self: socket.socket, address: object) -> None:
        attempts.append(address)
        raise AssertionError(f"network access attempted: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    yield attempts
    assert attempts == []


# --- every sample ------------------------------------------------------------------------


def test_the_table_covers_every_xml_sample() -> None:
    on_disk = sorted(p.relative_to(samples_dir()).as_posix()
                     for p in samples_dir().glob("*/*.xml"))
    assert on_disk == sorted([row[0] for row in INVOICES] + [ENVELOPE])
    assert sorted(NAMES) == sorted(row[0] for row in INVOICES)


@pytest.mark.parametrize("row", INVOICES, ids=[row[0] for row in INVOICES])
def test_sample_format_and_metadata(row: Row) -> None:
    relative, fmt, *values = row
    root = parse_xml(load(relative), relative)
    assert detect(root) == fmt
    assert invoice_metadata(fmt, root) == dict(zip(KEYS, values, strict=True)) | dict(
        zip(NAME_KEYS, NAMES[relative], strict=True))


@pytest.mark.parametrize("relative", ["eslog20/sample_eSLOG20_INVOIC_v200.xml",
                                      "ubl/ubl-tc434-example5.xml", "cii/CII_example5.xml"])
def test_tosl110_reads_the_same_in_three_syntaxes(relative: str) -> None:
    root = parse_xml(load(relative), relative)
    metadata = invoice_metadata(detect(root), root)
    assert metadata | {"buyer_name": name_key(metadata["buyer_name"])} == {
        "document_type": "380", "invoice_number": "TOSL110", "issue_date": "2013-04-10",
        "seller_vat": "NL16356706", "buyer_vat": "DK16356607", "payable_amount": "2337.50",
        "currency": "DKK", "seller_name": "SellerCompany",
        "buyer_name": "buyercompany ltd"}  # as search compares it: the case differs


PARTY_TEMPLATES = {
    # UBL: the legal name (BT-27) first, the trading name (BT-28) when it is the only one.
    "ubl": """<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cac:AccountingSupplierParty><cac:Party><cac:PartyName><cbc:Name>Trading</cbc:Name>
 </cac:PartyName></cac:Party></cac:AccountingSupplierParty>
 <cac:AccountingCustomerParty><cac:Party><cac:PartyName><cbc:Name>Trading B</cbc:Name>
 </cac:PartyName><cac:PartyLegalEntity><cbc:RegistrationName> Legal B </cbc:RegistrationName>
 </cac:PartyLegalEntity></cac:Party></cac:AccountingCustomerParty></Invoice>""",
    # e-SLOG 1.6: the seller is the issuer (II), else SE; parts shorter than 35 characters
    # end a line.
    "eslog16": """<IzdaniRacunEnostavni><Racun>
 <PodatkiPodjetja><NazivNaslovPodjetja><VrstaPartnerja>SE</VrstaPartnerja>
  <NazivPartnerja><NazivPartnerja1>Trading</NazivPartnerja1></NazivPartnerja>
 </NazivNaslovPodjetja></PodatkiPodjetja>
 <PodatkiPodjetja><NazivNaslovPodjetja><VrstaPartnerja>BY</VrstaPartnerja>
  <NazivPartnerja><NazivPartnerja1>Legal</NazivPartnerja1><NazivPartnerja2/>
  <NazivPartnerja3> B </NazivPartnerja3></NazivPartnerja>
 </NazivNaslovPodjetja></PodatkiPodjetja></Racun></IzdaniRacunEnostavni>""",
}


@pytest.mark.parametrize("fmt", sorted(PARTY_TEMPLATES))
def test_a_partys_name_where_the_samples_have_none(fmt: str) -> None:
    metadata = invoice_metadata(fmt, parse_xml(PARTY_TEMPLATES[fmt].encode(), "t.xml"))
    assert (metadata["seller_name"], metadata["buyer_name"]) == ("Trading", "Legal B")


# --- detection ---------------------------------------------------------------------------


@pytest.mark.parametrize(("xml", "expected"), [
    (b"<Invoice xmlns='urn:eslog:2.00'/>", "eslog20"),
    (b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>", "ubl"),
    (b"<CreditNote xmlns='urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2'/>", "ubl"),
    (b"<Invoice/>", "other"),
    (b"<Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2'/>", "other"),
    (b"<IzdaniRacunEnostavni/>", "eslog16"),
    (b"<IzdaniRacunEnostavni xmlns='urn:eslog:2.00'/>", "other"),
    (b"<CrossIndustryInvoice xmlns="
     b"'urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100'/>", "cii"),
    (b"<CrossIndustryInvoice xmlns='urn:ferd:CrossIndustryDocument:invoice:1p0'/>", "other"),
    (b"<envelope/>", "envelope"),
    (b"<envelope xmlns='urn:x'/>", "other"),
    (b"<package xmlns='hal:icl:01'><timestamp/><envelope/></package>", "envelope"),
    (b"<package><envelope/></package>", "envelope"),
    (b"<package xmlns='urn:x'><envelope/></package>", "other"),
    (b"<package><timestamp/></package>", "other"),
    (b"<racun/>", "other"),
])
def test_detect_uses_local_name_and_namespace(xml: bytes, expected: str) -> None:
    assert detect(parse_xml(xml, "t.xml")) == expected


# --- normalisation -----------------------------------------------------------------------

UBL_TEMPLATE = """<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
 xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
 xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
 <cbc:ID> R-1 </cbc:ID><cbc:IssueDate>{date}</cbc:IssueDate>
 <cac:LegalMonetaryTotal><cbc:PayableAmount currencyID="EUR">{amount}</cbc:PayableAmount>
 </cac:LegalMonetaryTotal></Invoice>"""


@pytest.mark.parametrize(("amount", "expected"), [
    ("1220", "1220.00"), (" -1656.250 ", "-1656.25"), ("1.5", "1.50"), ("+0.1", "0.10"),
    ("1.815", "1.815"), ("NaN", None), ("1e3", None), ("1_000", None), ("", None),
])
def test_amounts_get_two_places_without_rounding_away_value(amount: str,
                                                            expected: str | None) -> None:
    root = parse_xml(UBL_TEMPLATE.format(date="2024-01-31", amount=amount).encode(), "t.xml")
    assert invoice_metadata("ubl", root)["payable_amount"] == expected


@pytest.mark.parametrize(("issued", "expected"), [
    ("2024-01-31", "2024-01-31"), ("2024-01-31+01:00", "2024-01-31"),
    ("2024-02-30", None), ("31.1.2024", None)])
def test_dates_are_iso_or_none(issued: str, expected: str | None) -> None:
    root = parse_xml(UBL_TEMPLATE.format(date=issued, amount="1").encode(), "t.xml")
    metadata = invoice_metadata("ubl", root)
    assert metadata["issue_date"] == expected
    assert metadata["invoice_number"] == "R-1"
    assert metadata["seller_vat"] is None


def test_a_missing_field_is_none_and_all_keys_are_present() -> None:
    root = parse_xml(b"<Invoice xmlns='urn:eslog:2.00'><M_INVOIC/></Invoice>", "t.xml")
    assert invoice_metadata("eslog20", root) == dict.fromkeys(KEYS + NAME_KEYS)


def test_metadata_of_a_non_invoice_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="envelope"):
        invoice_metadata("envelope", parse_xml(b"<envelope/>", "t.xml"))


# --- envelope ----------------------------------------------------------------------------


def test_envelope_sample_metadata() -> None:
    root = parse_xml(load(ENVELOPE), ENVELOPE)
    assert detect(root) == "envelope"
    assert envelope_metadata(root) == {
        "doc_id": "1", "sender_id": "12345678", "receiver_id": "87654321",
        "iban": "SI56111122223333456", "payment_reference": "SI123838173927",
        "due_date": "2023-10-23", "invoice_number": "1", "payable_amount": "1.81",
        "currency": "EUR", "receiver_agent": "BAKOSI2XXXX",
        "timestamp": "2023-10-23T10:04:25", "attachments": []}


# Shaped after the UJP example in Pozoj/vzgojiteljica e_envelope.rb (FORMATS.md (c)).
ENVELOPE_BODY = """
<sender><sender_identifier>SI12345678</sender_identifier>
 <sender_eddress><sender_agent>BAKOSI2XXXX</sender_agent><sender_mailbox/></sender_eddress>
</sender>
<receiver><receiver_identifier>SI21423512</receiver_identifier>
 <receiver_eddress><receiver_agent>UJPLSI2DICL</receiver_agent>
  <receiver_mailbox>SI56011006000000027</receiver_mailbox></receiver_eddress></receiver>
<doc_data><doc_type>0002</doc_type><doc_id>PKG-7</doc_id>
 <external_doc_id>1-2015</external_doc_id></doc_data>
<payment_data><creditor><creditor_account>SI56020100012345678</creditor_account></creditor>
 <requested_execution_date>2015-02-15</requested_execution_date><amount>1220</amount>
 <currency>EUR</currency>
 <remittance_information><creditor_structured_reference>SI00 12015</creditor_structured_reference>
 </remittance_information></payment_data>
<attachments><hash>0000000000000000000000000000000000000000</hash><size>3</size><count>3</count>
 <attachment><filename>12015_1_1-2015.xml</filename><size>1024</size><type>xml</type>
  <description>Racun v e-Slog XML obliki</description></attachment>
 <attachment><filename>12015_2_1-2015.pdf</filename><size>20480</size><type>pdf</type>
  <description>vizualizacija</description></attachment>
 <attachment><filename>12015_3_obvestilo.pdf</filename><size>unknown</size><type>PDF</type>
 </attachment>
</attachments>"""
ENVELOPE_EXPECTED: dict[str, object] = {
    "doc_id": "PKG-7", "sender_id": "SI12345678", "receiver_id": "SI21423512",
    "iban": "SI56020100012345678",  # the sender mailbox is empty: the creditor account
    "payment_reference": "SI00 12015", "due_date": "2015-02-15", "invoice_number": "1-2015",
    "payable_amount": "1220.00", "currency": "EUR", "receiver_agent": "UJPLSI2DICL",
    "timestamp": None, "attachments": [
        {"filename": "12015_1_1-2015.xml", "size": 1024, "type": "xml",
         "description": "Racun v e-Slog XML obliki"},
        {"filename": "12015_2_1-2015.pdf", "size": 20480, "type": "pdf",
         "description": "vizualizacija"},
        {"filename": "12015_3_obvestilo.pdf", "size": None, "type": "PDF",
         "description": None},
    ]}


@pytest.mark.parametrize("wrapper", [
    "<envelope>{}</envelope>",
    '<package xmlns="hal:icl:01" pkg_type="einvoice"><timestamp/><envelope>{}</envelope>'
    "</package>",
    "<package><timestamp/><envelope>{}</envelope></package>",
], ids=["bare", "halcom-package", "package-without-namespace"])
def test_envelope_with_attachments_bare_or_in_a_package(wrapper: str) -> None:
    root = parse_xml(wrapper.format(ENVELOPE_BODY).encode(), "envelope.xml")
    assert detect(root) == "envelope"
    assert envelope_metadata(root) == ENVELOPE_EXPECTED


# --- embedded attachments ----------------------------------------------------------------


def test_huf_cii_pdf_is_extracted_byte_for_byte() -> None:
    root = parse_xml(load("cii/huf_example_cii.xml"), "huf_example_cii.xml")
    [pdf] = embedded_attachments("cii", root)
    reference = (samples_dir() / "attachments/extracted_from_huf_example_cii.pdf").read_bytes()
    assert hashlib.sha256(pdf.data).hexdigest() == hashlib.sha256(reference).hexdigest()
    assert hashlib.sha256(pdf.data).hexdigest() == (
        "fb54f424866904443b2f33cbc22721b7dfeb49830cdf9a02813f783564780796")
    assert pdf.filename == "843312_2021-09-30_HU_E-INVOICE_21-620198615-006.pdf"
    assert pdf.mime_code == "application/pdf"


def test_ubl_payload_is_decoded_whatever_its_declared_type() -> None:
    root = parse_xml(load("ubl/ubl-tc434-example2.xml"), "ubl-tc434-example2.xml")
    assert embedded_attachments("ubl", root) == [
        Embedded("test.pdf", "application/pdf", b"Testing Base64 encoding")]


def test_whitespace_in_base64_is_ignored() -> None:
    root = parse_xml(load("ubl/Invoice-Max_content.xml"), "Invoice-Max_content.xml")
    assert embedded_attachments("ubl", root) == [
        Embedded("testfilnamn.abc", "text/csv", base64.b64decode("01234567"))]


@pytest.mark.parametrize("relative", ["eslog20/sample_eSLOG20_INVOIC_v200.xml",
                                      "eslog16/sample_eSLOG16_1.xml", ENVELOPE])
def test_formats_without_embedding_have_no_attachments(relative: str) -> None:
    root = parse_xml(load(relative), relative)
    assert embedded_attachments(detect(root), root) == []


CII_ATTACHMENTS = """<rsm:CrossIndustryInvoice
 xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
 xmlns:ram="urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100">
 <rsm:SupplyChainTradeTransaction><ram:ApplicableHeaderTradeAgreement>{}
 </ram:ApplicableHeaderTradeAgreement></rsm:SupplyChainTradeTransaction>
</rsm:CrossIndustryInvoice>"""


def cii_with(*objects: str) -> bytes:
    documents = "".join(f"<ram:AdditionalReferencedDocument><ram:TypeCode>916</ram:TypeCode>"
                        f"{obj}</ram:AdditionalReferencedDocument>" for obj in objects)
    return CII_ATTACHMENTS.format(documents).encode()


def test_missing_filenames_get_stable_generated_ones() -> None:
    payload = base64.b64encode(b"abc").decode()
    root = parse_xml(cii_with(
        f"<ram:AttachmentBinaryObject>{payload}</ram:AttachmentBinaryObject>",
        f'<ram:AttachmentBinaryObject filename="../x.pdf" mimeCode="application/pdf">'
        f"{payload}</ram:AttachmentBinaryObject>",
        f'<ram:AttachmentBinaryObject filename=" ">{payload}</ram:AttachmentBinaryObject>'),
        "t.xml")
    assert embedded_attachments("cii", root) == [
        Embedded("attachment-1.bin", None, b"abc"),
        Embedded("../x.pdf", "application/pdf", b"abc"),
        Embedded("attachment-3.bin", None, b"abc")]


@pytest.mark.parametrize(("size", "accepted"), [(99, True), (100, True), (101, False)])
def test_attachment_size_limit(size: int, accepted: bool) -> None:
    payload = base64.b64encode(b"x" * size).decode()
    root = parse_xml(cii_with(f'<ram:AttachmentBinaryObject filename="big.bin">{payload}'
                              "</ram:AttachmentBinaryObject>"), "t.xml")
    if accepted:
        assert embedded_attachments("cii", root, max_bytes=100)[0].data == b"x" * size
    else:
        with pytest.raises(XmlRejected, match=r"big\.bin") as caught:
            embedded_attachments("cii", root, max_bytes=100)
        assert caught.value.code == "HRB-I021"


def test_an_attachment_over_libxml2s_text_limit_parses_within_ours() -> None:
    pdf = b"%PDF-1.7 " + bytes(range(256)) * 36_000  # 9.2 MB: 12.3 million base64 characters
    xml = cii_with(f'<ram:AttachmentBinaryObject filename="big.pdf">'
                   f"{base64.b64encode(pdf).decode()}</ram:AttachmentBinaryObject>")
    assert embedded_attachments("cii", parse_xml(xml, "big.xml"))[0].data == pdf


def test_a_long_text_node_over_our_limit_or_with_a_doctype_is_refused(
        monkeypatch: pytest.MonkeyPatch) -> None:
    long_text = b"<r>" + b"A" * 10_000_001 + b"</r>"
    with pytest.raises(XmlRejected) as caught:
        parse_xml(b"<!DOCTYPE r>" + long_text, "doctype.xml")
    assert caught.value.code == "HRB-I011"
    monkeypatch.setattr(formats, "MAX_XML_BYTES", 10_000_000)
    with pytest.raises(XmlRejected, match=r"long\.xml: 10000008 bytes, over the limit") as caught:
        parse_xml(long_text, "long.xml")
    assert caught.value.code == "HRB-I021"


def test_size_is_judged_before_decoding() -> None:
    # Not valid base64 at all: only a size check that runs first can say HRB-I021.
    root = parse_xml(cii_with("<ram:AttachmentBinaryObject>" + "!" * 400
                              + "</ram:AttachmentBinaryObject>"), "t.xml")
    with pytest.raises(XmlRejected) as caught:
        embedded_attachments("cii", root, max_bytes=100)
    assert caught.value.code == "HRB-I021"


def test_invalid_base64_is_refused_not_decoded_leniently() -> None:
    root = parse_xml(cii_with("<ram:AttachmentBinaryObject>QUJD!RA==</ram:AttachmentBinaryObject>"),
                     "t.xml")
    with pytest.raises(XmlRejected) as caught:
        embedded_attachments("cii", root)
    assert caught.value.code == "HRB-I028"


# --- refused XML -------------------------------------------------------------------------

def billion_laughs() -> bytes:
    """Ten levels of entities, each ten references to the one below: 10**9 "lol"s if expanded."""
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)]
    return f"<!DOCTYPE lolz [{''.join(levels)}]><lolz>&lol9;</lolz>".encode()


LAUGHS = billion_laughs()


@pytest.mark.parametrize(("xml", "code"), [
    (LAUGHS, "HRB-I011"),
    (b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>', "HRB-I011"),
    (b'<!DOCTYPE r [<!ENTITY x SYSTEM "http://127.0.0.1:9/x">]><r>&x;</r>', "HRB-I011"),
    (b'<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p.dtd"> %p;]><r/>', "HRB-I011"),
    (b'<!DOCTYPE r SYSTEM "http://127.0.0.1:9/r.dtd"><r>&x;</r>', "HRB-I011"),
    (b"<!DOCTYPE r><r/>", "HRB-I011"),
    ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r><r/>'.encode("utf-16"), "HRB-I011"),
    (b"<r><a></r>", "HRB-I010"),
    (b"", "HRB-I010"),
    (b"<r>&undeclared;</r>", "HRB-I010"),
    (b"not xml at all", "HRB-I010"),
    (b"<r/><r/>", "HRB-I010"),
], ids=["billion-laughs", "xxe-file", "xxe-http", "parameter-entity", "external-dtd",
        "plain-doctype", "utf16-doctype", "broken", "empty", "undeclared-entity", "text",
        "two-roots"])
def test_refused_xml_has_a_code_and_names_the_file(xml: bytes, code: str,
                                                   no_network: list[object]) -> None:
    with pytest.raises(XmlRejected) as caught:
        parse_xml(xml, "bad-input.xml")
    assert caught.value.code == code
    assert isinstance(caught.value, RejectedInput)
    assert "bad-input.xml" in str(caught.value)
    assert "root:" not in str(caught.value)  # nothing of /etc/passwd leaks into the message


def test_utf8_bom_is_normal() -> None:
    root = parse_xml(b"\xef\xbb\xbf<?xml version='1.0' encoding='UTF-8'?>"
                     b"<Invoice xmlns='urn:eslog:2.00'><M_INVOIC/></Invoice>", "bom.xml")
    assert detect(root) == "eslog20"


def test_bom_samples_parse() -> None:
    data = load("eslog16/sample_eSLOG16_1.xml")
    assert data.startswith(b"\xef\xbb\xbf")
    assert detect(parse_xml(data, "sample_eSLOG16_1.xml")) == "eslog16"


# --- XSD validation ----------------------------------------------------------------------

VALID = ["eslog20/sample_eSLOG20_INVOIC_v200.xml", "eslog20/sample_eSLOG20_INVOIC_v200-signed.xml",
         "eslog20/sample_eSLOG20_INVOIC_v200_with_BT.xml",
         "eslog20/sample_eSLOG20_INVOIC_v200_with_BT-signed.xml",
         "eslog16/sample_eSLOG16_1.xml", "eslog16/sample_eSLOG16_1-signed.xml",
         "eslog16/sample_eSLOG16_2.xml", "eslog16/sample_eSLOG16_2-signed.xml"]


@pytest.fixture
def fresh_xsd_dir(tmp_path: Path) -> Path:
    """A copy in a new directory, so the schemas are compiled (imports resolved) in this test."""
    return Path(shutil.copytree(samples_dir() / "xsd", tmp_path / "xsd"))


@pytest.mark.parametrize("relative", VALID)
def test_gzs_samples_validate_offline(relative: str, fresh_xsd_dir: Path,
                                     no_network: list[object]) -> None:
    # The signed 1.6 samples need the signature schema that the XSD imports from gzs.si:
    # they validate only if that import was answered from the local copy.
    root = parse_xml(load(relative), relative)
    assert xsd_errors(detect(root), root, fresh_xsd_dir) == []


def test_media24si_sample_does_not_validate(fresh_xsd_dir: Path,
                                            no_network: list[object]) -> None:
    relative = "eslog20/media24si-eslog2_inv.xml"
    root = parse_xml(load(relative), relative)
    errors = xsd_errors("eslog20", root, fresh_xsd_dir)
    assert errors
    assert any("D_1230" in error and "minLength" in error for error in errors)


def test_formats_without_xsd_report_nothing(fresh_xsd_dir: Path) -> None:
    root = parse_xml(load("ubl/ubl-tc434-example5.xml"), "ubl-tc434-example5.xml")
    assert xsd_errors("ubl", root, fresh_xsd_dir) == []


def test_an_import_without_a_local_copy_is_a_configuration_error(
        tmp_path: Path, no_network: list[object]) -> None:
    shutil.copy(samples_dir() / "xsd" / "eSLOG_1-6_EnostavniRacun.xsd", tmp_path)
    root = parse_xml(load("eslog16/sample_eSLOG16_1.xml"), "sample_eSLOG16_1.xml")
    with pytest.raises(ConfigurationError, match=r"gzs\.si.*signature"):
        xsd_errors("eslog16", root, tmp_path)


def test_a_missing_schema_is_a_configuration_error(tmp_path: Path) -> None:
    root = parse_xml(b"<Invoice xmlns='urn:eslog:2.00'/>", "t.xml")
    with pytest.raises(ConfigurationError, match=r"eSLOG20_INVOIC_v200\.xsd"):
        xsd_errors("eslog20", root, tmp_path)


@pytest.mark.parametrize(("relative", "expected"), [
    ("eslog20/media24si-eslog2_inv.xml", {"seller_tax_number": "12345678",
                                          "buyer_tax_number": "87654321"}),
    ("cii/CII_example5.xml", {"seller_tax_number": "NL16356706"}),  # schemeID FC
    ("ubl/ubl-tc434-example5.xml", {"seller_tax_number": "NL16356706"}),  # scheme LOC
    ("ubl/ubl-tc434-example1.xml", {}),
    ("eslog16/sample_eSLOG16_1.xml", {}),  # its VA is the tax number already
])
def test_a_partys_tax_number_beside_its_vat_id(relative: str,
                                                expected: dict[str, str]) -> None:
    root = parse_xml(load(relative), relative)
    assert formats.tax_numbers(detect(root), root) == expected
