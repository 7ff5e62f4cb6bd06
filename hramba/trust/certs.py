"""Certificates in and out of PEM files."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from asn1crypto import pem, x509

from hramba.core.errors import ConfigurationError


def load_certificates(path: Path, what: str) -> list[x509.Certificate]:
    """Every certificate in a PEM file (or one DER certificate); `what` names the setting."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(f"{what} {path}: {exc.strerror}") from exc
    return certificates_in(data, f"{what} {path}")


def certificates_in(data: bytes, what: str) -> list[x509.Certificate]:
    """Every certificate in PEM (or one DER certificate) bytes; `what` names their source."""
    try:
        if pem.detect(data):
            return [x509.Certificate.load(der) for kind, _, der in pem.unarmor(data, True)
                    if kind == "CERTIFICATE"]
        return [x509.Certificate.load(data, strict=True)]
    except ValueError as exc:
        raise ConfigurationError(f"{what}: not a certificate file ({exc})") from exc


def to_pem(certificates: Iterable[x509.Certificate]) -> str:
    return "".join(pem.armor("CERTIFICATE", c.dump()).decode("ascii") for c in certificates)


def load_pem_text(text: str) -> list[x509.Certificate]:
    """Certificates from PEM text kept in the database."""
    data = text.encode("ascii")
    if not text.strip():
        return []
    return [x509.Certificate.load(der) for kind, _, der in pem.unarmor(data, True)
            if kind == "CERTIFICATE"]
