"""What only the S3 store does: multipart uploads of large objects, server-side checks."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from plugins.s3 import S3Server

import storage.s3
from hramba.core.errors import ConfigurationError, IntegrityViolation, RetentionLocked
from hramba.core.types import Digest, ObjectKey
from storage.s3 import S3ObjectStore

FAR = datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)
BIG = bytes(range(256)) * (24 * 1024)  # 6 MiB: above minio's 5 MiB part size


@pytest.fixture
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(storage.s3, "SINGLE_PUT_LIMIT", 1024 * 1024)


@pytest.mark.usefixtures("small_limit")
def test_large_object_goes_multipart_and_is_locked(s3_store: S3ObjectStore) -> None:
    key = ObjectKey("units/T1/" + "a" * 32 + "/files/big.bin")
    stored = s3_store.put(key, io.BytesIO(BIG), size=len(BIG), sha256=Digest.of_bytes(BIG),
                          retain_until=FAR)
    assert stored.retain_until == FAR
    assert stored.sha256 == Digest.of_bytes(BIG)
    with pytest.raises(RetentionLocked):
        s3_store.delete(key)


@pytest.mark.usefixtures("small_limit")
def test_large_object_with_wrong_digest_is_removed_not_locked(s3_store: S3ObjectStore) -> None:
    key = ObjectKey("units/T1/" + "b" * 32 + "/files/big.bin")
    with pytest.raises(IntegrityViolation):
        s3_store.put(key, io.BytesIO(BIG), size=len(BIG), sha256=Digest.of_bytes(b"x"),
                     retain_until=FAR)
    assert list(s3_store.client.list_objects(s3_store.bucket, prefix=key,
                                             include_version=True)) == []


def test_a_bucket_without_object_lock_is_refused(s3_server: S3Server) -> None:
    plain = S3ObjectStore(s3_server.endpoint, "plain-bucket", s3_server.access_key,
                          s3_server.secret_key, secure=False)
    s3_server.client().make_bucket(plain.bucket)
    with pytest.raises(ConfigurationError, match="Object Lock"):
        plain.ensure_bucket()


def test_wrong_credentials_are_a_configuration_error(s3_server: S3Server) -> None:
    wrong = S3ObjectStore(s3_server.endpoint, "any-bucket", s3_server.access_key,
                          "not-the-secret", secure=False)
    with pytest.raises(ConfigurationError, match="credentials") as caught:
        wrong.ensure_bucket()
    assert "not-the-secret" not in str(caught.value)
