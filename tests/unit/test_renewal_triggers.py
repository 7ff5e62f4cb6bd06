"""What makes a chain due for a new timestamp (RFC 4998 §5.2): a certificate of the TSA's
path expiring within the margin, or a signature algorithm or key the policy calls weak."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hramba.core.types import FixedClock
from hramba.trust.devtsa import YEARS, DevTimestamper, create_dev_tsa
from hramba.trust.report import AlgorithmPolicy
from hramba.trust.tokens import EXPIRING, renewal_reason

NOW = datetime(2026, 3, 5, tzinfo=UTC)
MARGIN = timedelta(days=365)


def _token(folder: Path, ca_days: int | None = None) -> tuple[bytes, x509.Certificate]:
    files = create_dev_tsa(folder, NOW)
    if ca_days is not None:  # the embedded CA certificate, expiring sooner than the TSA's
        ca = cx509.load_pem_x509_certificate(files.ca.read_bytes())
        key = ec.generate_private_key(ec.SECP256R1())
        short = (cx509.CertificateBuilder().subject_name(ca.subject).issuer_name(ca.issuer)
                 .public_key(key.public_key()).serial_number(cx509.random_serial_number())
                 .not_valid_before(NOW - timedelta(days=1))
                 .not_valid_after(NOW + timedelta(days=ca_days)).sign(key, hashes.SHA256()))
        files.ca.write_bytes(short.public_bytes(serialization.Encoding.PEM))
    token = DevTimestamper(files, FixedClock(NOW)).timestamp(b"\x01" * 32, "sha256")
    anchor = x509.Certificate.load(cx509.load_pem_x509_certificate(
        files.ca.read_bytes()).public_bytes(serialization.Encoding.DER))
    return token, anchor


def test_a_sound_token_is_not_due(tmp_path: Path) -> None:
    token, anchor = _token(tmp_path / "tsa")
    assert renewal_reason(token, NOW + MARGIN, [anchor], AlgorithmPolicy()) is None


def test_the_tsa_certificate_expiring_within_the_margin(tmp_path: Path) -> None:
    token, anchor = _token(tmp_path / "tsa")  # the TSA's certificate runs for YEARS
    deadline = NOW + timedelta(days=365 * YEARS)
    assert renewal_reason(token, deadline, [anchor], AlgorithmPolicy()) == EXPIRING


def test_a_ca_certificate_of_the_chain_expiring_within_the_margin(tmp_path: Path) -> None:
    token, anchor = _token(tmp_path / "tsa", ca_days=100)
    reason = renewal_reason(token, NOW + MARGIN, [anchor], AlgorithmPolicy())
    assert reason == "a CA certificate of the TSA's chain expires within the margin"
    assert renewal_reason(token, NOW + timedelta(days=50), [anchor], AlgorithmPolicy()) is None


def test_a_weak_signature_algorithm_or_key(tmp_path: Path) -> None:
    token, anchor = _token(tmp_path / "tsa")
    weak = AlgorithmPolicy(weak_signatures=("sha256_ecdsa",))
    assert renewal_reason(token, NOW + MARGIN, [anchor], weak) == (
        "signature algorithm sha256_ecdsa is weakening")
    small = AlgorithmPolicy(min_ec_bits=384)
    assert renewal_reason(token, NOW + MARGIN, [anchor], small) == (
        "TSA key EC 256 bits is below 384")
