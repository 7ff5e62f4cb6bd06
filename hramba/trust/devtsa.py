"""The embedded default's development TSA: RFC 3161 tokens made in-process, offline.

`hramba init` makes a CA and a TSA certificate under <home>/tsa/. Their names and the
token policy say plainly that this TSA is NOT QUALIFIED: its tokens prove nothing to a
court, they let the embedded default seal and verify exactly as production does. The
production profile points `tsa.url` at a qualified TSA instead.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from asn1crypto import algos, cms, tsp, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from hramba.core.types import Clock
from hramba.trust.ers import digest_algorithm

# 2.25.<UUID> (ITU-T X.667): a policy OID of our own for "development, not qualified".
DEV_POLICY = "2.25.216609516158335497934466446207473356251"
NOT_QUALIFIED = "e-hramba development TSA - NOT QUALIFIED"
ID_CT_TSTINFO = "1.2.840.113549.1.9.16.1.4"


@dataclass(frozen=True)
class DevTsaFiles:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "dev-ca.pem"

    @property
    def certificate(self) -> Path:
        return self.folder / "dev-tsa.pem"

    @property
    def key(self) -> Path:
        return self.folder / "dev-tsa.key"


# As long as its CA: a demo or test archive still timestamps (and signs its destruction
# certificates) when its ten-year-old invoices fall due; a production TSA is its own.
YEARS = 30


def create_dev_tsa(folder: Path, now: datetime) -> DevTsaFiles:
    """Make the CA and TSA certificate and key once; keep what exists (idempotent)."""
    files = DevTsaFiles(folder)
    if files.key.exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    made = made_on(now)
    ca_key, ca = dev_ca(f"{NOT_QUALIFIED} root {made}", now)
    tsa_key = ec.generate_private_key(ec.SECP256R1())
    tsa = (certificate_builder(dev_name(f"{NOT_QUALIFIED} {made}"), ca.subject,
                               tsa_key.public_key(), now, years=YEARS)
           .add_extension(cx509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(key_usage(cert_sign=False), critical=True)
           .add_extension(cx509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]),
                          critical=True)  # RFC 3161 §2.3: critical, time-stamping only
           .sign(ca_key, hashes.SHA256()))
    files.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    files.certificate.write_bytes(tsa.public_bytes(serialization.Encoding.PEM))
    write_private_key(files.key, tsa_key)  # last: its presence says the set is complete
    return files


def made_on(now: datetime) -> str:
    """Names a development certificate for its making: two development CAs (a re-made
    one, a test's) never share a name, which path builders such as openssl's would take
    for the same issuer."""
    return f"{now:%Y%m%d}-{secrets.token_hex(2)}"


def dev_ca(common_name: str, now: datetime) -> tuple[ec.EllipticCurvePrivateKey,
                                                     cx509.Certificate]:
    """A self-signed development CA for 30 years; its key is used once and forgotten."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = dev_name(common_name)
    return key, (certificate_builder(name, name, key.public_key(), now, years=30)
                 .add_extension(cx509.BasicConstraints(ca=True, path_length=0), critical=True)
                 .add_extension(key_usage(cert_sign=True), critical=True)
                 .sign(key, hashes.SHA256()))


def write_private_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.touch(mode=0o600)
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))


def dev_name(common_name: str) -> cx509.Name:
    return cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, common_name),
                       cx509.NameAttribute(NameOID.ORGANIZATION_NAME, "e-hramba")])


def certificate_builder(subject: cx509.Name, issuer: cx509.Name,
                        key: ec.EllipticCurvePublicKey, now: datetime,
                        years: int) -> cx509.CertificateBuilder:
    return (cx509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
            .public_key(key).serial_number(cx509.random_serial_number())
            .not_valid_before(now - timedelta(days=1))
            .not_valid_after(now + timedelta(days=365 * years)))


def key_usage(cert_sign: bool) -> cx509.KeyUsage:
    """A CA's (certificates, CRLs) or an end entity's (signatures, non-repudiation)."""
    return cx509.KeyUsage(
        digital_signature=not cert_sign, content_commitment=not cert_sign,
        key_encipherment=False, data_encipherment=False, key_agreement=False,
        key_cert_sign=cert_sign, crl_sign=cert_sign, encipher_only=False, decipher_only=False)


class DevTimestamper:
    """Timestamper that signs RFC 3161 tokens itself with the development TSA key."""

    def __init__(self, files: DevTsaFiles, clock: Clock) -> None:
        self.clock = clock
        self.description = f"development TSA in {files.folder} (NOT QUALIFIED)"
        self._key = serialization.load_pem_private_key(files.key.read_bytes(), None)
        self._cert = x509.Certificate.load(_der(files.certificate))
        self._ca = x509.Certificate.load(_der(files.ca))

    def timestamp(self, digest: bytes, algorithm: str) -> bytes:
        """A TimeStampToken (ContentInfo, DER) over `digest`."""
        tst_info = tsp.TSTInfo({
            "version": 1, "policy": DEV_POLICY,
            "message_imprint": {"hash_algorithm": digest_algorithm(algorithm),
                                "hashed_message": digest},
            "serial_number": secrets.randbits(63),
            "gen_time": self.clock.now(),
            "nonce": secrets.randbits(63),
            "tsa": x509.GeneralName(name="directory_name", value=self._cert.subject),
        }).dump()
        return bytes(self._signed_data(tst_info).dump())

    def _signed_data(self, tst_info: bytes) -> cms.ContentInfo:
        attrs = cms.CMSAttributes([
            {"type": "content_type", "values": [ID_CT_TSTINFO]},
            {"type": "message_digest", "values": [hashlib.sha256(tst_info).digest()]},
            {"type": "signing_certificate_v2", "values": [{"certs": [{
                "cert_hash": hashlib.sha256(self._cert.dump()).digest()}]}]},
        ])
        assert isinstance(self._key, ec.EllipticCurvePrivateKey)
        signature = self._key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
        signer = cms.SignerInfo({
            "version": "v1",
            "sid": cms.SignerIdentifier(name="issuer_and_serial_number", value={
                "issuer": self._cert.issuer, "serial_number": self._cert.serial_number}),
            "digest_algorithm": digest_algorithm("sha256"),
            "signed_attrs": attrs,
            "signature_algorithm": algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
            "signature": signature,
        })
        return cms.ContentInfo({"content_type": "signed_data", "content": {
            "version": "v3", "digest_algorithms": [digest_algorithm("sha256")],
            "encap_content_info": {"content_type": ID_CT_TSTINFO,
                                   "content": cms.ParsableOctetString(tst_info)},
            "certificates": [self._cert, self._ca],
            "signer_infos": [signer]}})


def _der(pem: Path) -> bytes:
    return cx509.load_pem_x509_certificate(pem.read_bytes()).public_bytes(
        serialization.Encoding.DER)
