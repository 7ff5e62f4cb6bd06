"""Signatures checked at capture: XAdES in e-SLOG invoices, PAdES in PDFs, against a
certomancer PKI whose OCSP responder and CRLs answer on loopback (plugins/signing.py)."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import keys, ocsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from plugins.signing import SigningPki, TestSigner
from plugins.tsa import DocumentSigner, TsaServer
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.writer import PageObject, PdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko_certvalidator.registry import SimpleCertificateStore
from signxml import SignatureConstructionMethod
from signxml.xades import XAdESSigner

from hramba.core.errors import ConfigurationError, RejectedInput
from hramba.core.types import FixedClock, SystemClock
from hramba.services import archive as archive_service
from hramba.services.context import Archive
from hramba.services.corpus import invoice
from hramba.services.ingest import ingest_directory
from hramba.services.signatures import SignatureRules
from hramba.services.units import get_unit, show_unit
from hramba.trust.certs import load_certificates, to_pem
from hramba.trust.pdf import PadesPdfSigner, SigningKey
from hramba.trust.signatures import (
    SignatureCheck,
    SignatureContext,
    check_pdf_signatures,
    check_xml_signatures,
)
from hramba.trust.tsa import Rfc3161Timestamper

pytestmark = pytest.mark.tsa  # certomancer serves the PKI, as for the TSA tests

DS = "http://www.w3.org/2000/09/xmldsig#"
CONTENT = b"BT /F1 12 Tf 72 720 Td (Invoice 2026-000001, total 122.00 EUR) Tj ET"


@pytest.fixture(scope="module")
def unsigned_invoice() -> bytes:
    return invoice(1, random.Random(7), ("Občina Primer", "SI21423512"), 3000, 4000)


def _context(pki: SigningPki, fetch: bool = True) -> SignatureContext:
    return SignatureContext(trust_roots=(pki.root,), moment=datetime.now(UTC),
                            fetch_revocation=fetch)


def _sign_xml(document: bytes, signer: TestSigner) -> bytes:
    """An enveloped XAdES-BES signature over #data (M_INVOIC), beside it, as e-SLOG has."""
    key = serialization.load_pem_private_key(signer.key_pem, None)
    chain = [cx509.load_der_x509_certificate(der) for der in signer.chain[:-1]]
    signed = XAdESSigner(method=SignatureConstructionMethod.enveloped).sign(
        etree.fromstring(document), key=key, cert=chain, reference_uri="#data")
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


@pytest.fixture(scope="module")
def signed_invoice(signing_pki: SigningPki, unsigned_invoice: bytes) -> bytes:
    return _sign_xml(unsigned_invoice, signing_pki.signers["signer"])


def _one(checks: list[SignatureCheck]) -> SignatureCheck:
    assert len(checks) == 1, checks
    return checks[0]


def _ocsp_statuses(check: SignatureCheck) -> set[str]:
    """The certificate statuses the OCSP responses among the check's revocation data give."""
    statuses: set[str] = set()
    for der in check.revocation:
        try:
            response = ocsp.OCSPResponse.load(der)
            data = response.basic_ocsp_response["tbs_response_data"]
        except (ValueError, TypeError, KeyError):
            continue  # a CRL
        statuses.update(single["cert_status"].name for single in data["responses"])
    return statuses


# --- XAdES ---------------------------------------------------------------------------

def test_a_signed_invoice_is_valid_and_keeps_its_path_and_revocation_data(
        signing_pki: SigningPki, signed_invoice: bytes) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)
    check = _one(check_xml_signatures(signed_invoice, _context(signing_pki)))

    assert (check.kind, check.status) == ("xades", "valid"), check.reason
    assert check.signer is not None
    assert "Dobavitelj d.o.o." in check.signer
    assert check.certificates == signing_pki.signers["signer"].chain  # signer .. root
    assert "good" in _ocsp_statuses(check)
    assert check.signed_at is not None
    assert before <= check.signed_at <= datetime.now(UTC)


def test_one_changed_character_of_the_signed_content_is_invalid(
        signing_pki: SigningPki, signed_invoice: bytes) -> None:
    tampered = signed_invoice.replace(b"<D_1004>2026-000001<", b"<D_1004>2026-000007<")
    assert tampered != signed_invoice

    check = _one(check_xml_signatures(tampered, _context(signing_pki)))

    assert check.status == "invalid"
    assert "digest of the signed content does not match" in check.reason


def _flip_after(data: bytes, marker: bytes) -> bytes:
    """`data` with the character just after `marker` replaced by another of its kind."""
    at = data.index(marker) + len(marker)
    old = data[at:at + 1]
    if old.isdigit():
        return data[:at] + str((int(old) + 1) % 10).encode() + data[at + 1:]
    return data[:at] + (b"C" if old == b"B" else b"B") + data[at + 1:]


@pytest.mark.parametrize(("marker", "reason"), [
    (b"<ds:SignatureValue>", "signature value does not verify"),
    (b'<xades:QualifyingProperties Target="#', "qualify another signature"),
    (b"<xades:SigningTime>2", "digest of the signed content does not match"),
])
def test_a_changed_signature_is_invalid(signing_pki: SigningPki, signed_invoice: bytes,
                                        marker: bytes, reason: str) -> None:
    check = _one(check_xml_signatures(_flip_after(signed_invoice, marker),
                                      _context(signing_pki)))

    assert check.status == "invalid"
    assert reason in check.reason


def test_content_outside_the_signed_references_is_invalid(
        signing_pki: SigningPki, signed_invoice: bytes) -> None:
    root = etree.fromstring(signed_invoice)
    extra = etree.Element("{urn:eslog:2.00}Note")
    extra.text = "Pay to another account: SI56 0000 0000 0000 000"
    root.insert(0, extra)

    check = _one(check_xml_signatures(etree.tostring(root), _context(signing_pki)))

    assert check.status == "invalid"
    assert "does not cover <Note>" in check.reason


def test_a_signer_outside_the_trust_roots_is_not_valid_and_is_named(
        signing_pki: SigningPki, unsigned_invoice: bytes) -> None:
    signed = _sign_xml(unsigned_invoice, signing_pki.signers["rogue-signer"])

    check = _one(check_xml_signatures(signed, _context(signing_pki)))

    assert check.status in ("indeterminate", "invalid")
    assert "no trusted root for CN=Untrusted Signer" in check.reason


def test_a_revoked_signer_is_not_valid_and_the_answer_is_kept(
        signing_pki: SigningPki, unsigned_invoice: bytes) -> None:
    signed = _sign_xml(unsigned_invoice, signing_pki.signers["signer-revoked"])

    check = _one(check_xml_signatures(signed, _context(signing_pki)))

    assert check.status in ("indeterminate", "invalid")
    assert "revoked" in check.reason
    assert "key compromise" in check.reason
    assert "revoked" in _ocsp_statuses(check)


def test_the_moment_of_capture_decides_revocation(signing_pki: SigningPki,
                                                 unsigned_invoice: bytes) -> None:
    # revoked a day before the real now: captured two days ago, it was good then
    signed = _sign_xml(unsigned_invoice, signing_pki.signers["signer-revoked"])
    then = SignatureContext((signing_pki.root,), datetime.now(UTC) - timedelta(days=2),
                            fetch_revocation=True)

    check = _one(check_xml_signatures(signed, then))

    assert check.status == "valid", check.reason
    assert "revoked" in _ocsp_statuses(check)  # since after that moment, as it says


def test_without_revocation_data_the_status_is_unknown(
        signing_pki: SigningPki, signed_invoice: bytes) -> None:
    check = _one(check_xml_signatures(signed_invoice, _context(signing_pki, fetch=False)))

    assert check.status == "indeterminate"
    assert "revocation status unknown" in check.reason
    assert check.revocation == ()


def test_each_of_two_signatures_is_judged_on_its_own(
        signing_pki: SigningPki, signed_invoice: bytes) -> None:
    # signxml verifies the first ds:Signature it finds unless told which one
    twice = _sign_xml(signed_invoice, signing_pki.signers["rogue-signer"])

    first, second = check_xml_signatures(twice, _context(signing_pki))

    assert first.status == "valid", first.reason
    assert second.status == "indeterminate"
    assert "Untrusted Signer" in second.reason


def test_a_bogus_signature_is_invalid_with_a_reason(
        signing_pki: SigningPki, unsigned_invoice: bytes) -> None:
    bogus = unsigned_invoice.replace(
        b"</Invoice>", f'<ds:Signature xmlns:ds="{DS}">garbage</ds:Signature></Invoice>'.encode())

    check = _one(check_xml_signatures(bogus, _context(signing_pki)))

    assert check.status == "invalid"
    assert check.reason


def test_a_document_without_signature_has_no_checks(
        signing_pki: SigningPki, unsigned_invoice: bytes) -> None:
    assert check_xml_signatures(unsigned_invoice, _context(signing_pki)) == []


@pytest.mark.parametrize("data", [
    b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY e "x">]><r>&e;</r>',
    b"%PDF-1.7 not xml",
])
def test_xml_with_a_doctype_or_no_xml_at_all_is_rejected(signing_pki: SigningPki,
                                                         data: bytes) -> None:
    with pytest.raises(RejectedInput):
        check_xml_signatures(data, _context(signing_pki))


def test_the_moment_must_carry_its_time_zone(signing_pki: SigningPki) -> None:
    with pytest.raises(ConfigurationError, match="tz-aware"):
        SignatureContext((signing_pki.root,), datetime(2026, 3, 5, 10, 30))


# --- PAdES ---------------------------------------------------------------------------

def _pdf() -> bytes:
    """One page whose content stream is not compressed, so a test can change its text."""
    writer = PdfFileWriter()
    font = writer.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Font"),
        generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
        generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica")}))
    resources = generic.DictionaryObject({generic.NameObject("/Font"): generic.DictionaryObject(
        {generic.NameObject("/F1"): font})})
    content = writer.add_object(generic.StreamObject(stream_data=CONTENT))
    writer.insert_page(PageObject(content, (0, 0, 595, 842), resources))
    out = BytesIO()
    writer.write(out)
    return out.getvalue()


def _sign_pdf(pdf: bytes, signer: TestSigner) -> bytes:
    chain = [x509.Certificate.load(der) for der in signer.chain]
    key = serialization.load_pem_private_key(signer.key_pem, None)
    simple = signers.SimpleSigner(
        signing_cert=chain[0], cert_registry=SimpleCertificateStore.from_certs(chain),
        signing_key=keys.PrivateKeyInfo.load(key.private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption())))
    meta = signers.PdfSignatureMetadata(field_name="Signature1", md_algorithm="sha256",
                                        subfilter=fields.SigSeedSubFilter.PADES)
    out = signers.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf)), meta, signer=simple)
    return bytes(out.getvalue())


@pytest.fixture(scope="module")
def signed_pdf(signing_pki: SigningPki) -> bytes:
    return _sign_pdf(_pdf(), signing_pki.signers["signer"])


def test_a_signed_pdf_is_valid_and_keeps_its_path_and_revocation_data(
        signing_pki: SigningPki, signed_pdf: bytes) -> None:
    check = _one(check_pdf_signatures(signed_pdf, _context(signing_pki)))

    assert (check.kind, check.status, check.label) == ("pades", "valid", "Signature1"), \
        check.reason
    assert check.signer is not None
    assert "Dobavitelj d.o.o." in check.signer
    assert check.certificates == signing_pki.signers["signer"].chain
    assert "good" in _ocsp_statuses(check)
    assert check.signed_at is not None


def test_a_pdf_changed_after_signing_is_invalid(signing_pki: SigningPki,
                                                signed_pdf: bytes) -> None:
    tampered = signed_pdf.replace(b"total 122.00 EUR", b"total 922.00 EUR")
    assert tampered != signed_pdf

    check = _one(check_pdf_signatures(tampered, _context(signing_pki)))

    assert check.status == "invalid"
    assert "digest of the signed content does not match" in check.reason


def test_a_pdf_whose_page_is_replaced_in_a_later_revision_is_invalid(
        signing_pki: SigningPki, signed_pdf: bytes) -> None:
    writer = IncrementalPdfFileWriter(BytesIO(signed_pdf))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page[generic.NameObject("/Contents")] = writer.add_object(generic.StreamObject(
        stream_data=CONTENT.replace(b"122.00", b"922.00")))
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)

    check = _one(check_pdf_signatures(out.getvalue(), _context(signing_pki)))

    assert check.status == "invalid"
    assert "modified after signing" in check.reason


def test_a_pdf_by_a_revoked_signer_is_not_valid(signing_pki: SigningPki) -> None:
    signed = _sign_pdf(_pdf(), signing_pki.signers["signer-revoked"])

    check = _one(check_pdf_signatures(signed, _context(signing_pki)))

    assert check.status in ("indeterminate", "invalid")
    assert "revoked" in check.reason


def test_a_pdf_the_archive_signed_is_valid_with_the_time_of_its_timestamp(
        tsa_server: TsaServer, document_signer: DocumentSigner) -> None:
    # PAdES B-LTA: the DSS and the document timestamp come after the signature
    anchors = load_certificates(tsa_server.trust_anchor, "anchor")
    signer = PadesPdfSigner(SigningKey(document_signer.key, document_signer.certificate),
                            Rfc3161Timestamper(tsa_server.url), anchors, SystemClock())
    signed = signer.sign(_pdf())
    context = SignatureContext(tuple(a.dump() for a in anchors), datetime.now(UTC),
                               fetch_revocation=False)  # the DSS carries what is needed

    check = _one(check_pdf_signatures(signed, context))

    assert check.status == "valid", check.reason
    assert "only validation data added after signing" in check.reason
    assert check.signed_at is not None
    assert check.revocation


def test_an_unsigned_pdf_has_no_checks(signing_pki: SigningPki) -> None:
    assert check_pdf_signatures(_pdf(), _context(signing_pki)) == []


def test_bytes_that_are_no_pdf_are_rejected(signing_pki: SigningPki,
                                            unsigned_invoice: bytes) -> None:
    with pytest.raises(RejectedInput):
        check_pdf_signatures(unsigned_invoice, _context(signing_pki))


# --- at capture, through intake -----------------------------------------------------------


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_intake_records_each_signatures_verdict_and_keeps_what_it_rests_on(
        archive: Archive, signing_pki: SigningPki, signed_invoice: bytes,
        unsigned_invoice: bytes, tmp_path: Path) -> None:
    roots = tmp_path / "roots.pem"
    roots.write_text(to_pem([x509.Certificate.load(signing_pki.root)]))
    archive.signature_roots, archive.fetch_revocation = roots, True
    bogus = unsigned_invoice.replace(b"</M_INVOIC>", f"</M_INVOIC><ds:Signature xmlns:ds="
                                     f"'{DS}'>garbage</ds:Signature>".encode())
    bogus = bogus.replace(b"<D_1004>", b"<D_1004>B")  # another document
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "a-signed.xml").write_bytes(signed_invoice)
    (inbox / "b-bogus.xml").write_bytes(bogus)
    signed, faked = ingest_directory(archive, inbox, "OBCINA1")
    assert (signed.codes, faked.codes) == (["HRB-V001"], ["HRB-V002"])
    unit = show_unit(archive, str(signed.unit_id))
    assert unit["findings"][0]["detail"].startswith(
        "a-signed.xml: XADES signature of CN=")
    assert [f["role"] for f in unit["files"]] == ["invoice", "validation", "manifest"]
    out = tmp_path / "out"
    get_unit(archive, str(signed.unit_id), out)
    record = json.loads((out / "signature-validation.json").read_text())
    (check,) = record["signatures"]
    assert (check["file"], check["status"], len(check["certificates"])) == (
        "a-signed.xml", "valid", 3)
    assert check["revocation"]  # the OCSP answer of that moment
    (twice,) = [r for r in ingest_directory(archive, inbox, "OBCINA1")
                if r.path == "a-signed.xml"]
    assert (twice.outcome, twice.unit_id) == ("duplicate", signed.unit_id)  # checked anew,
    # the verdict is the moment's, the document the same


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_trust_roots_from_a_folder_and_a_missing_one_named(
        archive: Archive, signing_pki: SigningPki, tmp_path: Path) -> None:
    folder = tmp_path / "roots"
    folder.mkdir()
    (folder / "root.cer").write_bytes(signing_pki.root)  # DER
    (folder / "README").write_text("not a certificate, and not read")
    archive.signature_roots = folder
    assert SignatureRules.of(archive).roots == (signing_pki.root,)
    archive.signature_roots = tmp_path / "absent.pem"
    with pytest.raises(ConfigurationError, match=r"signatures\.trust_roots .*absent\.pem"):
        SignatureRules.of(archive)


@pytest.mark.parametrize("profile_settings", ["sqlite-localfs"], indirect=True)
def test_a_rerun_after_a_crash_keeps_the_first_captures_validation_record(
        archive: Archive, signing_pki: SigningPki, signed_invoice: bytes, clock: FixedClock,
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Objects stored, the commit never reached; an hour later the same file again: the
    unit is the one the first run stored, its validation record of that moment."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    (inbox / "signed.xml").write_bytes(signed_invoice)

    def crash(*_: object) -> None:
        raise KeyboardInterrupt("killed before the commit")

    with monkeypatch.context() as patch:
        patch.setattr(archive_service, "_commit", crash)
        with pytest.raises(KeyboardInterrupt):
            list(ingest_directory(archive, inbox, "OBCINA1"))
    first_check = clock.now().isoformat()
    clock.at += timedelta(hours=1)
    (result,) = ingest_directory(archive, inbox, "OBCINA1")
    assert result.outcome == "archived"
    out = tmp_path / "out"
    get_unit(archive, str(result.unit_id), out)
    assert json.loads((out / "signature-validation.json").read_text())[
        "checked_at"] == first_check
