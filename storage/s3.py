"""S3 object storage with Object Lock (MinIO or any S3 that has it), via the minio SDK.

Every object is written once, with retention mode COMPLIANCE and its retain-until, an
x-amz-checksum-sha256 header the server checks against the bytes, and our own digest as
user metadata; then stat-checked (size, digest, retention) before the caller records it.

Write-once is the server's: a put carries `If-None-Match: *`, so of two writers of one key
the second is refused (412, Conflict) and never adds a version over the first's (a server
that ignores the header leaves only the archive's database claim on the unit). Object
Lock does not stop a new version or a delete marker over a locked key (it locks versions,
not keys), so `put` returns the version id it wrote, the archive records it, and `stat`
and `open` read by it; ops/README.md gives the bucket policy that refuses both to the
archive's credentials.

The server, not this code, refuses a delete before retain-until or under legal hold, and
refuses to shorten retention; those refusals surface as RetentionLocked.

The test tenants' bucket (storage.environments) is made with Object Lock too, so legal
holds work there as in production and a short lock can be configured later without a new
bucket, but the store is given a `max_lock`: its objects are locked at most that long, or
(zero, the default) not at all, and can be deleted.
"""

from __future__ import annotations

import base64
import io
import re
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import urllib3
from minio import Minio
from minio.commonconfig import COMPLIANCE
from minio.error import MinioException, S3Error
from minio.helpers import genheaders
from minio.retention import Retention
from typing_extensions import Buffer

from hramba.core.errors import (
    ConfigurationError,
    Conflict,
    IntegrityViolation,
    NotFound,
    RetentionLocked,
    ServiceUnavailable,
)
from hramba.core.types import (
    CHUNK,
    Clock,
    Digest,
    Hashed,
    ObjectKey,
    StoredObject,
    SystemClock,
    hash_stream,
    retained_until,
)
from storage.environments import capped_lock, describe_lock

SINGLE_PUT_LIMIT = 64 * 1024 * 1024
POOL_SIZE = 16  # connections kept per endpoint: the archive stores from several threads
LOCK_REFUSALS = {"AccessDenied", "ObjectLocked"}
CREDENTIAL_REFUSALS = {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch"}
NOT_FOUND = {"NoSuchKey", "NoSuchVersion", "ResourceNotFound"}
CHECKSUM_REFUSALS = {"BadDigest", "XAmzContentChecksumMismatch", "InvalidDigest"}
WRITE_ONCE_REFUSALS = {"PreconditionFailed"}  # If-None-Match: * on a key that has an object


class S3ObjectStore:
    """ObjectStore on an S3 bucket with Object Lock (COMPLIANCE mode)."""

    def __init__(self, endpoint: str, bucket: str, access_key: str, secret_key: str, *,
                 secure: bool = True, region: str = "", clock: Clock | None = None,
                 max_lock: timedelta | None = None, timeout: float = 10) -> None:
        # A stopped server is reported within 30 s with the default `timeout`
        # (storage.timeout, issue #16): a connection refused or not made within 3 s is
        # tried again twice, with backoff (nothing was sent, so any call may be); an
        # answer that does not come within `timeout` is not waited for again: a server
        # that accepted the request and is silent that long is down, and a put (If-None-
        # Match) that landed would be refused as a conflict the second time. minio adds
        # no retries of its own. Worst case of one call: max(3 x 3 + 0.5 + 1, timeout).
        http = urllib3.PoolManager(
            maxsize=POOL_SIZE, timeout=urllib3.Timeout(connect=min(timeout, 3), read=timeout),
            retries=urllib3.Retry(total=2, connect=2, read=0, other=0, backoff_factor=0.5,
                                  backoff_max=2))
        try:
            self.client = Minio(endpoint, access_key=access_key, secret_key=secret_key,
                                secure=secure, region=region or None, http_client=http)
        except ValueError as exc:  # "invalid port", "path in endpoint is not allowed"
            raise ConfigurationError(f"storage.endpoint: {exc}") from exc
        self.bucket = bucket
        self.clock = clock or SystemClock()
        self.max_lock = max_lock  # None: as asked (production); see capped_lock
        self.description = (f"s3 {'https' if secure else 'http'}://{endpoint}/{bucket}"
                            + describe_lock(max_lock))

    def ensure_bucket(self) -> None:
        """Create the bucket with Object Lock if missing; refuse one without it."""
        with _translated(f"bucket {self.bucket}"):
            if not self.client.bucket_exists(self.bucket):
                self.client.make_bucket(self.bucket, object_lock=True)
            try:
                self.client.get_object_lock_config(self.bucket)
            except S3Error as exc:
                if exc.code != "ObjectLockConfigurationNotFoundError":
                    raise
                raise ConfigurationError(
                    f"bucket {self.bucket} has no Object Lock; units need a bucket "
                    "created with Object Lock enabled") from exc

    def put(self, key: ObjectKey, data: BinaryIO, *, size: int, sha256: Digest,
            retain_until: datetime) -> StoredObject:
        lock = capped_lock(retain_until, self.clock.now(), self.max_lock)
        retention = Retention(COMPLIANCE, lock.astimezone(UTC)) if lock else None
        with _translated(f"put {key}"):
            if size <= SINGLE_PUT_LIMIT:
                version = self._put_single(key, data, size, sha256, retention)
            else:
                version = self._put_multipart(key, data, size, sha256, retention)
        return self._check_stored(key, version, size, sha256, lock)

    def _put_single(self, key: ObjectKey, data: BinaryIO, size: int, sha256: Digest,
                    retention: Retention | None) -> str | None:
        """One PutObject, refused by the server if the key has an object (412).

        The SDK's put_object files every header that is not x-amz-* or standard as user
        metadata (x-amz-meta-if-none-match), so the request is made one level down, with
        the headers put_object would send; it too holds the whole part in memory.
        """
        # The server recomputes the checksum over the body and rejects a mismatch; S3
        # requires one on any upload that carries Object Lock retention.
        headers = genheaders({"sha256": sha256.hex, "x-amz-sdk-checksum-algorithm": "SHA256",
                              "x-amz-checksum-sha256": sha256.b64},
                             None, None, retention, legal_hold=False)
        headers |= {"Content-Type": "application/octet-stream", "If-None-Match": "*"}
        written = self.client._put_object(self.bucket, key, data.read(size), headers)
        return written.version_id

    def _put_multipart(self, key: ObjectKey, data: BinaryIO, size: int, sha256: Digest,
                       retention: Retention | None) -> str | None:
        """Large objects: upload unlocked, read back and hash, lock only if they match.

        A whole-object checksum header does not apply to multipart uploads, so the check
        is ours; an upload that does not match is removed before it is ever locked. The
        SDK sends no condition with the upload's completion, so write-once is a HEAD
        before it here (and the archive's claim on the unit against a second writer).
        """
        if self.exists(key):
            raise Conflict(f"object {key} already exists; objects are write-once")
        written = self.client.put_object(self.bucket, key, data, size,
                                         metadata={"sha256": sha256.hex})
        version = written.version_id
        with self._open(key, version) as stream:
            got = hash_stream(stream)
        if got != Hashed(size, sha256):
            self.client.remove_object(self.bucket, key, version_id=version)
            raise IntegrityViolation(f"put {key}: storage holds {got.size} bytes "
                                     f"{got.sha256}, expected {size} bytes {sha256}")
        if retention:
            self.client.set_object_retention(self.bucket, key, retention, version_id=version)
        return version

    def _check_stored(self, key: ObjectKey, version: str | None, size: int, sha256: Digest,
                      retain_until: datetime | None) -> StoredObject:
        stored = self.stat(key, version)
        if stored.size != size or stored.sha256 != sha256:
            raise IntegrityViolation(f"put {key}: storage holds {stored.size} bytes "
                                     f"{stored.sha256}, expected {size} bytes {sha256}")
        if retain_until and not retained_until(stored, retain_until):
            raise IntegrityViolation(f"put {key}: storage retention {stored.retain_until} is "
                                     f"shorter than {retain_until}")
        return stored

    def sync(self) -> None:
        """Nothing to do: S3 acknowledges a put only once the object is durable."""

    def stat(self, key: ObjectKey, version: str | None = None) -> StoredObject:
        with _translated(f"stat {key}"):
            obj = self.client.stat_object(self.bucket, key, version_id=version,
                                          extra_headers={"x-amz-checksum-mode": "ENABLED"})
        meta = obj.metadata or {}
        retain = meta.get("x-amz-object-lock-retain-until-date")
        return StoredObject(
            key=key, size=int(obj.size or 0), sha256=_stored_digest(meta),
            retain_until=_parse_time(str(retain)) if retain else None,
            legal_hold=meta.get("x-amz-object-lock-legal-hold") == "ON",
            version=obj.version_id)

    def open(self, key: ObjectKey, version: str | None = None
             ) -> AbstractContextManager[BinaryIO]:
        return self._open(key, version)

    @contextmanager
    def _open(self, key: ObjectKey, version: str | None = None) -> Iterator[BinaryIO]:
        with _translated(f"get {key}"):
            response = self.client.get_object(self.bucket, key, version_id=version)
        try:
            yield io.BufferedReader(_ResponseReader(response), CHUNK)
        finally:
            response.close()
            response.release_conn()

    def link(self, key: ObjectKey, expires: timedelta) -> str:
        self.stat(key)  # NotFound rather than a link to nothing
        with _translated(f"presign {key}"):
            return str(self.client.presigned_get_object(self.bucket, key, expires=expires))

    def exists(self, key: ObjectKey) -> bool:
        try:
            self.stat(key)
        except NotFound:
            return False
        return True

    def keys(self, prefix: str) -> Iterator[ObjectKey]:
        with _translated(f"list {prefix}"):
            for obj in self.client.list_objects(self.bucket, prefix=prefix, recursive=True):
                yield ObjectKey(obj.object_name)

    def set_retention(self, key: ObjectKey, retain_until: datetime) -> None:
        current = self.stat(key).retain_until
        lock = capped_lock(retain_until, self.clock.now(), self.max_lock)
        if lock is None:
            return  # a store that locks nothing
        if current and lock < current:
            raise RetentionLocked(f"object {key}: retention can be extended, never shortened")
        with _translated(f"retention {key}", refusals=True):
            self.client.set_object_retention(
                self.bucket, key, Retention(COMPLIANCE, lock.astimezone(UTC)))

    def set_legal_hold(self, key: ObjectKey, on: bool) -> None:
        with _translated(f"legal hold {key}"):
            if on:
                self.client.enable_object_legal_hold(self.bucket, key)
            else:
                self.client.disable_object_legal_hold(self.bucket, key)

    def delete(self, key: ObjectKey) -> None:
        """Delete every version of `key`; the server refuses while any is retained."""
        with _translated(f"delete {key}", refusals=True):
            removed = self._remove_versions(key)
        if not removed:
            raise NotFound(f"object {key} not found")

    def _remove_versions(self, key: ObjectKey) -> int:
        versions = [v.version_id for v in self.client.list_objects(
            self.bucket, prefix=key, include_version=True) if v.object_name == key]
        for version_id in versions:
            self.client.remove_object(self.bucket, key, version_id=version_id)
        return len(versions)


@contextmanager
def _translated(what: str, *, refusals: bool = False) -> Iterator[None]:
    """SDK and HTTP errors become ours, keeping the cause; messages carry no secrets.

    With `refusals`, an access refusal means Object Lock said no (retention, legal hold).
    """
    try:
        yield
    except S3Error as exc:
        if exc.code in NOT_FOUND:
            raise NotFound(f"{what}: not found") from exc
        if exc.code in WRITE_ONCE_REFUSALS:
            raise Conflict(f"{what}: the key has an object already; objects are write-once"
                           ) from exc
        if refusals and exc.code in LOCK_REFUSALS:
            raise RetentionLocked(f"{what}: refused by storage ({exc.code})") from exc
        if exc.code in CHECKSUM_REFUSALS:
            raise IntegrityViolation(f"{what}: storage rejected the bytes ({exc.code})") from exc
        if exc.code in CREDENTIAL_REFUSALS:
            raise ConfigurationError(f"{what}: storage refused our credentials or policy "
                                     f"({exc.code})") from exc
        raise ServiceUnavailable(f"storage: {what}: {exc.code}") from exc
    except (MinioException, urllib3.exceptions.HTTPError, OSError) as exc:
        raise ServiceUnavailable(f"storage: {what}: {_network_reason(exc)}") from exc


def _network_reason(exc: BaseException) -> str:
    """`Connection refused` rather than `MaxRetryError`: what the system said, if it did."""
    said = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(getattr(exc, "reason", None) or exc))
    return said.group(1).strip() if said else type(exc).__name__


def _stored_digest(meta: Mapping[str, str]) -> Digest | None:
    """The server's own full-object SHA-256 if it has one, else the digest we recorded."""
    checksum = meta.get("x-amz-checksum-sha256", "")
    if checksum and "-" not in checksum:  # "...-N" is a multipart composite, not ours
        return Digest.sha256(base64.b64decode(checksum).hex())
    recorded = meta.get("x-amz-meta-sha256")
    return Digest.sha256(recorded) if recorded else None


class _ResponseReader(io.RawIOBase):
    """A file-like view of a streaming HTTP response."""

    def __init__(self, response: urllib3.BaseHTTPResponse) -> None:
        self._response = response

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Buffer) -> int:
        view = memoryview(buffer).cast("B")
        try:
            chunk = self._response.read(len(view))
        except urllib3.exceptions.HTTPError as exc:
            raise ServiceUnavailable(f"read: {type(exc).__name__}") from exc
        view[: len(chunk)] = chunk
        return len(chunk)


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
