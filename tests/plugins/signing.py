"""Signing PKI: document signers from certomancer's Animator, with OCSP and CRLs on loopback.

For the signature checks at capture (hramba.trust.signatures): a root and issuing CA whose
CRL and OCSP responder are served by the same process, three signing certificates
(`signer`, `signer-revoked` revoked a day before the real now, `rogue-signer` under a second,
unrelated root), and their keys, to sign e-SLOG invoices (XAdES) and PDFs (PAdES) in tests.
Described in signing_pki.yml; dates are computed when the fixture starts, RSA 2048 keys are
generated into the session's temp dir, and the process is stopped by its PID.
"""

from __future__ import annotations

import importlib.util
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from .services import free_port, missing, stop, wait_until
from .tsa import generate_keys, loopback_http, start_animator

ARCH = "hramba-signing"
TEMPLATE = Path(__file__).with_name("signing_pki.yml")
KEY_LABELS = ("root", "interm", "ocsp", "signer", "signer-revoked", "rogue-root", "rogue-signer")
REQUIRED_MODULES = ("certomancer", "werkzeug", "asn1crypto", "cryptography")
READY_TIMEOUT = 30.0
YEAR = timedelta(days=365)

# Each signer's certificate path in certomancer's cert repository: its own first, root last.
CHAINS: Mapping[str, tuple[str, ...]] = {
    "signer": ("interm/issued/signer", "root/issued/interm", "root/ca"),
    "signer-revoked": ("interm/issued/signer-revoked", "root/issued/interm", "root/ca"),
    "rogue-signer": ("rogue-root/issued/rogue-signer", "rogue-root/ca"),
}


@dataclass(frozen=True)
class TestSigner:
    """A signing key and its certificate path (DER, the signer's own first, the root last)."""

    __test__ = False  # not a test class, despite the name

    key_pem: bytes  # PKCS#8, unencrypted
    chain: tuple[bytes, ...]

    @property
    def certificate(self) -> bytes:
        return self.chain[0]


@dataclass(frozen=True)
class SigningPki:
    """The trusted root, the unrelated one, and the signers by label in signing_pki.yml."""

    root: bytes  # DER
    rogue_root: bytes
    signers: Mapping[str, TestSigner]


def _dates(now: datetime) -> dict[str, str]:
    """Validity periods relative to the real now, so the PKI never goes stale."""
    spans = {"root": (-5 * YEAR, 20 * YEAR), "interm": (-4 * YEAR, 10 * YEAR),
             "leaf": (-YEAR, 2 * YEAR)}
    dates = {f"{name}_{edge}": (now + span).isoformat()
             for name, (start, end) in spans.items()
             for edge, span in (("from", start), ("to", end))}
    dates["revoked_since"] = (now - timedelta(days=1)).isoformat()
    return dates


def _render_config(root: Path, prefix: str) -> Path:
    config = root / "certomancer.yml"
    config.write_text(string.Template(TEMPLATE.read_text()).substitute(
        prefix=prefix, **_dates(datetime.now(UTC).replace(microsecond=0))))
    return config


def _certificate(base: str, path: str) -> bytes:
    """One certificate from the server itself (DER), so it matches what the server signs."""
    from asn1crypto import pem

    return bytes(pem.unarmor(loopback_http(f"{base}/certs/{path}.cert.pem"))[2])


def _signer(base: str, keys: Path, label: str) -> TestSigner:
    return TestSigner((keys / f"{label}.key.pem").read_bytes(),
                      tuple(_certificate(base, path) for path in CHAINS[label]))


@pytest.fixture(scope="session")
def signing_pki(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SigningPki]:
    """The signing PKI of one certomancer process, OCSP and CRLs answering on loopback."""
    absent = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if absent:
        missing(f"certomancer is not installed (pip install 'certomancer[web-api]'): {absent}")
    root = tmp_path_factory.mktemp("signing-pki")
    generate_keys(root / "keys", KEY_LABELS)
    port = free_port()
    prefix = f"http://127.0.0.1:{port}"
    base = f"{prefix}/{ARCH}"
    log = root / "certomancer.log"
    process = start_animator(root, _render_config(root, prefix), port, log)
    try:
        wait_until(lambda: bool(_certificate(base, "root/ca")), READY_TIMEOUT,
                   "certomancer signing PKI", process, log)
        yield SigningPki(root=_certificate(base, "root/ca"),
                         rogue_root=_certificate(base, "rogue-root/ca"),
                         signers={label: _signer(base, root / "keys", label)
                                  for label in CHAINS})
    finally:
        stop(process)
