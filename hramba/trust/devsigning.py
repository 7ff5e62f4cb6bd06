"""The embedded default's development signing key, for the PDFs the archive signs.

`hramba init` makes a CA and a signing certificate under <home>/signing/, as it makes the
development TSA: their names say plainly that the key is NOT QUALIFIED. A PDF signed
with it validates exactly as one signed with a qualified seal does, and proves nothing
to anybody else. Production configures signing.key and signing.certificate instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hramba.trust.devtsa import (
    YEARS,
    certificate_builder,
    dev_ca,
    dev_name,
    key_usage,
    made_on,
    write_private_key,
)

NOT_QUALIFIED = "e-hramba development signing key (NOT qualified)"


@dataclass(frozen=True)
class DevSigningFiles:
    folder: Path

    @property
    def ca(self) -> Path:
        return self.folder / "dev-signing-ca.pem"

    @property
    def certificate(self) -> Path:
        """The signing certificate, then the CA's: the layout signing.certificate wants."""
        return self.folder / "dev-signing.pem"

    @property
    def key(self) -> Path:
        return self.folder / "dev-signing.key"


def create_dev_signing(folder: Path, now: datetime) -> DevSigningFiles:
    """Make the CA, the signing certificate and its key once; keep what exists."""
    files = DevSigningFiles(folder)
    if files.key.exists():
        return files
    folder.mkdir(parents=True, exist_ok=True)
    made = made_on(now)
    ca_key, ca = dev_ca(f"e-hramba development signing CA (NOT qualified) {made}", now)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = (certificate_builder(dev_name(f"{NOT_QUALIFIED} {made}"), ca.subject,
                                       key.public_key(), now, years=YEARS)
                   .add_extension(cx509.BasicConstraints(ca=False, path_length=None),
                                  critical=True)
                   .add_extension(key_usage(cert_sign=False), critical=True)
                   .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    files.ca.write_bytes(ca.public_bytes(pem))
    files.certificate.write_bytes(certificate.public_bytes(pem) + ca.public_bytes(pem))
    write_private_key(files.key, key)  # last: its presence says the set is complete
    return files
