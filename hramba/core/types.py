"""Value types shared by every layer."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import BinaryIO, NewType, Protocol

ObjectKey = NewType("ObjectKey", str)
"""A storage key; built only by storage.keys, never from raw input."""

CHUNK = 1024 * 1024
_HEX64 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class Digest:
    """A message digest that always carries its algorithm."""

    algorithm: str
    hex: str

    def __post_init__(self) -> None:
        if self.algorithm != "sha256" or not _HEX64.fullmatch(self.hex):
            raise ValueError(f"not a sha256 digest: {self.algorithm}:{self.hex!r}")

    @classmethod
    def sha256(cls, hex_value: str) -> Digest:
        return cls("sha256", hex_value)

    @classmethod
    def of_bytes(cls, data: bytes) -> Digest:
        return cls("sha256", hashlib.sha256(data).hexdigest())

    @property
    def b64(self) -> str:
        """Base64 of the raw digest, as S3's x-amz-checksum-sha256 wants it."""
        return base64.b64encode(bytes.fromhex(self.hex)).decode("ascii")

    def __str__(self) -> str:
        return f"{self.algorithm}:{self.hex}"


@dataclass(frozen=True, slots=True)
class Hashed:
    """Size and digest of one bitstream, measured while streaming it."""

    size: int
    sha256: Digest


class HashingReader:
    """Wraps a binary stream and hashes what is read through it."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream
        self._digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._stream.read(n)
        self._digest.update(chunk)
        self.size += len(chunk)
        return chunk

    def hashed(self) -> Hashed:
        return Hashed(self.size, Digest.sha256(self._digest.hexdigest()))


def hash_stream(stream: BinaryIO) -> Hashed:
    """Read a stream to its end in chunks, returning its size and SHA-256."""
    reader = HashingReader(stream)
    while reader.read(CHUNK):
        pass
    return reader.hashed()


@dataclass(frozen=True, slots=True)
class StoredObject:
    """What an object store says about one object.

    `sha256` is the digest the store recorded at upload and `retain_until` the retention
    it enforces; either is None when the store holds none (an object written behind the
    archive's back). `version` is the store's id of these bytes (S3's version id), which
    the archive records at put and reads by, since a key's current version can change
    under Object Lock (a new version or a delete marker is allowed over a locked one);
    None for a store without versions (the local store).
    """

    key: ObjectKey
    size: int
    sha256: Digest | None
    retain_until: datetime | None
    legal_hold: bool
    version: str | None = None


def iso(moment: date | datetime | None) -> str | None:
    """ISO 8601 text of a date or time, or None: how reports and JSON show them."""
    return moment.isoformat() if moment is not None else None


def retained_until(stored: StoredObject, wanted: datetime) -> bool:
    """Does storage keep the object at least until `wanted` (to the second, as S3 does)?"""
    return stored.retain_until is not None and (
        stored.retain_until >= wanted.replace(microsecond=0))


class Clock(Protocol):
    """Source of the current time; tz-aware UTC. Tests pass a fixed clock."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that says what it is told; for tests and time travel."""

    at: datetime

    def now(self) -> datetime:
        return self.at
