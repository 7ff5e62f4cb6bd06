"""TSA: RFC 3161 time-stamping authorities from certomancer's Animator over HTTP on loopback.

Chosen over a stub because certomancer signs real RFC 3161 tokens (CMS SignedData over a
TSTInfo) with a PKI described in tsa_pki.yml, and the same process serves what a validator needs
to judge them: the CA certificates, CRLs and an OCSP responder. Every URL in those certificates
points back at 127.0.0.1, so a validator that follows them never leaves this machine.

One process, one free port, five TSAs: `tsa_server` (chains to a root CA, revocation served),
`short_lived_tsa` (same root, certificate expiring 30 days from the real now: renewal tests),
`revoked_tsa` (same root, certificate revoked a day before the real now), `qualified_tsa`
(same root, tokens marked qualified) and `untrusted_tsa` (a second, unrelated root). The
same PKI issues `document_signer`, a signing certificate and key for PDF signatures.
certomancer runs through tsa_animate.py, which binds the signer with ESSCertIDv2. Dates are
computed when the fixture starts, RSA 2048 keys are generated into the session's temp dir,
and the process is stopped by its PID.
"""

from __future__ import annotations

import hashlib
import importlib.util
import secrets
import string
import subprocess
import sys
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from .services import free_port, missing, stop, wait_until

ARCH = "hramba-test"
TEMPLATE = Path(__file__).with_name("tsa_pki.yml")
KEY_LABELS = ("root", "interm", "ocsp", "tsa", "tsa-short", "tsa-revoked", "tsa-qualified",
              "signer", "rogue-root", "rogue-tsa")
ANIMATE = Path(__file__).with_name("tsa_animate.py")  # ESSCertIDv2, qualified tokens
REQUIRED_MODULES = ("certomancer", "werkzeug", "asn1crypto", "cryptography")
READY_TIMEOUT = 30.0
HTTP_TIMEOUT = 10.0
YEAR = timedelta(days=365)
SHORT_LIFETIME = timedelta(days=30)

FAKE_TIME_HEADER = "X-Certomancer-Fake-Time"
"""Header that makes the Animator sign (or answer OCSP/CRL) as of another time: ISO 8601."""

# Certificates as cert-repo paths in tsa_pki.yml: the TSA's own first, its root last.
CHAINS: Mapping[str, tuple[str, ...]] = {
    "main": ("interm/issued/tsa", "root/issued/interm", "root/ca"),
    "short-lived": ("interm/issued/tsa-short", "root/issued/interm", "root/ca"),
    "revoked": ("interm/issued/tsa-revoked", "root/issued/interm", "root/ca"),
    "qualified": ("interm/issued/tsa-qualified", "root/issued/interm", "root/ca"),
    "untrusted": ("rogue-root/issued/rogue-tsa", "rogue-root/ca"),
}

# No proxy handler: HTTP_PROXY in the environment must never route a test request off-host.
_LOOPBACK_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class TsaServer:
    """One RFC 3161 TSA: where to send queries and the PEM files a validator needs."""

    url: str
    trust_anchor: Path
    tsa_certificate: Path
    chain: Path
    crl_url: str | None
    ocsp_url: str | None

    def request(self, query: bytes, at: datetime | None = None) -> bytes:
        """POST a DER TimeStampReq; `at` makes the TSA stamp that time instead of now."""
        headers = {FAKE_TIME_HEADER: at.isoformat()} if at is not None else {}
        return loopback_http(self.url, query, "application/timestamp-query", headers)


def loopback_http(url: str, body: bytes | None = None, content_type: str | None = None,
                  headers: Mapping[str, str] | None = None) -> bytes:
    """GET (or POST `body`) a URL on 127.0.0.1; refuses any other host by design."""
    if urlsplit(url).hostname != "127.0.0.1":
        raise ValueError(f"refusing to contact a non-loopback URL: {url}")
    request = urllib.request.Request(url, data=body, headers=dict(headers or {}))
    if content_type is not None:
        request.add_header("Content-Type", content_type)
    with _LOOPBACK_OPENER.open(request, timeout=HTTP_TIMEOUT) as response:
        return bytes(response.read())


def timestamp_query(data: bytes, nonce: int, cert_req: bool = True) -> bytes:
    """A DER TimeStampReq (version 1) for the SHA-256 of `data`."""
    from asn1crypto import tsp

    return bytes(tsp.TimeStampReq({
        "version": "v1",
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"},
                            "hashed_message": hashlib.sha256(data).digest()},
        "nonce": nonce,
        "cert_req": cert_req,
    }).dump())


def _granted(url: str) -> bool:
    """Readiness is a granted answer to a real query, not merely an open port."""
    from asn1crypto import tsp

    answer = loopback_http(url, timestamp_query(b"probe", secrets.randbits(63)),
                           "application/timestamp-query")
    try:
        return bool(tsp.TimeStampResp.load(answer)["status"]["status"].native == "granted")
    except ValueError:
        return False


def generate_keys(directory: Path, labels: tuple[str, ...] = KEY_LABELS) -> None:
    """Fresh RSA 2048 keys per session; certomancer only loads keys, it never makes them."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    directory.mkdir()
    for label in labels:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (directory / f"{label}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))


def _dates(now: datetime) -> dict[str, str]:
    """Validity periods relative to the real now, so the PKI never goes stale."""
    spans = {"root": (-5 * YEAR, 20 * YEAR), "interm": (-4 * YEAR, 10 * YEAR),
             "tsa": (-2 * YEAR, 3 * YEAR), "short": (-YEAR, SHORT_LIFETIME),
             "long": (-YEAR, 8 * YEAR)}
    dates: dict[str, str] = {}
    for name, (start, end) in spans.items():
        dates[f"{name}_from"] = (now + start).isoformat()
        dates[f"{name}_to"] = (now + end).isoformat()
    dates["revoked_since"] = (now - timedelta(days=1)).isoformat()
    return dates


def _render_config(root: Path, prefix: str) -> Path:
    now = datetime.now(UTC).replace(microsecond=0)
    config = root / "certomancer.yml"
    config.write_text(string.Template(TEMPLATE.read_text()).substitute(
        prefix=prefix, **_dates(now)))
    return config


def start_animator(root: Path, config: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """The Animator behind werkzeug's development server, which binds 127.0.0.1 only."""
    args = [sys.executable, str(ANIMATE), "--config", str(config),
            "--no-external-config", "animate", "--port", str(port), "--no-web-ui"]
    with log.open("wb") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=root)


def _save_certificates(base: str, paths: tuple[str, ...], target: Path) -> list[Path]:
    """Fetch each certificate from the server itself, so the files match what it signs with."""
    saved = []
    for path in paths:
        file = target / f"{path.replace('/', '-')}.pem"
        if not file.exists():
            file.write_bytes(loopback_http(f"{base}/certs/{path}.cert.pem"))
        saved.append(file)
    return saved


def _revocation_urls(certificate: Path) -> tuple[str | None, str | None]:
    """The CRL distribution point and AIA OCSP URL the TSA certificate itself names."""
    from asn1crypto import pem, x509

    cert = x509.Certificate.load(pem.unarmor(certificate.read_bytes())[2])
    crls = [point.url for point in cert.crl_distribution_points if point.url]
    ocsps = list(cert.ocsp_urls)
    return (crls[0] if crls else None), (ocsps[0] if ocsps else None)


def _server(base: str, service: str, target: Path) -> TsaServer:
    certificates = _save_certificates(base, CHAINS[service], target)
    chain = target / f"{service}-chain.pem"
    chain.write_bytes(b"".join(path.read_bytes() for path in certificates))
    crl_url, ocsp_url = _revocation_urls(certificates[0])
    return TsaServer(url=f"{base}/tsa/{service}", trust_anchor=certificates[-1],
                     tsa_certificate=certificates[0], chain=chain, crl_url=crl_url,
                     ocsp_url=ocsp_url)


@pytest.fixture(scope="session")
def tsa_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, TsaServer]]:
    """All TSAs of one certomancer process, by service label in tsa_pki.yml."""
    absent = [name for name in REQUIRED_MODULES if importlib.util.find_spec(name) is None]
    if absent:
        missing(f"certomancer is not installed (pip install 'certomancer[web-api]'): {absent}")
    root = tmp_path_factory.mktemp("certomancer")
    generate_keys(root / "keys")
    port = free_port()
    prefix = f"http://127.0.0.1:{port}"
    base = f"{prefix}/{ARCH}"
    log = root / "certomancer.log"
    process = start_animator(root, _render_config(root, prefix), port, log)
    try:
        wait_until(lambda: all(_granted(f"{base}/tsa/{s}") for s in CHAINS), READY_TIMEOUT,
                   "certomancer TSA", process, log)
        (root / "certs").mkdir()
        yield {service: _server(base, service, root / "certs") for service in CHAINS}
    finally:
        stop(process)


@dataclass(frozen=True)
class DocumentSigner:
    """A signing key and certificate, as a production archive configures them."""

    key: Path  # PEM, PKCS#8, unencrypted
    certificate: Path  # PEM: the signer's certificate, then its CA's, then the root
    trust_anchor: Path


@pytest.fixture(scope="session")
def document_signer(tsa_servers: dict[str, TsaServer]) -> DocumentSigner:
    """Issued by the TSAs' issuing CA, whose CRL and OCSP responder speak for it."""
    main = tsa_servers["main"]
    root = main.trust_anchor.parent.parent  # the certomancer folder: keys/, certs/
    base = main.url.rsplit("/tsa/", 1)[0]
    certificates = _save_certificates(
        base, ("interm/issued/signer", "root/issued/interm", "root/ca"), root / "certs")
    chain = root / "certs" / "signer-chain.pem"
    chain.write_bytes(b"".join(path.read_bytes() for path in certificates))
    return DocumentSigner(root / "keys" / "signer.key.pem", chain, certificates[-1])


@pytest.fixture(scope="session")
def tsa_server(tsa_servers: dict[str, TsaServer]) -> TsaServer:
    """TSA chaining to `trust_anchor` via an issuing CA that has a CRL and an OCSP responder."""
    return tsa_servers["main"]


@pytest.fixture(scope="session")
def short_lived_tsa(tsa_servers: dict[str, TsaServer]) -> TsaServer:
    """Same root as `tsa_server`; its certificate expires 30 days after the session started."""
    return tsa_servers["short-lived"]


@pytest.fixture(scope="session")
def revoked_tsa(tsa_servers: dict[str, TsaServer]) -> TsaServer:
    """Same root as `tsa_server`; its certificate was revoked (key compromise) a day before
    the session started, as its CRL and OCSP responder say."""
    return tsa_servers["revoked"]


@pytest.fixture(scope="session")
def qualified_tsa(tsa_servers: dict[str, TsaServer]) -> TsaServer:
    """Same root as `tsa_server`; its tokens carry the qcStatement of a qualified token,
    and its certificate runs 8 years from the session start (it can renew the others)."""
    return tsa_servers["qualified"]


@pytest.fixture(scope="session")
def untrusted_tsa(tsa_servers: dict[str, TsaServer]) -> TsaServer:
    """A TSA under another root CA, one that `tsa_server.trust_anchor` does not vouch for."""
    return tsa_servers["untrusted"]
