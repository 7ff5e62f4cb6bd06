"""RFC 3161 over HTTP, with rfc3161ng for the request and response.

rfc3161ng defaults to SHA-1 and checks only RSA signatures without any certificate path;
this wrapper never lets SHA-1 through and accepts a response only when its status is
granted and its nonce and message imprint are the ones asked for. The full validation of
the token (signature, signer binding, EKU, path) is hramba.trust.tokens.check_token.
"""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

import rfc3161ng
from pyasn1.codec.der import encoder

from hramba.core.errors import ConfigurationError, IntegrityViolation, ServiceUnavailable
from hramba.core.redact import redact_url
from hramba.trust.tokens import ALLOWED_IMPRINTS, tst_info

GRANTED = (0, 1)  # granted, grantedWithMods (RFC 3161 §2.4.2)


class Rfc3161Timestamper:
    """Timestamper that asks a TSA over HTTP(S)."""

    def __init__(self, url: str, *, username: str = "", password: str = "",
                 timeout: float = 20, policy: str = "") -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"tsa.url must be an http(s) URL, not {redact_url(url)!r}")
        self.url = url
        # In every message and in each batch's row (batch.sealed): no password, no query.
        self.description = f"TSA {redact_url(f'{parts.scheme}://{parts.netloc}{parts.path}')}"
        self._auth = (username, password) if username else None
        self._timeout = timeout
        self._policy = policy or None

    def timestamp(self, digest: bytes, algorithm: str) -> bytes:
        if algorithm not in ALLOWED_IMPRINTS:
            raise ConfigurationError(f"hash algorithm {algorithm} is not allowed for tokens")
        nonce = secrets.randbits(63)
        client = rfc3161ng.RemoteTimestamper(
            self.url, hashname=algorithm, include_tsa_certificate=True, timeout=self._timeout,
            username=self._auth[0] if self._auth else None,
            password=self._auth[1] if self._auth else None, tsa_policy_id=self._policy)
        try:
            response = client(digest=digest, nonce=nonce, return_tsr=True)
        except (rfc3161ng.TimestampingError, ValueError) as exc:
            raise ServiceUnavailable(f"tsa: {self.description}: no usable answer "
                                     f"({_reason(exc)})") from exc
        status = int(response["status"]["status"])
        if status not in GRANTED:
            raise ServiceUnavailable(f"tsa: {self.description}: request not granted "
                                     f"(PKIStatus {status})")
        token = bytes(encoder.encode(response.time_stamp_token))
        self._check(token, digest, algorithm, nonce)
        return token

    def _check(self, token: bytes, digest: bytes, algorithm: str, nonce: int) -> None:
        try:
            info = tst_info(token)
        except ValueError as exc:
            raise IntegrityViolation(f"{self.description}: answer is no token: {exc}") from exc
        imprint = info["message_imprint"]
        if info["nonce"].native != nonce:
            raise IntegrityViolation(f"{self.description}: answer carries the wrong nonce")
        if (imprint["hash_algorithm"]["algorithm"].native != algorithm
                or imprint["hashed_message"].native != digest):
            raise IntegrityViolation(f"{self.description}: token is over another digest")


def _reason(exc: Exception) -> str:
    """`ReadTimeout` rather than `TimestampingError`: what requests said, when it did (a
    stalled TSA is a read timeout after tsa.timeout seconds, one attempt: a request is
    not idempotent, each carries a fresh nonce)."""
    cause = exc.args[1] if len(exc.args) > 1 and isinstance(exc.args[1], Exception) else exc
    return type(cause).__name__
