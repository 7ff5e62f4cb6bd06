"""PDF intake: hybrid invoices (Factur-X, ZUGFeRD), hostile PDFs, active content, limits.

tests/data/facturx/ holds two public samples (see tests/data/NOTICE); their expected values
were read off the files by hand. tests/data/pdf/ holds hostile PDFs written once by
tests/data/pdf/make_pdfs.py; the small PDFs made here on the fly use its builders.
"""

from __future__ import annotations

import importlib.util
import random
import time
import tracemalloc
import zlib
from pathlib import Path
from types import ModuleType

import pytest
from lxml import etree

from ingest.pdf import (
    ACTIVE_ADDITIONAL,
    ACTIVE_JAVASCRIPT,
    ACTIVE_LAUNCH,
    ACTIVE_OPEN_ACTION,
    ZUGFERD2_NS,
    EmbeddedFile,
    PdfFacts,
    PdfLimits,
    PdfRejected,
    facturx_invoice,
    inspect_pdf,
)

DATA = Path(__file__).parents[1] / "data"
SAMPLES = DATA / "facturx"
HOSTILE = DATA / "pdf"
MiB = 1024 * 1024
RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
FERD = "urn:ferd:CrossIndustryDocument:invoice:1p0"
RAM12 = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:12"


def _load_maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_pdfs", HOSTILE / "make_pdfs.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


mk = _load_maker()


DEFAULT = PdfLimits()


def inspect(name: str, limits: PdfLimits = DEFAULT) -> PdfFacts:
    folder = SAMPLES if (SAMPLES / name).exists() else HOSTILE
    return inspect_pdf((folder / name).read_bytes(), name, limits)


def rejected(data: bytes, limits: PdfLimits = DEFAULT) -> PdfRejected:
    with pytest.raises(PdfRejected) as caught:
        inspect_pdf(data, "x.pdf", limits)
    assert "x.pdf" in str(caught.value)
    return caught.value


# --- the public samples ------------------------------------------------------------------


def test_facturx_sample_gives_its_invoice_xml_and_profile() -> None:
    facts = inspect("MustangBeispiel20221026.pdf")
    assert (facts.encrypted, facts.active) == (False, ())
    assert [(f.name, f.media_type, f.relationship, len(f.data)) for f in facts.embedded] == [
        ("factur-x.xml", "text/xml", "Alternative", 8323)]  # /AF and the name tree: one file
    hybrid = facturx_invoice(facts)
    assert hybrid is not None
    assert (hybrid.filename, hybrid.flavour, hybrid.profile, hybrid.xmp_filename,
            hybrid.mismatches) == ("factur-x.xml", "factur-x", "EN 16931", "factur-x.xml", ())
    root = etree.fromstring(hybrid.data)
    assert root.tag == f"{{{RSM}}}CrossIndustryInvoice"
    assert root.findtext(f"{{{RSM}}}ExchangedDocument/{{{RAM}}}ID") == "RE1001"


def test_zugferd1_sample_in_a_name_tree_with_kids() -> None:
    hybrid = facturx_invoice(inspect("zugferd_invoice.pdf"))
    assert hybrid is not None
    assert (hybrid.filename, hybrid.flavour, hybrid.profile, hybrid.mismatches) == (
        "ZUGFeRD-invoice.xml", "zugferd1", "BASIC", ())
    root = etree.fromstring(hybrid.data)
    assert root.tag == f"{{{FERD}}}CrossIndustryDocument"
    assert root.findtext(f"{{{FERD}}}HeaderExchangedDocument/{{{RAM12}}}ID") == "2014-03"


# --- the hostile files -------------------------------------------------------------------


def test_javascript_open_action_is_active_content() -> None:
    facts = inspect("pdf-javascript.pdf")
    assert facts.active == (ACTIVE_JAVASCRIPT, ACTIVE_OPEN_ACTION)


def test_embedded_bomb_is_refused_quickly_in_bounded_memory() -> None:
    data = (HOSTILE / "pdf-embedded-bomb.pdf").read_bytes()
    assert len(data) < 2 * MiB
    started = time.monotonic()
    tracemalloc.start()
    try:
        with pytest.raises(PdfRejected) as caught:
            inspect_pdf(data, "pdf-embedded-bomb.pdf")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.code == "HRB-I021"
    assert "zeros.bin" in caught.value.reason
    assert "limit for one embedded file" in caught.value.reason
    assert peak < 100 * MiB
    assert time.monotonic() - started < 5


def test_deep_nesting_is_refused_without_recursion_error() -> None:
    started = time.monotonic()
    with pytest.raises(PdfRejected) as caught:
        inspect("pdf-deep-nesting.pdf")
    assert caught.value.code in ("HRB-I030", "HRB-I021")
    assert time.monotonic() - started < 5


def test_encrypted_pdf_is_reported_not_inspected() -> None:
    assert inspect("pdf-encrypted.pdf") == PdfFacts(encrypted=True)


def test_an_unknown_security_handler_is_still_just_encrypted() -> None:
    data = mk.build_pdf([b"<< /Type /Catalog >>", b"<< /Filter /NoSuchHandler /V 9 >>"],
                        trailer=b"/Encrypt 2 0 R")
    assert inspect_pdf(data, "x.pdf") == PdfFacts(encrypted=True)


def test_name_mismatch_is_reported() -> None:
    hybrid = facturx_invoice(inspect("facturx-name-mismatch.pdf"))
    assert hybrid is not None
    assert (hybrid.filename, hybrid.flavour, hybrid.xmp_filename) == (
        "invoice.xml", "factur-x", "factur-x.xml")
    assert hybrid.mismatches == (
        "the XMP metadata names 'factur-x.xml' but the embedded file is 'invoice.xml'",)
    invoice = etree.fromstring(hybrid.data)
    assert invoice.findtext(f"{{{RSM}}}ExchangedDocument/{{{RAM}}}ID") == "HRB-TEST-2026-1"


def test_name_mismatch_the_other_way_round() -> None:
    pdf = mk.hybrid_pdf(mk.CII_INVOICE, "factur-x.xml", mk.xmp_packet("invoice.xml"))
    hybrid = facturx_invoice(inspect_pdf(pdf, "x.pdf"))
    assert hybrid is not None
    assert (hybrid.filename, hybrid.data) == ("factur-x.xml", mk.CII_INVOICE)
    assert len(hybrid.mismatches) == 1


# --- hybrid invoices made here -----------------------------------------------------------

DOCTYPE_XMP = (b'<!DOCTYPE x [<!ENTITY e "EN 16931">]><rdf:Description xmlns:rdf='
               b'"http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:fx="'
               + mk.FACTURX_NS.encode() + b'"><fx:ConformanceLevel>&e;</fx:ConformanceLevel>'
               b"<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName></rdf:Description>")


@pytest.mark.parametrize(("filename", "namespace", "flavour"), [
    ("factur-x.xml", mk.FACTURX_NS, "factur-x"),
    ("xrechnung.xml", mk.FACTURX_NS, "xrechnung"),
    ("zugferd-invoice.xml", ZUGFERD2_NS, "zugferd2"),
    ("ZUGFeRD-invoice.xml", "urn:ferd:pdfa:CrossIndustryDocument:invoice:1p0#", "zugferd1"),
])
def test_flavour_by_file_name(filename: str, namespace: str, flavour: str) -> None:
    pdf = mk.hybrid_pdf(mk.CII_INVOICE, filename, mk.xmp_packet(filename, "BASIC", namespace))
    hybrid = facturx_invoice(inspect_pdf(pdf, "x.pdf"))
    assert hybrid is not None
    assert (hybrid.flavour, hybrid.profile, hybrid.mismatches) == (flavour, "BASIC", ())


def test_xmp_schema_written_as_attributes() -> None:
    xmp = mk.xmp_packet("factur-x.xml", "EXTENDED", attributes=True)
    hybrid = facturx_invoice(inspect_pdf(mk.hybrid_pdf(mk.CII_INVOICE, "factur-x.xml", xmp),
                                         "x.pdf"))
    assert hybrid is not None
    assert (hybrid.profile, hybrid.xmp_filename, hybrid.mismatches) == (
        "EXTENDED", "factur-x.xml", ())


@pytest.mark.parametrize(("xmp", "problem"), [
    (None, "no XMP metadata"),
    (mk.xmp_packet(None), "names no invoice file"),
    (b"<x:xmpmeta", "not well-formed"),
    (DOCTYPE_XMP, "DOCTYPE"),
])
def test_xmp_that_names_no_file(xmp: bytes | None, problem: str) -> None:
    hybrid = facturx_invoice(inspect_pdf(mk.hybrid_pdf(mk.CII_INVOICE, "factur-x.xml", xmp),
                                         "x.pdf"))
    assert hybrid is not None
    assert (hybrid.filename, hybrid.xmp_filename) == ("factur-x.xml", None)
    (mismatch,) = hybrid.mismatches
    assert problem in mismatch


def test_xmp_with_a_doctype_is_not_read() -> None:
    hybrid = facturx_invoice(inspect_pdf(mk.hybrid_pdf(mk.CII_INVOICE, "factur-x.xml",
                                                       DOCTYPE_XMP), "x.pdf"))
    assert hybrid is not None
    assert hybrid.profile is None  # the entity was neither expanded nor read


def test_order_x_and_plain_attachments_are_not_invoices() -> None:
    order = mk.hybrid_pdf(b"<order/>", "order-x.xml",
                          mk.xmp_packet("order-x.xml", namespace="urn:factur-x:pdfa:"
                                        "CrossIndustryDocument:1p0#"))
    assert facturx_invoice(inspect_pdf(order, "x.pdf")) is None
    plain = mk.hybrid_pdf(b"<notes/>", "notes.xml", None)
    assert facturx_invoice(inspect_pdf(plain, "x.pdf")) is None
    assert facturx_invoice(PdfFacts(encrypted=True)) is None


# --- active content ----------------------------------------------------------------------

LAUNCH = b"<< /S /Launch /F (calc.exe) >>"
JS = b"<< /S /JavaScript /JS (1;) >>"


@pytest.mark.parametrize(("catalog", "objects", "page", "active"), [
    (b"", (), b"/Annots [<< /Subtype /Link /Rect [0 0 9 9] /A %s >>]" % LAUNCH,
     (ACTIVE_LAUNCH,)),
    (b"", (), b"/AA << /O %s >>" % JS, (ACTIVE_JAVASCRIPT, ACTIVE_ADDITIONAL)),
    (b"/AA << /WC 4 0 R >>", (LAUNCH,), b"", (ACTIVE_LAUNCH, ACTIVE_ADDITIONAL)),
    (b"/Names << /JavaScript << /Names [(init) 4 0 R] >> >>", (JS,), b"",
     (ACTIVE_JAVASCRIPT,)),
    (b"/OpenAction << /S /GoTo /D [3 0 R /Fit] /Next [<< /S /GoTo /D [3 0 R /Fit] >> %s] >>"
     % JS, (), b"", (ACTIVE_JAVASCRIPT,)),
    (b"/OpenAction [3 0 R /Fit]", (), b"", ()),  # a destination: no action at all
    (b"/OpenAction << /S /URI /URI (https://example.com/) >>", (), b"", (ACTIVE_OPEN_ACTION,)),
    (b"", (), b"/Annots [<< /Subtype /Link /A << /S /URI /URI (https://x.invalid/) >> >>]", ()),
])
def test_active_content(catalog: bytes, objects: tuple[bytes, ...], page: bytes,
                        active: tuple[str, ...]) -> None:
    assert inspect_pdf(mk.document(catalog, objects, page), "x.pdf").active == active


def test_file_attachment_annotation_is_an_embedded_file() -> None:
    page = b"/Annots [<< /Subtype /FileAttachment /Rect [0 0 9 9] /FS 4 0 R >>]"
    pdf = mk.document(b"", (mk.filespec("run.sh", 5, b"/Unspecified"),
                            mk.embedded_stream(b"#!/bin/sh\n", media_type=b"/text#2Fx-sh",
                                               deflate=False)), page)
    assert inspect_pdf(pdf, "x.pdf").embedded == (
        EmbeddedFile("run.sh", b"#!/bin/sh\n", "text/x-sh", "Unspecified"),)


# --- cycles, depth and limits ------------------------------------------------------------


def test_cycles_in_name_and_page_trees_end() -> None:
    pdf = mk.build_pdf([
        b"<< /Type /Catalog /Pages 2 0 R /Names << /EmbeddedFiles 3 0 R >> >>",
        b"<< /Type /Pages /Kids [2 0 R 4 0 R] /Count 1 >>",
        b"<< /Kids [3 0 R] /Names [(a.txt) 5 0 R] >>",
        b"<< /Type /Page /Parent 2 0 R /AA << /O 7 0 R >> >>",
        mk.filespec("a.txt", 6), mk.embedded_stream(b"a"),
        b"<< /S /GoTo /D [4 0 R /Fit] /Next 7 0 R >>",
    ])
    facts = inspect_pdf(pdf, "x.pdf")
    assert [f.name for f in facts.embedded] == ["a.txt"]
    assert facts.active == (ACTIVE_ADDITIONAL,)


def deep_name_tree(levels: int) -> bytes:
    kids = [b"<< /Kids [%d 0 R] >>" % (number + 1) for number in range(3, levels + 2)]
    return mk.build_pdf([b"<< /Type /Catalog /Names << /EmbeddedFiles 2 0 R >> >>",
                         b"<< /Kids [3 0 R] >>", *kids, b"<< /Names [] >>"])


def test_a_name_tree_deeper_than_the_limit_is_refused() -> None:
    assert inspect_pdf(deep_name_tree(20), "x.pdf").embedded == ()
    error = rejected(deep_name_tree(20), PdfLimits(max_depth=30))
    assert error.code == "HRB-I030"
    assert "deeper than 30 levels" in error.reason


def test_nesting_that_pyhanko_reads_still_meets_our_depth_limit() -> None:
    error = rejected(deep_name_tree(200))
    assert error.code == "HRB-I030"
    assert "deeper than 100 levels" in error.reason


def two_files(first: bytes, second: bytes, *, deflate: bool = True) -> bytes:
    return mk.document(
        b"/Names << /EmbeddedFiles << /Names [(a) 4 0 R (b) 6 0 R] >> >>",
        (mk.filespec("a.xml", 5), mk.embedded_stream(first, deflate=deflate),
         mk.filespec("b.xml", 7), mk.embedded_stream(second, deflate=deflate)))


@pytest.mark.parametrize(("pdf", "limits", "reason"), [
    (two_files(b"a" * 600, b"b"), PdfLimits(max_embedded_bytes=500),
     "'a.xml' is larger than 500 bytes"),
    (two_files(b"a" * 600, b"b" * 600), PdfLimits(max_embedded_total=1000),
     "'b.xml' brings the embedded files over 1000 bytes"),
    (two_files(b"a" * 600, b"b", deflate=False), PdfLimits(max_embedded_bytes=500),
     "'a.xml' is larger than 500 bytes"),
    (two_files(bytes(2 * MiB), b"b"), PdfLimits(), "'a.xml' inflates more than 100 times"),
    (mk.hybrid_pdf(b"<a/>", "a.xml", b" " * 5000), PdfLimits(max_xmp_bytes=4096),
     "XMP metadata is larger than 4096 bytes"),
    (mk.document(), PdfLimits(max_objects=2), "more than 2 objects"),
    (mk.document(page=b"/Annots [%s]" % (b"<< /Subtype /Text >>" * 30)),
     PdfLimits(max_objects=20), "more than 20 objects to walk"),
])
def test_limits(pdf: bytes, limits: PdfLimits, reason: str) -> None:
    error = rejected(pdf, limits)
    assert error.code == "HRB-I021"
    assert reason in error.reason


def test_limits_hold_just_at_the_limit() -> None:
    facts = inspect_pdf(two_files(b"a" * 500, b"b" * 500),
                        "x.pdf", PdfLimits(max_embedded_bytes=500, max_embedded_total=1000))
    assert [len(f.data) for f in facts.embedded] == [500, 500]


@pytest.mark.parametrize("field", ["max_objects", "max_depth", "max_embedded_total",
                                   "max_embedded_bytes", "max_ratio", "max_xmp_bytes"])
def test_limits_must_be_positive(field: str) -> None:
    with pytest.raises(ValueError, match="positive"):
        PdfLimits(**{field: 0})


# --- unreadable input --------------------------------------------------------------------


def embedded_with(entries: bytes, data: bytes) -> bytes:
    return mk.document(b"/Names << /EmbeddedFiles << /Names [(a) 4 0 R] >> >>",
                       (mk.filespec("a.xml", 5), mk.stream(b"/Type /EmbeddedFile " + entries,
                                                           data)))


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "not a readable PDF"),
    (b"<html>not a PDF</html>", "not a readable PDF"),
    ((SAMPLES / "MustangBeispiel20221026.pdf").read_bytes()[:4000], "not a readable PDF"),
    (embedded_with(b"/Filter /LZWDecode", b"\x80\x0b\x60\x50"), "/LZWDecode"),
    (embedded_with(b"/Filter [/ASCIIHexDecode /FlateDecode]", b"00>"), "/ASCIIHexDecode"),
    (embedded_with(b"/Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 4 >>",
                   zlib.compress(b"\x00abcd")), "parameters"),
    (embedded_with(b"/Filter /FlateDecode", b"this is not deflate"), "damaged deflate"),
    (mk.document(b"/Names << /EmbeddedFiles << /Names [(a) << /EF << /F 4 0 R >> >>] >> >>",
                 (b"<< /Not /AStream >>",)), "'a' is not a stream"),
    (mk.build_pdf([b"[1 2 3]"]), "no document catalog"),
])
def test_unreadable_pdfs_are_refused_with_the_file_name(data: bytes, reason: str) -> None:
    error = rejected(data)
    assert error.code == "HRB-I030"
    assert reason in error.reason


def garbled(original: bytes, count: int, seed: int) -> list[bytes]:
    """Truncations, flipped bytes, cut-out and repeated stretches of `original`."""
    rng = random.Random(seed)
    variants = [original[:cut] for cut in range(0, len(original), len(original) // 20)]
    variants += [original[-cut:] for cut in (10, 100, 1000, 5000)]
    for _ in range(count):
        data = bytearray(original)
        at = rng.randrange(len(data))
        kind = rng.randrange(3)
        if kind == 0:
            for spot in rng.sample(range(len(data)), 8):
                data[spot] = rng.randrange(256)
        elif kind == 1:
            del data[at:at + rng.randrange(1, 2000)]
        else:
            data[at:at] = data[at:at + rng.randrange(1, 500)] * rng.randrange(2, 50)
        variants.append(bytes(data))
    return variants


@pytest.mark.parametrize("name", ["MustangBeispiel20221026.pdf", "zugferd_invoice.pdf",
                                  "pdf-javascript.pdf", "facturx-name-mismatch.pdf",
                                  "pdf-encrypted.pdf"])
def test_garbled_pdfs_are_read_or_refused_never_raise_anything_else(name: str) -> None:
    folder = SAMPLES if (SAMPLES / name).exists() else HOSTILE
    outcomes: list[str] = []
    for data in garbled((folder / name).read_bytes(), 150, seed=len(name)):
        try:
            facts = inspect_pdf(data, name)
        except PdfRejected as exc:
            outcomes.append(f"{exc.code} {name in str(exc)}")
        else:
            facturx_invoice(facts)  # must not raise either
            outcomes.append("read")
    assert set(outcomes) <= {"read", "HRB-I030 True", "HRB-I021 True"}, set(outcomes)
    assert "read" in outcomes
    assert "HRB-I030 True" in outcomes
