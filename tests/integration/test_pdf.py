"""Signed PDF documents: rendered with Slovenian text and tables that span pages, signed
(PAdES B-LTA) with the development key and TSA or with a configured key and a TSA over
HTTP, and judged by pyHanko's validator offline, with only what the PDF carries."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

import pytest
from asn1crypto import x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from plugins.cli import Cli, clean_env
from plugins.services import free_port, missing
from plugins.tsa import DocumentSigner, TsaServer
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature, validate_pdf_timestamp
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.status import PdfSignatureStatus
from pyhanko_certvalidator import ValidationContext

from hramba.config import load_settings
from hramba.core.errors import ConfigurationError, ServiceUnavailable
from hramba.core.types import FixedClock, SystemClock
from hramba.domain.document import (
    Attachment,
    Column,
    Fields,
    Heading,
    Paragraph,
    PdfDocument,
    Table,
)
from hramba.services.context import Archive, Sealing
from hramba.trust.certs import load_certificates
from hramba.trust.devsigning import NOT_QUALIFIED, DevSigningFiles, create_dev_signing
from hramba.trust.devtsa import (
    DevTimestamper,
    certificate_builder,
    create_dev_tsa,
    dev_ca,
    dev_name,
    key_usage,
    write_private_key,
)
from hramba.trust.pdf import MARGIN, WIDTH, PadesPdfSigner, SigningKey, render
from hramba.trust.report import Trust
from hramba.trust.tsa import Rfc3161Timestamper
from hramba.wiring import build_signing, describe_signing

from .test_seal import Counting, http_sealing

SLOVENIAN = "Črke: č š ž Č Š Ž đ Đ ć Ć"
ROWS = 120  # the table runs over four pages
NOW = datetime.now(UTC)
LONG = "Čistilnica Šumenjak, družba za čiščenje in vzdrževanje d.o.o., Žalec " * 3


def summary(rows: int = ROWS) -> PdfDocument:
    """An export summary as #12 will make it; the rows come from a generator, read once."""
    units = ((f"u-{i:06d}", f"2025-{i % 12 + 1:02d}-15", f"Račun št. {i}",
              LONG if i % 10 == 3 else f"Občina Šentjur {i}", f"{i * 1234.5:,.2f}", "EUR")
             for i in range(rows))
    return PdfDocument("Povzetek izvoza 42 — Občina Primer", [
        Fields([("Zahtevek", "42"), ("Zahteval", "ana.novak (proračunski uporabnik)"),
                ("Razlog", "Revizija Računskega sodišča za leto 2025")]),
        Heading("Merila"),
        Paragraph(f"Obdobje 1. 1. 2025 – 31. 12. 2025. {SLOVENIAN}."),
        Table([Column("Enota", 1.2), Column("Datum", 1), Column("Številka", 1.2),
               Column("Nasprotna stranka", 3), Column("Znesek", 1.2, "right"),
               Column("Valuta", 0.6)], units),
        Paragraph(f"Skupaj: {rows} enot."),
    ])


@pytest.fixture
def poppler() -> None:
    if not all(shutil.which(tool) for tool in ("pdftotext", "pdftoppm", "pdfdetach")):
        missing("poppler-utils (pdftotext, pdftoppm, pdfdetach) is not installed")


def pdftotext(pdf: Path, *args: str) -> str:
    return subprocess.run(["pdftotext", *args, str(pdf), "-"], check=True,
                          capture_output=True, text=True).stdout


def test_slovenian_text_and_a_table_over_pages_read_back(poppler: None, tmp_path: Path) -> None:
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(render(summary()))
    pages = pdftotext(pdf, "-layout").split("\f")[:-1]
    total = len(pages)
    assert total >= 3
    assert "Povzetek izvoza 42 — Občina Primer" in pages[0]
    assert SLOVENIAN in pages[0]  # drawn and extracted as the letters they are
    for number, page in enumerate(pages, 1):
        assert re.search(r"Enota\s+Datum\s+Številka\s+Nasprotna stranka\s+Znesek\s+Valuta",
                         page), f"page {number} repeats the header row"
        assert re.search(rf"{number}\s*/\s*{total}\n", page), f"page {number}'s number"
    text = "".join(pages)
    assert all(f"u-{i:06d}" in text for i in range(ROWS))  # no row lost at a page break
    assert "Občina Šentjur 119" in pages[-1]
    assert "Skupaj: 120 enot." in pages[-1]
    assert "…" in text  # the long name is cut after two lines, and says so
    # A page of it, to look at: <tmp_path>/page-1.png
    subprocess.run(["pdftoppm", "-png", "-r", "100", "-f", "1", "-l", "1", "-singlefile",
                    str(pdf), str(tmp_path / "page-1")], check=True)
    assert (tmp_path / "page-1.png").stat().st_size > 10_000


def test_every_word_stays_within_the_margins_and_amounts_align_right(
        poppler: None, tmp_path: Path) -> None:
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(render(summary()))
    words = re.findall(r'xMin="([\d.]+)" yMin="[\d.]+" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)<',
                       pdftotext(pdf, "-bbox"))
    assert len(words) > 1000
    right = WIDTH - MARGIN
    assert all(float(x0) >= MARGIN - 0.5 for x0, _, _ in words)
    assert all(float(x1) <= right + 0.5 for _, x1, _ in words)
    amounts = {round(float(x1)) for _, x1, word in words if re.fullmatch(r"[\d,]+\.\d\d", word)}
    assert len(amounts) == 1  # one right edge for the whole column


def test_attachments_ride_along_and_survive_signing(poppler: None, archive: Archive,
                                                    tmp_path: Path) -> None:
    rows = "enota;stranka\nu-000001;Občina Šentjur\n".encode()
    document = PdfDocument("Poročilo", [Paragraph("Vrstice so priložene.")],
                           attachments=[Attachment("vrstice.csv", rows, "text/csv", "rows")])
    pdf = tmp_path / "report.pdf"
    pdf.write_bytes(archive.signing.sign(render(document)))
    listed = subprocess.run(["pdfdetach", "-list", str(pdf)], check=True, capture_output=True,
                            text=True).stdout
    assert "1: vrstice.csv" in listed
    subprocess.run(["pdfdetach", "-save", "1", "-o", str(tmp_path / "out.csv"), str(pdf)],
                   check=True)
    assert (tmp_path / "out.csv").read_bytes() == rows
    assert_valid(offline(pdf.read_bytes(), dev_anchors(archive.home))[0])


def offline(signed: bytes, anchors: list[x509.Certificate],
            revocation: bool = True) -> tuple[PdfSignatureStatus, DocumentSecurityStore]:
    """pyHanko's verdict with nothing fetched: the trust anchors given, every certificate,
    CRL and OCSP response from the PDF's Document Security Store (none if not
    `revocation`), and a certificate that names a CRL or OCSP responder needing one."""
    reader = PdfFileReader(BytesIO(signed))
    dss = DocumentSecurityStore.read_dss(reader)
    settings = {"trust_roots": anchors, "allow_fetching": False,
                "revocation_mode": "hard-fail"}
    if not revocation:
        settings |= {"crls": [], "ocsps": [], "other_certs": list(dss.load_certs())}
    context = (dss.as_validation_context(settings) if revocation
               else ValidationContext(**settings))
    (signature,) = reader.embedded_regular_signatures
    status = validate_pdf_signature(signature, context, ts_validation_context=context)
    (document_timestamp,) = reader.embedded_timestamp_signatures
    assert validate_pdf_timestamp(document_timestamp, validation_context=context).valid
    return status, dss


def assert_valid(status: PdfSignatureStatus) -> None:
    """Intact, valid and trusted, its signature timestamp too."""
    details = f"{status.trust_problem_indic}\n{status.pretty_print_details()}"
    assert status.intact, details
    assert status.valid, details
    assert status.trusted, details
    assert status.timestamp_validity is not None, details
    assert status.timestamp_validity.valid, details
    assert status.timestamp_validity.trusted, details


def dev_anchors(home: Path) -> list[x509.Certificate]:
    return (load_certificates(DevSigningFiles(home / "signing").ca, "signing CA")
            + load_certificates(home / "tsa" / "dev-ca.pem", "TSA CA"))


def test_signed_with_the_development_key_and_tsa_validates_offline(archive: Archive) -> None:
    signed = archive.signing.sign(render(summary()))
    status, dss = offline(signed, dev_anchors(archive.home))
    assert_valid(status)
    assert NOT_QUALIFIED in status.signing_cert.subject.human_friendly
    assert status.timestamp_validity is not None
    assert status.timestamp_validity.timestamp == archive.clock.now()  # the archive's time
    assert len(list(dss.load_certs())) >= 3  # signer, its CA, the TSA
    assert "NOT qualified" in archive.signing.description


def test_one_flipped_byte_in_the_signed_range_fails_validation(archive: Archive) -> None:
    signed = bytearray(archive.signing.sign(render(summary(rows=5))))
    assert signed.startswith(b"%PDF-1.7\n%")
    signed[10] ^= 0x01  # the header's binary comment: read by nobody, signed all the same
    status, _ = offline(bytes(signed), dev_anchors(archive.home))
    assert not status.intact
    assert not status.bottom_line


def test_configured_key_and_http_tsa_embed_the_revocation_data_they_need(
        tsa_server: TsaServer, document_signer: DocumentSigner, tmp_path: Path) -> None:
    settings = load_settings(home=str(tmp_path), environ={
        "HRAMBA_SIGNING_KEY": str(document_signer.key),
        "HRAMBA_SIGNING_CERTIFICATE": str(document_signer.certificate)})
    sealing = http_sealing(tsa_server.url, tsa_server.trust_anchor)
    signer = build_signing(settings, SystemClock(), sealing)
    signed = signer.sign(render(summary(rows=10)))
    assert isinstance(sealing.timestamper, Counting)
    assert sealing.timestamper.requests == 3  # pyHanko's size probe, signature, document
    anchors = load_certificates(document_signer.trust_anchor, "anchor")
    status, dss = offline(signed, anchors)
    assert_valid(status)
    assert dss.ocsps or dss.crls
    without, _ = offline(signed, anchors, revocation=False)
    assert without.intact
    assert not without.trusted  # so the embedded data was what counted
    signer.sign(render(summary(rows=1)))
    assert sealing.timestamper.requests == 5  # the probe is made once per signer


def test_production_signs_only_with_a_configured_key_or_when_told(tmp_path: Path) -> None:
    production = {"HRAMBA_DATABASE_URL": "postgresql+psycopg://nobody@127.0.0.1:1/none"}
    sealing = dev_sealing(tmp_path)
    settings = load_settings(home=str(tmp_path), environ=production)
    assert describe_signing(settings).startswith("none: set signing.key")
    with pytest.raises(ConfigurationError, match=r"signing\.development = true"):
        build_signing(settings, FixedClock(NOW), sealing)
    told = load_settings(home=str(tmp_path), environ=production | {
        "HRAMBA_SIGNING_DEVELOPMENT": "true"})
    with pytest.raises(ConfigurationError, match="run `hramba init`"):
        build_signing(told, FixedClock(NOW), sealing)
    create_dev_signing(tmp_path / "signing", NOW)
    assert "NOT qualified" in build_signing(told, FixedClock(NOW), sealing).description
    with pytest.raises(ConfigurationError, match="go together"):
        load_settings(home=str(tmp_path), environ={"HRAMBA_SIGNING_KEY": "/etc/key.pem"})



def dev_sealing(home: Path) -> Sealing:
    files = create_dev_tsa(home / "tsa", NOW)
    return Sealing(DevTimestamper(files, FixedClock(NOW)),
                   Trust(load_certificates(files.ca, "TSA CA")))


def test_a_key_that_is_not_the_certificates_is_refused(tmp_path: Path) -> None:
    one = create_dev_signing(tmp_path / "one", NOW)
    other = create_dev_signing(tmp_path / "other", NOW)
    sealing = dev_sealing(tmp_path)
    with pytest.raises(ConfigurationError, match="not the key of the certificate"):
        PadesPdfSigner(SigningKey(one.key, other.certificate), sealing.timestamper,
                       sealing.trust.anchors, FixedClock(NOW))
    only = tmp_path / "leaf.pem"  # the certificate without its CA's
    only.write_bytes(one.certificate.read_bytes().split(b"-----END CERTIFICATE-----")[0]
                     + b"-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigurationError, match="chain must end in its root CA"):
        PadesPdfSigner(SigningKey(one.key, only), sealing.timestamper,
                       sealing.trust.anchors, FixedClock(NOW))


def test_a_tsa_or_a_revocation_service_down_is_a_retryable_refusal(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    ca_key, ca = dev_ca("e-hramba test signing CA", NOW)
    crl = f"http://127.0.0.1:{free_port()}/ca.crl"  # nobody answers there
    leaf = (certificate_builder(dev_name("e-hramba test signer"), ca.subject, key.public_key(),
                                NOW, years=1)
            .add_extension(key_usage(cert_sign=False), critical=True)
            .add_extension(cx509.CRLDistributionPoints([cx509.DistributionPoint(
                [cx509.UniformResourceIdentifier(crl)], None, None, None)]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    write_private_key(tmp_path / "key.pem", key)
    (tmp_path / "chain.pem").write_bytes(b"".join(
        c.public_bytes(serialization.Encoding.PEM) for c in (leaf, ca)))
    sealing = dev_sealing(tmp_path)
    signer = PadesPdfSigner(SigningKey(tmp_path / "key.pem", tmp_path / "chain.pem"),
                            sealing.timestamper, sealing.trust.anchors, FixedClock(NOW))
    with pytest.raises(ServiceUnavailable, match="revocation data not to be had"):
        signer.sign(render(summary(rows=1)))
    dev = create_dev_signing(tmp_path / "signing", NOW)
    tsa_down = Rfc3161Timestamper(f"http://127.0.0.1:{free_port()}/tsa", timeout=2)
    with pytest.raises(ServiceUnavailable, match="no usable answer"):
        PadesPdfSigner(SigningKey(dev.key, dev.certificate), tsa_down, sealing.trust.anchors,
                       FixedClock(NOW)).sign(render(summary(rows=1)))


def test_an_encrypted_key_signs_with_its_password_file(tmp_path: Path) -> None:
    home = tmp_path
    key = ec.generate_private_key(ec.SECP256R1())
    name = dev_name("e-hramba test self-signed signer")
    certificate = (certificate_builder(name, name, key.public_key(), NOW, years=1)
                   .add_extension(key_usage(cert_sign=False), critical=True)
                   .sign(key, hashes.SHA256()))
    (home / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"geslo-za-pecat")))
    (home / "cert.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (home / "password").write_text("wrong\n")
    env = {"HRAMBA_SIGNING_KEY": str(home / "key.pem"),
           "HRAMBA_SIGNING_CERTIFICATE": str(home / "cert.pem"),
           "HRAMBA_SIGNING_KEY_PASSWORD_FILE": str(home / "password")}
    sealing = dev_sealing(home)
    with pytest.raises(ConfigurationError, match=r"signing\.key_password_file"):
        build_signing(load_settings(home=str(home), environ=env), FixedClock(NOW), sealing)
    (home / "password").write_text("geslo-za-pecat\n")
    signer = build_signing(load_settings(home=str(home), environ=env), FixedClock(NOW), sealing)
    anchors = [*load_certificates(home / "cert.pem", "signer"), *sealing.trust.anchors]
    status, _ = offline(signer.sign(render(summary(rows=1))), anchors)
    assert_valid(status)


def test_init_makes_and_names_the_development_signing_key(tmp_path: Path) -> None:
    ready = Cli(tmp_path / "home", clean_env())("init", "--json").json()
    assert ready["signing"].startswith("development signing key in ")
    assert ready["signing"].endswith("(NOT qualified)")
    assert DevSigningFiles(tmp_path / "home" / "signing").key.stat().st_mode & 0o077 == 0
