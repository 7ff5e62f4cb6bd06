"""The TSA fixtures (tests/plugins/tsa.py) are real RFC 3161 TSAs on 127.0.0.1 only."""

from __future__ import annotations

import hashlib
import itertools
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from asn1crypto import cms, crl, ocsp, pem, tsp, x509
from cryptography import x509 as cx509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from plugins.tsa import TsaServer, loopback_http, timestamp_query

pytestmark = pytest.mark.tsa

ALL_TSAS = ["tsa_server", "short_lived_tsa", "untrusted_tsa"]


@pytest.fixture(params=ALL_TSAS)
def any_tsa(request: pytest.FixtureRequest) -> TsaServer:
    server: TsaServer = request.getfixturevalue(request.param)
    return server


def _asn1_cert(path: Path) -> x509.Certificate:
    return x509.Certificate.load(pem.unarmor(path.read_bytes())[2])


def _chain(path: Path) -> list[cx509.Certificate]:
    return cx509.load_pem_x509_certificates(path.read_bytes())


def _stamp(server: TsaServer, data: bytes, nonce: int,
           at: datetime | None = None) -> tuple[tsp.TimeStampReq, tsp.TimeStampResp]:
    query = timestamp_query(data, nonce)
    return tsp.TimeStampReq.load(query), tsp.TimeStampResp.load(server.request(query, at))


def _signed_data(response: tsp.TimeStampResp) -> cms.SignedData:
    assert response["status"]["status"].native == "granted"
    token = response["time_stamp_token"]
    assert token["content_type"].native == "signed_data"
    return token["content"]


def test_token_echoes_imprint_and_nonce(any_tsa: TsaServer) -> None:
    nonce = secrets.randbits(63)
    query, response = _stamp(any_tsa, b"e-invoice bytes", nonce)
    tst_info = _signed_data(response)["encap_content_info"]["content"].parsed
    assert tst_info["message_imprint"].dump() == query["message_imprint"].dump()
    assert tst_info["message_imprint"]["hashed_message"].native == hashlib.sha256(
        b"e-invoice bytes").digest()
    assert tst_info["nonce"].native == nonce
    assert abs(tst_info["gen_time"].native - datetime.now(UTC)) < timedelta(minutes=1)


def test_token_is_signed_by_the_tsa_certificate(any_tsa: TsaServer) -> None:
    signed = _signed_data(_stamp(any_tsa, b"signer", secrets.randbits(63))[1])
    expected = _asn1_cert(any_tsa.tsa_certificate)
    signer = signed["signer_infos"][0]
    sid = signer["sid"].chosen
    assert sid["issuer"] == expected.issuer
    assert sid["serial_number"].native == expected.serial_number
    embedded = [c.chosen.dump() for c in signed["certificates"]]
    assert expected.dump() in embedded  # certReq honoured: the TSA's certificate is in the token

    attrs = {a["type"].native: a["values"][0] for a in signer["signed_attrs"]}
    tst_der = signed["encap_content_info"]["content"].contents
    assert attrs["message_digest"].native == hashlib.sha256(tst_der).digest()
    assert "signing_certificate" not in attrs  # certomancer's ESSCertID (v1, SHA-1), replaced
    ess = attrs["signing_certificate_v2"]["certs"][0]  # by tsa_animate.py: ESSCertIDv2
    assert ess["hash_algorithm"]["algorithm"].native == "sha256"
    assert ess["cert_hash"].native == hashlib.sha256(expected.dump()).digest()

    signed_attrs = b"\x31" + signer["signed_attrs"].dump()[1:]  # as signed: a SET OF
    key = cx509.load_der_x509_certificate(expected.dump()).public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    key.verify(signer["signature"].native, signed_attrs, padding.PKCS1v15(), hashes.SHA256())


def test_tsa_certificate_profile(any_tsa: TsaServer) -> None:
    cert = cx509.load_pem_x509_certificate(any_tsa.tsa_certificate.read_bytes())
    eku = cert.extensions.get_extension_for_class(cx509.ExtendedKeyUsage)
    assert eku.critical
    assert list(eku.value) == [cx509.ExtendedKeyUsageOID.TIME_STAMPING]
    key = cert.public_key()
    assert isinstance(key, rsa.RSAPublicKey)
    assert key.key_size == 2048
    assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
    assert cert.not_valid_before_utc < datetime.now(UTC) < cert.not_valid_after_utc


def test_main_tsa_validity_spans_years(tsa_server: TsaServer) -> None:
    cert = cx509.load_pem_x509_certificate(tsa_server.tsa_certificate.read_bytes())
    now = datetime.now(UTC)
    assert cert.not_valid_before_utc < now - timedelta(days=365)
    assert cert.not_valid_after_utc > now + timedelta(days=2 * 365)


def test_short_lived_certificate_expires_in_about_30_days(short_lived_tsa: TsaServer) -> None:
    cert = cx509.load_pem_x509_certificate(short_lived_tsa.tsa_certificate.read_bytes())
    left = cert.not_valid_after_utc - datetime.now(UTC)
    assert timedelta(days=25) < left < timedelta(days=35)


def test_chains_to_trust_anchor(tsa_server: TsaServer, short_lived_tsa: TsaServer) -> None:
    assert short_lived_tsa.trust_anchor.read_bytes() == tsa_server.trust_anchor.read_bytes()
    for server in (tsa_server, short_lived_tsa):
        chain = _chain(server.chain)
        anchor = cx509.load_pem_x509_certificate(server.trust_anchor.read_bytes())
        assert chain[0] == cx509.load_pem_x509_certificate(server.tsa_certificate.read_bytes())
        assert chain[-1] == anchor
        for child, parent in itertools.pairwise(chain):
            child.verify_directly_issued_by(parent)
        anchor.verify_directly_issued_by(anchor)


def test_untrusted_tsa_does_not_chain_to_trust_anchor(tsa_server: TsaServer,
                                                      untrusted_tsa: TsaServer) -> None:
    anchor = cx509.load_pem_x509_certificate(tsa_server.trust_anchor.read_bytes())
    chain = _chain(untrusted_tsa.chain)
    assert anchor not in chain
    for cert in chain:
        with pytest.raises((ValueError, InvalidSignature)):
            cert.verify_directly_issued_by(anchor)
    for child, parent in itertools.pairwise(chain):  # its own chain is sound
        child.verify_directly_issued_by(parent)


def test_every_embedded_url_is_loopback(any_tsa: TsaServer) -> None:
    for cert in _chain(any_tsa.chain):
        for ext in cert.extensions:
            if isinstance(ext.value, cx509.CRLDistributionPoints):
                urls = [n.value for p in ext.value for n in p.full_name or []]
            elif isinstance(ext.value, cx509.AuthorityInformationAccess):
                urls = [d.access_location.value for d in ext.value]
            else:
                continue
            assert urls
            assert all(urlsplit(url).hostname == "127.0.0.1" for url in urls), urls
    for url in (any_tsa.url, any_tsa.crl_url, any_tsa.ocsp_url):
        assert url is None or urlsplit(url).hostname == "127.0.0.1"


def test_crl_answers_on_loopback(any_tsa: TsaServer) -> None:
    assert any_tsa.crl_url is not None
    tsa_cert = _asn1_cert(any_tsa.tsa_certificate)
    issuer = cx509.load_pem_x509_certificates(any_tsa.chain.read_bytes())[1]
    data = loopback_http(any_tsa.crl_url)
    parsed = crl.CertificateList.load(data)
    assert parsed.issuer == tsa_cert.issuer
    assert tsa_cert.serial_number not in {r["user_certificate"].native
                                          for r in parsed["tbs_cert_list"]["revoked_certificates"]}
    checked = cx509.load_der_x509_crl(data)
    assert checked.is_signature_valid(issuer.public_key())
    assert checked.next_update_utc is not None
    assert checked.next_update_utc > datetime.now(UTC)


def test_ocsp_answers_good_on_loopback(tsa_server: TsaServer, short_lived_tsa: TsaServer,
                                       untrusted_tsa: TsaServer) -> None:
    assert untrusted_tsa.ocsp_url is None
    for server in (tsa_server, short_lived_tsa):
        assert server.ocsp_url is not None
        tsa_cert = _asn1_cert(server.tsa_certificate)
        issuer = _issuer(server)
        cert_id = ocsp.CertId({
            "hash_algorithm": {"algorithm": "sha256"},
            "issuer_name_hash": hashlib.sha256(issuer.subject.dump()).digest(),
            "issuer_key_hash": issuer.public_key.sha256,
            "serial_number": tsa_cert.serial_number,
        })
        query = ocsp.OCSPRequest({"tbs_request": {"request_list": [{"req_cert": cert_id}]}})
        answer = ocsp.OCSPResponse.load(
            loopback_http(server.ocsp_url, query.dump(), "application/ocsp-request"))
        assert answer["response_status"].native == "successful"
        single = answer.basic_ocsp_response["tbs_response_data"]["responses"][0]
        assert single["cert_id"]["serial_number"].native == tsa_cert.serial_number
        assert single["cert_status"].name == "good"


def _issuer(server: TsaServer) -> x509.Certificate:
    blocks = list(pem.unarmor(server.chain.read_bytes(), multiple=True))
    return x509.Certificate.load(blocks[1][2])


def test_fake_time_header_backdates_tokens(short_lived_tsa: TsaServer) -> None:
    """Certomancer stamps whatever time it is told, even past its certificate's expiry."""
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(days=40)
    tst_info = _signed_data(_stamp(short_lived_tsa, b"later", 7, at=later)[1])[
        "encap_content_info"]["content"].parsed
    assert tst_info["gen_time"].native == later


def test_refuses_non_loopback_urls() -> None:
    with pytest.raises(ValueError, match="non-loopback"):
        loopback_http("http://example.invalid/")
