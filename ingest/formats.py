"""Intake of e-invoice and e-document XML: safe parsing, format detection, archival
metadata, embedded files.

The formats and the XPaths come from shared/FORMATS.md: e-SLOG 2.0 (section a), e-SLOG 1.6
(b), the bank/UJP envelope (c) and EN 16931 in UBL 2.1 or UN/CEFACT CII (d). The
e-documents exchanged beside e-invoices (orders, despatch advices, responses: UBL 2.1 and
e-SLOG 2.0) are read the same way; see "e-document metadata" below for where their paths
come from.

Everything an archive receives is untrusted, so parsing is deliberately narrow: entities are
never expanded, nothing is loaded over the network or from disk, and a document with any
DOCTYPE is refused (no e-invoice format uses one, and a DTD is how entity attacks arrive).
libxml2's default limits stay on, but for one: a text node may exceed its 10,000,000
characters, so that a base64 attachment up to our own limit (50 MiB decoded, in a document
of at most MAX_XML_BYTES) parses. A document that hits a libxml2 limit is parsed again
with that limit lifted (huge_tree) only when it is within MAX_XML_BYTES and declares no
DOCTYPE; entities stay unexpanded and the network off.

Codes raised here (as XmlRejected.code):

* HRB-I010  not well-formed XML
* HRB-I011  DOCTYPE present (DTDs and entity declarations are refused, never expanded)
* HRB-I021  embedded attachment larger than the limit
* HRB-I028  embedded attachment is not valid base64
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Literal, cast

from lxml import etree

from hramba.core.errors import CodedRejection, ConfigurationError

if TYPE_CHECKING:  # the stubs name the resolver's return type; lxml does not export it
    from lxml.etree._docloader import _InputDocument

NS: dict[str, str] = {
    "e": "urn:eslog:2.00",
    "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
    "rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
    "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
    "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
    # ZUGFeRD 1.0: CII of the older D13B draft, its own root (the XML of a hybrid PDF)
    "zf": "urn:ferd:CrossIndustryDocument:invoice:1p0",
    "zram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12",
    "zudt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:15",
}
HALCOM_NS = "hal:icl:01"
INVOICE_FORMATS = ("eslog20", "eslog16", "ubl", "cii", "zugferd1")
# The e-documents ZPJS has budget users exchange beside e-invoices (orders, despatch
# advices, responses), each a format of its own: syntax and message. At most 16
# characters: the width of a unit's format (hramba.db.models.Unit.format).
EDOCUMENT_FORMATS = ("ubl-order", "ubl-order-resp", "ubl-despatch", "ubl-receipt",
                     "ubl-app-response", "eslog20-order", "eslog20-despatch")
METADATA_KEYS = ("document_type", "invoice_number", "issue_date", "seller_vat", "buyer_vat",
                 "payable_amount", "currency", "seller_name", "buyer_name")
# Beside METADATA_KEYS, where an e-document gives them: the order it concerns, and for a
# response the document it answers and its code (UNCL 4343 in Peppol: AP, RE, AB, ...).
EDOCUMENT_KEYS = ("order_reference", "responds_to", "response_code")
# What a unit's document is (its metadata's document_class); the invoice formats carry
# credit and debit notes too (UNTDID 1001 381, 383), which are invoices in law.
DOCUMENT_CLASSES = dict.fromkeys(INVOICE_FORMATS, "invoice") | {
    "ubl-order": "order", "eslog20-order": "order", "ubl-order-resp": "order-response",
    "ubl-despatch": "despatch-advice", "eslog20-despatch": "despatch-advice",
    "ubl-receipt": "receipt-advice", "ubl-app-response": "application-response"}
# The UNTDID 1001 code a class implies when the document carries none (UBL's type codes
# are optional): 220 order, 231 purchase order response, 351 despatch advice, 632 goods
# receipt. An application response has none: UBL gives it no type code, and UNTDID 1001
# names the document responded to (DocumentReference/DocumentTypeCode), not the response.
IMPLIED_TYPES = {"order": "220", "order-response": "231", "despatch-advice": "351",
                 "receipt-advice": "632"}
XSD_FILES = {"eslog20": "eSLOG20_INVOIC_v200.xsd", "eslog16": "eSLOG_1-6_EnostavniRacun.xsd"}

_ROOTS: dict[tuple[str | None, str], str] = {
    (NS["e"], "Invoice"): "eslog20",
    (None, "IzdaniRacunEnostavni"): "eslog16",
    (NS["inv"], "Invoice"): "ubl",
    (NS["cn"], "CreditNote"): "ubl",
    (NS["rsm"], "CrossIndustryInvoice"): "cii",
    (NS["zf"], "CrossIndustryDocument"): "zugferd1",
    (None, "envelope"): "envelope",
    (NS["e"], "Order"): "eslog20-order",  # M_ORDERS inside, as M_INVOIC in Invoice
    (NS["e"], "DespatchAdvice"): "eslog20-despatch",  # M_DESADV inside
    **{(f"urn:oasis:names:specification:ubl:schema:xsd:{root}-2", root): fmt
       for root, fmt in (("Order", "ubl-order"), ("OrderResponse", "ubl-order-resp"),
                         ("DespatchAdvice", "ubl-despatch"), ("ReceiptAdvice", "ubl-receipt"),
                         ("ApplicationResponse", "ubl-app-response"))},
}
_DOCTYPE_MARKERS = tuple("<!DOCTYPE".encode(enc) for enc in ("ascii", "utf-16-le", "utf-16-be"))
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_CENT = Decimal("0.01")


class XmlRejected(CodedRejection):
    """Raised when an XML document or its embedded content is refused; `code` says why."""


@dataclass(frozen=True)
class Embedded:
    """One attachment carried inside the invoice XML (EN 16931 BG-24), decoded."""

    filename: str
    mime_code: str | None
    data: bytes


# 50 MiB decoded is 66.7 MiB of base64: room for the attachment and the invoice around it.
MAX_XML_BYTES = 72 * 1024 * 1024

# --- parsing -----------------------------------------------------------------------------


def parse_xml(data: bytes | Path, name: str, *, pruned: bool = False) -> etree._Element:
    """The document's root element, or XmlRejected (HRB-I010 malformed, HRB-I011 DOCTYPE).

    `data` is the document's bytes or the file that holds them (read in pieces, never
    whole). `pruned` leaves out of the tree every element that no metadata or embedded
    attachment path of the document's format can reach (`_pruned`): the same metadata
    and attachments from a tree a small fraction of the size (a 60 MB e-SLOG invoice of
    many lines is a 650 MB tree whole). A fresh parser per call because lxml parsers
    must not be shared between threads.
    """
    try:
        try:
            root = _parse(data, huge=False, pruned=pruned)
        except etree.XMLSyntaxError as exc:
            if exc.code != etree.ErrorTypes.ERR_RESOURCE_LIMIT or _mentions_doctype(data):
                raise
            size = len(data) if isinstance(data, bytes) else data.stat().st_size
            if size > MAX_XML_BYTES:
                raise XmlRejected("HRB-I021", f"{name}: {size} bytes, over the limit of "
                                              f"{MAX_XML_BYTES} for one XML document") from exc
            root = _parse(data, huge=True, pruned=pruned)  # a long text node: base64
    except etree.XMLSyntaxError as exc:
        # libxml2 stops a billion-laughs file with a syntax error even without expansion;
        # a declared DTD is the real reason to refuse, so report that code.
        if _mentions_doctype(data):
            raise XmlRejected("HRB-I011", f"{name}: DOCTYPE is not allowed ({exc})") from exc
        raise XmlRejected("HRB-I010", f"{name}: not well-formed XML: {exc}") from exc
    if _has_doctype(root):
        raise XmlRejected("HRB-I011", f"{name}: DOCTYPE is not allowed "
                                      f"({root.getroottree().docinfo.doctype})")
    return root


def _parse(data: bytes | Path, *, huge: bool, pruned: bool) -> etree._Element:
    if pruned:
        return _pruned(data, huge)
    if isinstance(data, bytes):
        return etree.fromstring(data, _parser(huge))
    with _reading(data) as source:
        return etree.parse(source, _parser(huge)).getroot()


class _Source:
    """What lxml reads a document from, in pieces: without a `name`, so that its
    messages say `<string>` wherever the bytes came from, as for a document in memory."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self, size: int = -1, /) -> bytes:
        return self._stream.read(size)


@contextmanager
def _reading(data: bytes | Path) -> Iterator[_Source]:
    with (io.BytesIO(data) if isinstance(data, bytes) else data.open("rb")) as stream:
        yield _Source(stream)


def _parser(huge: bool) -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                           dtd_validation=False, huge_tree=huge)


def _has_doctype(root: etree._Element) -> bool:
    info = root.getroottree().docinfo
    return bool(info.doctype or info.internalDTD is not None or info.externalDTD is not None
                or info.system_url or info.public_id)


def _mentions_doctype(data: bytes | Path) -> bool:
    """Only used to pick the code for a document that failed to parse anyway."""
    if isinstance(data, Path):
        data = data.read_bytes()  # at most MAX_XML_BYTES (intake checked), and rare
    return any(marker in data for marker in _DOCTYPE_MARKERS)


# --- detection ---------------------------------------------------------------------------


def detect(root: etree._Element) -> str:
    """An INVOICE_FORMATS or EDOCUMENT_FORMATS name, envelope or other, by root local
    name AND namespace.

    Namespace matters: e-SLOG 2.0 and UBL both call their root `Invoice`.
    """
    qname = etree.QName(root)
    found = _ROOTS.get((qname.namespace, qname.localname))
    if found is not None:
        return found
    if _package_envelope(root) is not None:
        return "envelope"
    return "other"


def _package_envelope(root: etree._Element) -> etree._Element | None:
    """The envelope inside a Halcom `package` wrapper (FORMATS.md (c)), if that is what this is."""
    qname = etree.QName(root)
    if qname.localname != "package" or qname.namespace not in (None, HALCOM_NS):
        return None
    for child in root.iterchildren(f"{{{HALCOM_NS}}}envelope", "envelope"):
        return child
    return None


# --- invoice metadata --------------------------------------------------------------------

_ESLOG20 = "/e:Invoice/e:M_INVOIC/"
_ESLOG16 = "/IzdaniRacunEnostavni/Racun/"
_CII_SETTLEMENT = ("/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
                   "ram:ApplicableHeaderTradeSettlement/")
_CII_AGREEMENT = ("/rsm:CrossIndustryInvoice/rsm:SupplyChainTradeTransaction/"
                  "ram:ApplicableHeaderTradeAgreement/")
# Within a UBL cac:Party: its VAT id; its name, EN 16931 BT-27/BT-44 (the legal name),
# else BT-28/BT-45 (the trading name).
_PARTY_VAT = "cac:PartyTaxScheme[cac:TaxScheme/cbc:ID='VAT']/cbc:CompanyID"
_PARTY_NAMES = ("cac:PartyLegalEntity/cbc:RegistrationName", "cac:PartyName/cbc:Name")
_UBL_VAT = "cac:Party/" + _PARTY_VAT
_UBL_NAME = tuple("cac:Party/" + path for path in _PARTY_NAMES)
_ESLOG20_PARTY = _ESLOG20 + "e:G_SG2[e:S_NAD/e:D_3035='{}']/"
_ESLOG16_PARTY = _ESLOG16 + "PodatkiPodjetja[NazivNaslovPodjetja/VrstaPartnerja='{}']/"
# FORMATS.md (b): the seller is the invoice issuer (II); SE only if II is absent.
_ESLOG16_SELLERS = ("II", "SE")

# Raw XPaths per format and key; alternatives are tried in order (first non-empty wins).
_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "eslog20": {
        "document_type": (_ESLOG20 + "e:S_BGM/e:C_C002/e:D_1001",),
        "invoice_number": (_ESLOG20 + "e:S_BGM/e:C_C106/e:D_1004",),
        "issue_date": (_ESLOG20 + "e:S_DTM/e:C_C507[e:D_2005='137']/e:D_2380",),
        "seller_vat": (_ESLOG20_PARTY.format("SE") + "e:G_SG3/e:S_RFF"
                       "/e:C_C506[e:D_1153='VA']/e:D_1154",),
        "buyer_vat": (_ESLOG20_PARTY.format("BY") + "e:G_SG3/e:S_RFF"
                      "/e:C_C506[e:D_1153='VA']/e:D_1154",),
        "payable_amount": (_ESLOG20 + "e:G_SG50/e:S_MOA/e:C_C516[e:D_5025='9']/e:D_5004",),
        "currency": (_ESLOG20 + "e:G_SG7/e:S_CUX/e:C_C504[e:D_6347='2']/e:D_6345",),
        # D_3036 is BT-27/BT-44; D_3036_2 the trading name (BT-28/BT-45).
        "seller_name": (_ESLOG20_PARTY.format("SE") + "e:S_NAD/e:C_C080/e:D_3036",),
        "buyer_name": (_ESLOG20_PARTY.format("BY") + "e:S_NAD/e:C_C080/e:D_3036",),
    },
    "eslog16": {
        "document_type": (_ESLOG16 + "GlavaRacuna/VrstaRacuna",),
        "invoice_number": (_ESLOG16 + "GlavaRacuna/StevilkaRacuna",),
        "issue_date": (_ESLOG16 + "DatumiRacuna[VrstaDatuma='137']/DatumRacuna",),
        "seller_vat": tuple(
            _ESLOG16_PARTY.format(party) + "ReferencniPodatkiPodjetja"
            "[VrstaPodatkaPodjetja='VA']/PodatekPodjetja" for party in _ESLOG16_SELLERS),
        "buyer_vat": (_ESLOG16_PARTY.format("BY") + "ReferencniPodatkiPodjetja"
                      "[VrstaPodatkaPodjetja='VA']/PodatekPodjetja",),
        "payable_amount": (_ESLOG16 + "PovzetekZneskovRacuna/ZneskiRacuna[VrstaZneska='9']"
                           "/ZnesekRacuna",),
        "currency": (_ESLOG16 + "Valuta[VrstaValuteRacuna='2']/KodaValute",),
        # The name in parts, NazivPartnerja1..4 (see _text_of).
        "seller_name": tuple(_ESLOG16_PARTY.format(party) + "NazivNaslovPodjetja/NazivPartnerja"
                             for party in _ESLOG16_SELLERS),
        "buyer_name": (_ESLOG16_PARTY.format("BY") + "NazivNaslovPodjetja/NazivPartnerja",),
    },
    "ubl": {
        "document_type": ("/*/cbc:InvoiceTypeCode", "/*/cbc:CreditNoteTypeCode"),
        "invoice_number": ("/*/cbc:ID",),
        "issue_date": ("/*/cbc:IssueDate",),
        "seller_vat": ("/*/cac:AccountingSupplierParty/" + _UBL_VAT,),
        "buyer_vat": ("/*/cac:AccountingCustomerParty/" + _UBL_VAT,),
        "payable_amount": ("/*/cac:LegalMonetaryTotal/cbc:PayableAmount",),
        "currency": ("/*/cbc:DocumentCurrencyCode",),
        "seller_name": tuple("/*/cac:AccountingSupplierParty/" + p for p in _UBL_NAME),
        "buyer_name": tuple("/*/cac:AccountingCustomerParty/" + p for p in _UBL_NAME),
    },
    "cii": {
        "document_type": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:TypeCode",),
        "invoice_number": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:ID",),
        "issue_date": ("/rsm:CrossIndustryInvoice/rsm:ExchangedDocument/ram:IssueDateTime"
                       "/udt:DateTimeString[@format='102']",),
        "seller_vat": (_CII_AGREEMENT + "ram:SellerTradeParty/ram:SpecifiedTaxRegistration"
                       "/ram:ID[@schemeID='VA']",),
        "buyer_vat": (_CII_AGREEMENT + "ram:BuyerTradeParty/ram:SpecifiedTaxRegistration"
                      "/ram:ID[@schemeID='VA']",),
        "payable_amount": (_CII_SETTLEMENT + "ram:SpecifiedTradeSettlementHeaderMonetarySummation"
                           "/ram:DuePayableAmount",),
        "currency": (_CII_SETTLEMENT + "ram:InvoiceCurrencyCode",),
        "seller_name": (_CII_AGREEMENT + "ram:SellerTradeParty/ram:Name",),  # BT-27
        "buyer_name": (_CII_AGREEMENT + "ram:BuyerTradeParty/ram:Name",),  # BT-44
    },
}


_ZF_TRADE = "/zf:CrossIndustryDocument/zf:SpecifiedSupplyChainTradeTransaction/"
_ZF_AGREEMENT = _ZF_TRADE + "zram:ApplicableSupplyChainTradeAgreement/"
_ZF_SETTLEMENT = _ZF_TRADE + "zram:ApplicableSupplyChainTradeSettlement/"
_ZF_HEADER = "/zf:CrossIndustryDocument/zf:HeaderExchangedDocument/"
_PATHS["zugferd1"] = {
    "document_type": (_ZF_HEADER + "zram:TypeCode",),
    "invoice_number": (_ZF_HEADER + "zram:ID",),
    "issue_date": (_ZF_HEADER + "zram:IssueDateTime/zudt:DateTimeString[@format='102']",),
    "seller_vat": (_ZF_AGREEMENT + "zram:SellerTradeParty/zram:SpecifiedTaxRegistration"
                   "/zram:ID[@schemeID='VA']",),
    "buyer_vat": (_ZF_AGREEMENT + "zram:BuyerTradeParty/zram:SpecifiedTaxRegistration"
                  "/zram:ID[@schemeID='VA']",),
    "payable_amount": (_ZF_SETTLEMENT + "zram:SpecifiedTradeSettlementMonetarySummation"
                       "/zram:DuePayableAmount",),
    "currency": (_ZF_SETTLEMENT + "zram:InvoiceCurrencyCode",),
    "seller_name": (_ZF_AGREEMENT + "zram:SellerTradeParty/zram:Name",),
    "buyer_name": (_ZF_AGREEMENT + "zram:BuyerTradeParty/zram:Name",),
}


# A party's tax number beside its VAT id (BT-32 for the seller; e-SLOG's NBT-013 for the
# buyer): budget users that are not VAT-registered have only this. FORMATS.md (a), (d);
# e-SLOG 1.6's VA is already the tax number.
_PARTY_TAX_NUMBER = "cac:PartyTaxScheme[not(cac:TaxScheme/cbc:ID='VAT')]/cbc:CompanyID"
_UBL_TAX_NUMBER = "cac:Party/" + _PARTY_TAX_NUMBER
_TAX_PATHS: dict[str, dict[str, str]] = {
    "eslog20": {f"{side}_tax_number": _ESLOG20_PARTY.format(code) + (
        "e:G_SG3/e:S_RFF/e:C_C506[e:D_1153='AHP']/e:D_1154")
        for side, code in (("seller", "SE"), ("buyer", "BY"))},
    "ubl": {"seller_tax_number": "/*/cac:AccountingSupplierParty/" + _UBL_TAX_NUMBER,
            "buyer_tax_number": "/*/cac:AccountingCustomerParty/" + _UBL_TAX_NUMBER},
    "cii": {f"{side}_tax_number": _CII_AGREEMENT + (
        f"ram:{party}TradeParty/ram:SpecifiedTaxRegistration/ram:ID[@schemeID='FC']")
        for side, party in (("seller", "Seller"), ("buyer", "Buyer"))},
}


def tax_numbers(fmt: str, root: etree._Element) -> dict[str, str]:
    """The parties' tax numbers where the invoice gives them (seller_tax_number,
    buyer_tax_number), as written; absent keys where it does not."""
    found = {key: _first_text(root, path) for key, path in _TAX_PATHS.get(fmt, {}).items()}
    return {key: value for key, value in found.items() if value}


def invoice_metadata(fmt: str, root: etree._Element) -> dict[str, str | None]:
    """The archival fields of an invoice (METADATA_KEYS), normalised; None where the
    invoice has none.

    Dates become YYYY-MM-DD and amounts a two-place decimal string, so the archive can
    compare and index them whatever syntax the invoice came in.
    """
    if fmt not in _PATHS:
        raise ValueError(f"not an invoice format: {fmt!r}")
    raw = {key: _first_text(root, *paths) for key, paths in _PATHS[fmt].items()}
    raw["issue_date"] = (cii_date(raw["issue_date"]) if fmt in ("cii", "zugferd1")
                         else iso_date(raw["issue_date"]))
    raw["payable_amount"] = decimal_text(raw["payable_amount"])
    return {key: raw[key] for key in METADATA_KEYS}


def unit_metadata(fmt: str, root: etree._Element) -> dict[str, str | None]:
    """What intake records of an e-invoice or e-document in format `fmt`: METADATA_KEYS
    (None where absent), its document_class, and the parties' tax numbers and (for an
    e-document) EDOCUMENT_KEYS where it gives them."""
    if fmt in INVOICE_FORMATS:
        return (invoice_metadata(fmt, root) | {"document_class": "invoice"}
                | tax_numbers(fmt, root))
    return edocument_metadata(fmt, root)


def _first_text(node: etree._Element, *paths: str) -> str | None:
    """Stripped text of the first matching element with any text, trying `paths` in order."""
    for path in paths:
        hits = node.xpath(path, namespaces=NS)
        for hit in hits if isinstance(hits, list) else ():
            if isinstance(hit, etree._Element) and (text := _text_of(hit)):
                return text
    return None


_NAME_PART = 35  # e-SLOG 1.6 NazivPartnerja1..4 (EDIFACT 3036): at most 35 characters each


def _text_of(element: etree._Element) -> str | None:
    """The element's stripped text; for one made of parts (e-SLOG 1.6's name in
    NazivPartnerja1..4), the parts joined. A full part was cut where the 35 characters
    ended, mid-word in the GZS samples ('... za prvo vr' + 'stico d.o.o.'), so it goes on
    without a space; after a shorter one, the next part is a new line: a space."""
    parts = [child.text.strip() for child in element
             if isinstance(child.tag, str) and child.text and child.text.strip()]
    if not parts:
        return element.text.strip() if element.text and element.text.strip() else None
    joined = parts[0]
    for before, part in pairwise(parts):
        joined += ("" if len(before) >= _NAME_PART else " ") + part
    return joined


def iso_date(text: str | None) -> str | None:
    """YYYY-MM-DD from xs:date or xs:dateTime (e-SLOG 1.6 writes 2012-04-01T00:00:00.0Z)."""
    if text is None or not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T+\-Z].*)?", text):
        return None
    return _valid_date(text[:10])


def cii_date(text: str | None) -> str | None:
    """YYYY-MM-DD from CII's format 102 (YYYYMMDD)."""
    if text is None or not re.fullmatch(r"\d{8}", text):
        return None
    return _valid_date(f"{text[:4]}-{text[4:6]}-{text[6:]}")


def _valid_date(text: str) -> str | None:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def decimal_text(text: str | None) -> str | None:
    """Two-place decimal string; more places are kept rather than silently rounded.

    Only the xs:decimal lexical form is accepted (Decimal alone would also take "NaN",
    "1_000" or "1e3"); anything else is treated as absent.
    """
    if text is None or not _DECIMAL.fullmatch(text):
        return None
    value = Decimal(text)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -2 and value != value.quantize(_CENT):
        return str(value)
    return str(value.quantize(_CENT))


# --- e-document metadata -----------------------------------------------------------------
# No public e-SLOG 2.0 ORDERS or DESADV schema or sample was found: the paths follow the
# invoice's EDIFACT-derived names (FORMATS.md (a)) and the ORDERS / DESADV D.01B segments,
# checked against our own samples in tests/data/edocuments/. The UBL ones follow the OASIS
# UBL 2.1 document structures (the samples are not validated against its XSDs here). The
# supplier is the "seller" and the customer the "buyer", so that a document routes to a
# tenant as an invoice does (hramba.services.ingest.BUYER_KEYS).

_TAX_KEYS = ("seller_tax_number", "buyer_tax_number")


def _ubl_paths(sellers: tuple[str, ...], buyers: tuple[str, ...],
               **more: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """A UBL document's fields, its parties at `sellers` and `buyers` (paths to a
    cac:Party, tried in order), and `more` fields beside them."""
    def each(parties: tuple[str, ...], *tails: str) -> tuple[str, ...]:
        return tuple(f"/*/{party}/{tail}" for party in parties for tail in tails)

    return {"invoice_number": ("/*/cbc:ID",), "issue_date": ("/*/cbc:IssueDate",),
            "currency": ("/*/cbc:DocumentCurrencyCode",),
            "seller_vat": each(sellers, _PARTY_VAT), "buyer_vat": each(buyers, _PARTY_VAT),
            "seller_tax_number": each(sellers, _PARTY_TAX_NUMBER),
            "buyer_tax_number": each(buyers, _PARTY_TAX_NUMBER),
            "seller_name": each(sellers, *_PARTY_NAMES),
            "buyer_name": each(buyers, *_PARTY_NAMES), **more}


# EDIFACT 3035: SU supplier, else SE seller; BY buyer, else DP the party delivered to.
_ESLOG20_SUPPLIERS, _ESLOG20_CUSTOMERS = ("SU", "SE"), ("BY", "DP")


def _eslog20_paths(message: str, **more: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """An e-SLOG 2.0 message's fields (`message`: the path to M_ORDERS or M_DESADV), as
    in the invoice, and `more` fields beside them."""
    def each(codes: tuple[str, ...], tail: str) -> tuple[str, ...]:
        return tuple(f"{message}e:G_SG2[e:S_NAD/e:D_3035='{code}']/{tail}" for code in codes)

    reference = "e:G_SG3/e:S_RFF/e:C_C506[e:D_1153='{}']/e:D_1154"
    return {"document_type": (message + "e:S_BGM/e:C_C002/e:D_1001",),
            "invoice_number": (message + "e:S_BGM/e:C_C106/e:D_1004",),
            "issue_date": (message + "e:S_DTM/e:C_C507[e:D_2005='137']/e:D_2380",),
            "seller_vat": each(_ESLOG20_SUPPLIERS, reference.format("VA")),
            "buyer_vat": each(_ESLOG20_CUSTOMERS, reference.format("VA")),
            "seller_tax_number": each(_ESLOG20_SUPPLIERS, reference.format("AHP")),
            "buyer_tax_number": each(_ESLOG20_CUSTOMERS, reference.format("AHP")),
            "seller_name": each(_ESLOG20_SUPPLIERS, "e:S_NAD/e:C_C080/e:D_3036"),
            "buyer_name": each(_ESLOG20_CUSTOMERS, "e:S_NAD/e:C_C080/e:D_3036"), **more}


_UBL_SUPPLIER = "cac:SellerSupplierParty/cac:Party"
_UBL_CUSTOMER = "cac:BuyerCustomerParty/cac:Party"
# A despatch or receipt advice names who sends the goods and who receives them; the
# supplier and buyer only optionally.
_UBL_DESPATCHERS = ("cac:DespatchSupplierParty/cac:Party", _UBL_SUPPLIER)
_UBL_RECEIVERS = ("cac:DeliveryCustomerParty/cac:Party", _UBL_CUSTOMER)
_UBL_ORDER_REFERENCE = ("/*/cac:OrderReference/cbc:ID",)
_ESLOG20_ORDER, _ESLOG20_DESADV = "/e:Order/e:M_ORDERS/", "/e:DespatchAdvice/e:M_DESADV/"

_EDOCUMENT_PATHS: dict[str, dict[str, tuple[str, ...]]] = {
    "ubl-order": _ubl_paths(
        (_UBL_SUPPLIER,), (_UBL_CUSTOMER,), document_type=("/*/cbc:OrderTypeCode",),
        payable_amount=("/*/cac:AnticipatedMonetaryTotal/cbc:PayableAmount",)),
    "ubl-order-resp": _ubl_paths(
        (_UBL_SUPPLIER,), (_UBL_CUSTOMER,), order_reference=_UBL_ORDER_REFERENCE,
        response_code=("/*/cbc:OrderResponseCode",),
        payable_amount=("/*/cac:LegalMonetaryTotal/cbc:PayableAmount",)),
    "ubl-despatch": _ubl_paths(
        _UBL_DESPATCHERS, _UBL_RECEIVERS, document_type=("/*/cbc:DespatchAdviceTypeCode",),
        order_reference=_UBL_ORDER_REFERENCE),
    # Not cbc:ReceiptAdviceTypeCode: Peppol fills it from a code list of its own (D, S),
    # not UNTDID 1001; the class's 632 stands instead.
    "ubl-receipt": _ubl_paths(_UBL_DESPATCHERS, _UBL_RECEIVERS,
                              order_reference=_UBL_ORDER_REFERENCE),
    # The sender is the "seller", the receiver the "buyer": routing takes the receiver
    # first, and a budget user both sends and receives responses.
    "ubl-app-response": _ubl_paths(
        ("cac:SenderParty",), ("cac:ReceiverParty",),
        responds_to=("/*/cac:DocumentResponse/cac:DocumentReference/cbc:ID",),
        response_code=("/*/cac:DocumentResponse/cac:Response/cbc:ResponseCode",)),
    # ORDERS: the currency in SG7 CUX as in the invoice; the order's total in the summary
    # MOA, 86 (UNTDID 5025: message total monetary amount).
    "eslog20-order": _eslog20_paths(
        _ESLOG20_ORDER,
        currency=(_ESLOG20_ORDER + "e:G_SG7/e:S_CUX/e:C_C504[e:D_6347='2']/e:D_6345",),
        payable_amount=(_ESLOG20_ORDER + "e:S_MOA/e:C_C516[e:D_5025='86']/e:D_5004",)),
    # DESADV: the order it delivers in SG1 RFF ON (UNTDID 1153: order number, buyer).
    "eslog20-despatch": _eslog20_paths(
        _ESLOG20_DESADV,
        order_reference=(_ESLOG20_DESADV + "e:G_SG1/e:S_RFF/e:C_C506[e:D_1153='ON']"
                                           "/e:D_1154",)),
}


def edocument_metadata(fmt: str, root: etree._Element) -> dict[str, str | None]:
    """The archival fields of an e-document (EDOCUMENT_FORMATS), normalised as an
    invoice's are: METADATA_KEYS (None where absent; the document's number is its
    invoice_number, so that search and the document key treat it alike), document_class,
    and the tax numbers and EDOCUMENT_KEYS where it gives them. Without a type code of
    its own, document_type is the one its class implies (IMPLIED_TYPES)."""
    paths = _EDOCUMENT_PATHS.get(fmt)
    if paths is None:
        raise ValueError(f"not an e-document format: {fmt!r}")
    raw = {key: _first_text(root, *alternatives) for key, alternatives in paths.items()}
    document_class = DOCUMENT_CLASSES[fmt]
    raw["document_type"] = raw.get("document_type") or IMPLIED_TYPES.get(document_class)
    raw["issue_date"] = iso_date(raw["issue_date"])
    raw["payable_amount"] = decimal_text(raw.get("payable_amount"))
    return ({key: raw.get(key) for key in METADATA_KEYS} | {"document_class": document_class}
            | {key: raw[key] for key in (*_TAX_KEYS, *EDOCUMENT_KEYS) if raw.get(key)})


# --- envelope ----------------------------------------------------------------------------

_ENVELOPE_FIELDS = {
    "doc_id": ("doc_data/doc_id",),
    "sender_id": ("sender/sender_identifier",),
    "receiver_id": ("receiver/receiver_identifier",),
    "iban": ("sender/sender_eddress/sender_mailbox", "payment_data/creditor/creditor_account"),
    "payment_reference": ("payment_data/remittance_information/creditor_structured_reference",),
    "due_date": ("payment_data/requested_execution_date",),
    "invoice_number": ("doc_data/external_doc_id",),
    "payable_amount": ("payment_data/amount",),
    "currency": ("payment_data/currency",),
    "receiver_agent": ("receiver/receiver_eddress/receiver_agent",),
    "timestamp": ("doc_data/timestamp",),
}


def envelope_metadata(root: etree._Element) -> dict[str, object]:
    """Fields of a bare `envelope` or a Halcom `package/envelope` (FORMATS.md (c)).

    Attachments are listed by name only; the files travel beside the envelope.
    """
    envelope = _package_envelope(root)
    if envelope is None:
        envelope = root
    if etree.QName(envelope).localname != "envelope":
        raise ValueError(f"not an envelope: {etree.QName(envelope).text}")
    ns = etree.QName(envelope).namespace
    result: dict[str, object] = {key: _env_text(envelope, ns, *paths)
                                 for key, paths in _ENVELOPE_FIELDS.items()}
    result["payable_amount"] = decimal_text(_env_text(envelope, ns, "payment_data/amount"))
    result["attachments"] = [_attachment_entry(entry, ns) for entry in
                             envelope.iterfind(_clark(ns, "attachments/attachment"))]
    return result


def _attachment_entry(entry: etree._Element, ns: str | None) -> dict[str, object]:
    size = _env_text(entry, ns, "size")
    return {
        "filename": _env_text(entry, ns, "filename"),
        "size": int(size) if size is not None and size.isascii() and size.isdigit() else None,
        "type": _env_text(entry, ns, "type"),
        "description": _env_text(entry, ns, "description"),
    }


def _env_text(node: etree._Element, ns: str | None, *paths: str) -> str | None:
    for path in paths:
        text = node.findtext(_clark(ns, path))
        if text is not None and text.strip():
            return text.strip()
    return None


def _clark(ns: str | None, path: str) -> str:
    """Qualify a slash path: inside the Halcom package every element inherits its namespace."""
    return path if ns is None else "/".join(f"{{{ns}}}{step}" for step in path.split("/"))


# --- embedded attachments ----------------------------------------------------------------

_UBL_EMBEDDED = ("//cac:AdditionalDocumentReference/cac:Attachment"
                 "/cbc:EmbeddedDocumentBinaryObject")
_EMBEDDED_PATHS = {  # UBL's e-documents embed files as its invoices do
    "ubl": _UBL_EMBEDDED, "cii": "//ram:AdditionalReferencedDocument/ram:AttachmentBinaryObject",
    **dict.fromkeys((fmt for fmt in EDOCUMENT_FORMATS if fmt.startswith("ubl-")), _UBL_EMBEDDED),
}


def embedded_attachments(fmt: str, root: etree._Element,
                         max_bytes: int = 50 * 1024 * 1024) -> list[Embedded]:
    """Files embedded as base64 in UBL (invoices and e-documents) or CII; other formats
    embed none (FORMATS.md (a), (b)).

    Filenames are returned as the sender wrote them; sanitising is the caller's job.
    """
    path = _EMBEDDED_PATHS.get(fmt)
    if path is None:
        return []
    hits = root.xpath(path, namespaces=NS)
    objects = [hit for hit in hits if isinstance(hit, etree._Element)] \
        if isinstance(hits, list) else []
    return [_embedded(obj, index, max_bytes) for index, obj in enumerate(objects, start=1)]


def _embedded(obj: etree._Element, index: int, max_bytes: int) -> Embedded:
    filename = (obj.get("filename") or "").strip() or f"attachment-{index}.bin"
    mime_code = (obj.get("mimeCode") or "").strip() or None
    text = obj.text or ""
    size = _decoded_size(text)
    if size > max_bytes:
        raise XmlRejected("HRB-I021", f"embedded attachment {filename!r} would be {size} bytes,"
                                      f" over the limit of {max_bytes}")
    try:
        data = _b64decode(text)
    except (binascii.Error, ValueError) as exc:
        raise XmlRejected("HRB-I028", f"embedded attachment {filename!r} is not valid base64:"
                                      f" {exc}") from exc
    return Embedded(filename, mime_code, data)


_B64_PIECE = 4 * 1024 * 1024  # characters decoded at a time: no whole copy of the text


def _compact(text: str) -> Iterator[str]:
    """`text` without its whitespace, in pieces."""
    for at in range(0, len(text), _B64_PIECE):
        yield "".join(text[at:at + _B64_PIECE].split())


def _b64decode(text: str) -> bytes:
    """base64.b64decode(`text` without whitespace, validate=True), a piece at a time
    (a 60 MB attachment as one string and a list of its lines is 200 MB more). Where a
    piece fails, or padding comes before the end, the whole is decoded at once, so that
    an error says what it always said."""
    decoded, carry = io.BytesIO(), ""  # whose getvalue() is no copy
    for piece in _compact(text):
        piece = carry + piece
        cut = len(piece) - len(piece) % 4
        if "=" in piece[:cut - 4]:
            return base64.b64decode("".join(_compact(text)), validate=True)
        try:
            decoded.write(base64.b64decode(piece[:max(cut - 4, 0)], validate=True))
        except binascii.Error:
            return base64.b64decode("".join(_compact(text)), validate=True)
        carry = piece[max(cut - 4, 0):]
    try:
        decoded.write(base64.b64decode(carry, validate=True))
    except binascii.Error:
        return base64.b64decode("".join(_compact(text)), validate=True)
    return decoded.getvalue()


def _decoded_size(text: str) -> int:
    """Bytes that `text` (base64 with whitespace) decodes to, known before decoding
    (RFC 4648 §4)."""
    length, tail = 0, ""
    for piece in _compact(text):
        length, tail = length + len(piece), (tail + piece)[-2:]
    return length * 3 // 4 - len(tail) + len(tail.rstrip("="))


# --- XSD validation ----------------------------------------------------------------------

_VALIDATION_LOCK = threading.Lock()


def xsd_errors(fmt: str, root: etree._Element, xsd_dir: Path) -> list[str]:
    """Schema errors of an e-SLOG invoice, empty when valid; other formats have no XSD here.

    The 2.0 XSD has no code lists, so an empty list says nothing about codes.
    """
    filename = XSD_FILES.get(fmt)
    if filename is None:
        return []
    schema = _schema(xsd_dir.resolve(), filename)
    # One XMLSchema object keeps the last run's error_log: serialise its use.
    with _VALIDATION_LOCK:
        if schema.validate(root.getroottree()):
            return []
        return [f"line {entry.line}: {entry.message}" for entry in schema.error_log]


class _LocalSchemas(etree.Resolver):
    """Answers every schema or DTD load from xsd_dir and never from the network.

    The 1.6 XSD imports its signature schema from a gzs.si URL, spelled eSlog_1-5_...
    while the local copy is eSLOG_1-5_..., hence the case-insensitive match by file name.
    """

    def __init__(self, xsd_dir: Path) -> None:
        super().__init__()
        self.files = {path.name.lower(): path for path in xsd_dir.iterdir() if path.is_file()}
        self.missing: list[str] = []

    def resolve(self, system_url: str | None, public_id: str | None,
                context: object) -> _InputDocument:
        name = (system_url or "").split("?")[0].rsplit("/", 1)[-1].lower()
        local = self.files.get(name)
        if local is None:
            self.missing.append(system_url or public_id or "?")
            return self.resolve_empty(context)
        return self.resolve_filename(str(local), context)


@cache
def _schema(xsd_dir: Path, filename: str) -> etree.XMLSchema:
    """Compiled once per directory and file, not once per document."""
    path = xsd_dir / filename
    if not path.is_file():
        raise ConfigurationError(f"XSD {filename} not found in {xsd_dir}")
    resolver = _LocalSchemas(xsd_dir)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    parser.resolvers.add(resolver)
    try:
        return etree.XMLSchema(etree.parse(str(path), parser))
    except (etree.XMLSchemaParseError, etree.XMLSyntaxError) as exc:
        missing = f"; no local copy of {', '.join(resolver.missing)}" if resolver.missing else ""
        raise ConfigurationError(f"XSD {path} does not compile: {exc}{missing}") from exc


# --- pruned parsing ----------------------------------------------------------------------
# Intake reads a few dozen fields and the embedded files, never an invoice's lines: a
# document parsed for intake keeps only the elements the XPaths above can reach. Each
# XPath becomes steps in a tree of element names, per root element: an element is kept
# when its path from the root follows those steps, when it lies under the last step of a
# path or of a predicate's operand (its text, its children's text and its string value
# are read: kept whole), or when it holds a kept element (a "//" path may match
# anywhere). The rest is dropped as soon as it ends, so the tree never holds more than
# the kept elements and the one line being read. The paths' grammar is narrow (absolute
# or "//" steps, "*" for the root, predicates comparing a relative path or an attribute
# with a literal, possibly under not()): anything else is refused when the steps are built.


@dataclass
class _Step:
    """Where a path can go from one element: the names of the children it may take."""

    children: dict[str, _Step] = field(default_factory=dict)
    whole: bool = False  # the last step of a path or an operand: kept with all it holds

    def add(self, names: list[str]) -> _Step:
        step = self
        for name in names:
            step = step.children.setdefault(name, _Step())
        return step


@dataclass
class _Paths:
    """The steps intake's paths take from one root element: `below` from the root, and
    `anywhere` those that may start at any element ("//")."""

    below: _Step = field(default_factory=_Step)
    anywhere: _Step = field(default_factory=_Step)


_PATH_STEP = re.compile(r"(/{1,2})([^/\[]+)((?:\[[^\]]*\])*)")
_PREDICATE = re.compile(r"\[(?:not\()?([^=\]()]+)='[^']*'\)?\]")


def _qualified(name: str) -> str:
    prefix, colon, local = name.partition(":")
    return f"{{{NS[prefix]}}}{local}" if colon else name


def _add_path(paths: _Paths, root: str, xpath: str) -> None:
    """Add one XPath of a document whose root element is `root` (Clark notation)."""
    steps = _PATH_STEP.findall(xpath)
    if "".join("".join(s) for s in steps) != xpath or "//" in (s[0] for s in steps[1:]):
        raise ValueError(f"an intake path beyond what pruned parsing reads: {xpath!r}")
    anywhere = steps[0][0] == "//"
    if not anywhere and steps[0][1] != "*" and _qualified(steps[0][1]) != root:
        return  # a path of the format's other root (UBL: Invoice, CreditNote)
    step = paths.anywhere if anywhere else paths.below
    for index, (_, name, predicates) in enumerate(steps):
        step = step.add([root if index == 0 and not anywhere else _qualified(name)])
        for operand in _PREDICATE.findall(predicates):
            if not operand.startswith("@"):
                step.add([_qualified(n) for n in operand.split("/")]).whole = True
        if _PREDICATE.sub("", predicates):
            raise ValueError(f"an intake path beyond what pruned parsing reads: {xpath!r}")
    step.whole = True


def _format_paths(fmt: str) -> list[str]:
    """Every XPath intake evaluates on a document of format `fmt`."""
    fields = {**_PATHS.get(fmt, {}), **_EDOCUMENT_PATHS.get(fmt, {})}
    return [*(p for alternatives in fields.values() for p in alternatives),
            *_TAX_PATHS.get(fmt, {}).values(),
            *([_EMBEDDED_PATHS[fmt]] if fmt in _EMBEDDED_PATHS else [])]


@cache
def _intake_paths() -> dict[str, _Paths]:
    """The steps for each root element of an invoice or e-document format."""
    found: dict[str, _Paths] = {}
    for (namespace, local), fmt in _ROOTS.items():
        if fmt in INVOICE_FORMATS + EDOCUMENT_FORMATS:
            root = f"{{{namespace}}}{local}" if namespace else local
            paths = found.setdefault(root, _Paths())
            for xpath in _format_paths(fmt):
                _add_path(paths, root, xpath)
    return found


def _pruned(data: bytes | Path, huge: bool) -> etree._Element:
    """The document's tree without the elements intake never reads (see above)."""
    with _reading(data) as source:
        events = etree.iterparse(source, events=_EVENTS, resolve_entities=False,
                                 no_network=True, load_dtd=False, dtd_validation=False,
                                 huge_tree=huge)
        pruner = _Pruner()
        for event, element in events:
            if event == "start":
                pruner.start(str(element.tag))  # elements only: "start" is for them
            else:
                pruner.end(element)
        return cast(etree._Element, events.root)


_EVENTS: tuple[Literal["start"], Literal["end"]] = ("start", "end")


class _Pruner:
    """Follows the paths through the elements as they start and end. An element off
    every path is dropped when it ends, with all it holds, unless something in it may
    start a "//" path (then it is kept, to be exact rather than small). A root of no
    invoice or e-document format is kept whole: what it is gets reported."""

    def __init__(self) -> None:
        self.paths: _Paths | None = None
        self.at: list[tuple[_Step, ...]] = []  # the steps of each open element on a path
        self.inside = 0  # open elements from the last one that is off every path or whole
        self.whole = self.needed = False

    def start(self, name: str) -> None:
        if self.inside:  # within an invoice line, say: counted, nothing more
            self.inside += 1
            self.needed = self.needed or name in self._anywhere
            return
        if self.paths is None:
            self.paths = _intake_paths().get(name)
            if self.paths is None:
                self.inside, self.whole = 1, True
                return
        at = self.at[-1] if self.at else (self.paths.below,)
        found = tuple(step for step in (*(a.children.get(name) for a in at),
                                        self._anywhere.get(name)) if step is not None)
        if not found or any(step.whole for step in found):
            self.inside, self.whole, self.needed = 1, bool(found), False
        else:
            self.at.append(found)

    def end(self, element: etree._Element) -> None:
        if not self.inside:
            self.at.pop()
            return
        self.inside -= 1
        parent = element.getparent()
        if not (self.inside or self.whole or self.needed) and parent is not None:
            parent.remove(element)  # its tail (whitespace) goes with it: unread

    @property
    def _anywhere(self) -> dict[str, _Step]:
        return self.paths.anywhere.children if self.paths else {}
