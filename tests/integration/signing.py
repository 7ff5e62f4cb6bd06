"""Signing keys for tests whose clock moves: the development key `hramba init` makes is
valid ten years, and an archive that disposes of ten-year-old invoices signs with the key
its operator holds then (a new one, as in production)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hramba.services.context import Archive
from hramba.trust.devtsa import dev_ca, dev_name, key_usage
from hramba.trust.pdf import PadesPdfSigner, SigningKey


def short_lived_key(folder: Path, now: datetime, days: int = 2) -> tuple[Path, Path, Path]:
    """A signing key whose certificate is valid `days` from `now`, under a CA of its own:
    its key, its certificate (with the CA's), and the CA's certificate."""
    folder.mkdir(parents=True)
    ca_key, ca = dev_ca("short-lived signing CA", now)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (cx509.CertificateBuilder().subject_name(dev_name("short-lived signer"))
                   .issuer_name(ca.subject).public_key(key.public_key())
                   .serial_number(cx509.random_serial_number())
                   .not_valid_before(now - timedelta(days=1))
                   .not_valid_after(now + timedelta(days=days))
                   .add_extension(cx509.BasicConstraints(ca=False, path_length=None), True)
                   .add_extension(key_usage(cert_sign=False), True)
                   .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (folder / "ca.pem").write_bytes(ca.public_bytes(pem))
    (folder / "cert.pem").write_bytes(certificate.public_bytes(pem) + ca.public_bytes(pem))
    (folder / "key.pem").write_bytes(key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return folder / "key.pem", folder / "cert.pem", folder / "ca.pem"


def sign_with_a_new_key(archive: Archive, days: int = 365) -> Path:
    """The archive signs from now on with a key valid `days` from its clock's now (the
    archive's TSA as before); the CA certificate to trust it by."""
    now = archive.clock.now()
    key, certificate, ca = short_lived_key(archive.home / f"signing-{now:%Y%m%d%H%M%S}",
                                           now, days)
    archive.signing = PadesPdfSigner(SigningKey(key, certificate),
                                     archive.sealing.timestamper,
                                     archive.sealing.trust.anchors, archive.clock)
    return ca
