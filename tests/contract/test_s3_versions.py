"""Write-once on S3 by the server's condition, and reads by the version recorded at put.

Object Lock locks versions, not keys: anyone allowed PutObject or DeleteObject may put a
new version or a delete marker over a locked object. These tests do so with a raw
client, as such a writer would, on the real SeaweedFS.
"""

from __future__ import annotations

import io
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from hramba.core.errors import Conflict, NotFound
from hramba.core.types import Digest, ObjectKey
from storage.s3 import S3ObjectStore

FAR = datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)
DATA = b"<Invoice>the recorded one</Invoice>\n"


def key(name: str) -> ObjectKey:
    return ObjectKey(f"units/T1/{'0' * 32}/files/{name}")


def put(store: S3ObjectStore, k: ObjectKey, data: bytes = DATA) -> str | None:
    return store.put(k, io.BytesIO(data), size=len(data), sha256=Digest.of_bytes(data),
                     retain_until=FAR).version


def versions(store: S3ObjectStore, k: ObjectKey) -> list[str]:
    return [str(v.version_id) for v in store.client.list_objects(
        store.bucket, prefix=k, include_version=True) if v.object_name == k]


def read(store: S3ObjectStore, k: ObjectKey, version: str | None = None) -> bytes:
    with store.open(k, version) as stream:
        return stream.read()


def test_a_second_writer_is_refused_by_the_server_not_by_a_look_first(
        s3_store: S3ObjectStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # The race: the second writer looked before the first one's put landed.
    k = key("raced.xml")
    first = put(s3_store, k)
    monkeypatch.setattr(S3ObjectStore, "exists", lambda self, key: False)
    with pytest.raises(Conflict, match="write-once"):
        put(s3_store, k, b"<Invoice>the second writer's</Invoice>\n")
    assert versions(s3_store, k) == [first]
    assert read(s3_store, k) == DATA


def test_of_writers_at_once_one_stores_the_others_are_refused(s3_store: S3ObjectStore) -> None:
    def attempt(k: ObjectKey, writer: int) -> str:
        try:
            put(s3_store, k, f"<Invoice>writer {writer}</Invoice>\n".encode() * 100)
        except Conflict:
            return "refused"
        return "stored"

    for n in range(5):
        k = key(f"contended{n}.xml")
        with ThreadPoolExecutor(4) as pool:
            outcomes = sorted(pool.map(lambda w, k=k: attempt(k, w), range(4)))
        assert outcomes == ["refused"] * 3 + ["stored"]
        assert len(versions(s3_store, k)) == 1


def test_put_returns_the_version_that_stat_and_open_read(s3_store: S3ObjectStore) -> None:
    k = key("versioned.xml")
    version = put(s3_store, k)
    assert version
    stored = s3_store.stat(k, version)
    assert (stored.version, stored.sha256, stored.retain_until) == (
        version, Digest.of_bytes(DATA), FAR)
    assert s3_store.stat(k).version == version  # the current one, while nothing is over it


def test_a_new_version_over_a_locked_key_leaves_the_recorded_one_readable(
        s3_store: S3ObjectStore) -> None:
    k = key("overwritten.xml")
    version = put(s3_store, k)
    s3_store.client.put_object(s3_store.bucket, k, io.BytesIO(b"intruder"), 8)
    assert read(s3_store, k) == b"intruder"  # what a read by key alone gets
    assert read(s3_store, k, version) == DATA
    assert s3_store.stat(k, version).sha256 == Digest.of_bytes(DATA)
    assert s3_store.stat(k).version != version


def test_a_delete_marker_over_a_locked_key_leaves_the_recorded_one_readable(
        s3_store: S3ObjectStore) -> None:
    k = key("marked.xml")
    version = put(s3_store, k)
    s3_store.client.remove_object(s3_store.bucket, k)  # no version id: a delete marker
    with pytest.raises(NotFound):
        s3_store.stat(k)
    assert read(s3_store, k, version) == DATA
    assert s3_store.stat(k, version).retain_until == FAR
