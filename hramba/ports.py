"""The small interfaces that services use and adapters implement."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from email.message import EmailMessage
from typing import BinaryIO, Protocol

from hramba.core.types import Digest, ObjectKey, StoredObject


class ObjectStore(Protocol):
    """Write-once object storage with retention: storage.s3, storage.localfs.

    `put` refuses an existing key (Conflict, even from a second writer at the same moment)
    and a stream whose bytes do not match `sha256`, and never leaves a key pointing at
    partial bytes; it returns the object's `version`, by which `stat` and `open` then read
    those bytes whatever was written over the key since (None: the key's current object);
    `delete` and a shorter `set_retention` are refused before retain-until or on hold
    (RetentionLocked).
    """

    description: str

    def put(self, key: ObjectKey, data: BinaryIO, *, size: int, sha256: Digest,
            retain_until: datetime) -> StoredObject: ...
    def sync(self) -> None:
        """Make every object put so far durable; called before rows refer to them."""
    def stat(self, key: ObjectKey, version: str | None = None) -> StoredObject: ...
    def open(self, key: ObjectKey, version: str | None = None
             ) -> AbstractContextManager[BinaryIO]: ...
    def exists(self, key: ObjectKey) -> bool: ...
    def keys(self, prefix: str) -> Iterator[ObjectKey]: ...
    def set_retention(self, key: ObjectKey, retain_until: datetime) -> None: ...
    def set_legal_hold(self, key: ObjectKey, on: bool) -> None: ...
    def delete(self, key: ObjectKey) -> None: ...
    def link(self, key: ObjectKey, expires: timedelta) -> str:
        """Where someone without the archive's credentials can fetch the object: an S3
        presigned GET that stops working after `expires`; for local files, their file://
        URI (a delivery folder; what removes them is the purge, not time)."""


class Timestamper(Protocol):
    """An RFC 3161 Time-Stamp Authority: hramba.trust.tsa (HTTP), hramba.trust.devtsa."""

    description: str

    def timestamp(self, digest: bytes, algorithm: str) -> bytes:
        """A TimeStampToken (CMS ContentInfo, DER) over `digest`, already checked for
        status, nonce and message imprint."""


class PdfSigner(Protocol):
    """Signs PDF documents with the archive's key: hramba.trust.pdf (PAdES, with a
    signature timestamp and the validation data embedded)."""

    description: str  # whose key, from which file

    def sign(self, pdf: bytes) -> bytes:
        """`pdf` with a signature appended (an incremental update)."""


class Mailer(Protocol):
    """Sends e-mail (notifications to tenants' contact addresses): hramba.mail.SmtpMailer."""

    description: str  # which server, for messages
    sender: str  # the address messages come from (notify.sender)

    def send(self, message: EmailMessage) -> None:
        """Hand `message` (its From, To and Subject set) to the server; returns once the
        server has accepted it, else raises ServiceUnavailable with a short reason."""
