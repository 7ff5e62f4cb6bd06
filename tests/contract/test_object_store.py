"""One contract for every ObjectStore: the local store must behave as the S3 store does,
and so must the store that routes test tenants' keys elsewhere (storage.environments)."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hramba.core.errors import Conflict, IntegrityViolation, NotFound, RetentionLocked
from hramba.core.types import Digest, ObjectKey, SystemClock
from hramba.ports import ObjectStore
from storage.environments import EnvironmentStore
from storage.localfs import LocalObjectStore

DATA = b"<Invoice>contract</Invoice>\n"
SHA = Digest.of_bytes(DATA)
FAR = datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)


@pytest.fixture(params=["localfs", "s3", "routed"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "localfs":
        yield LocalObjectStore(tmp_path / "objects", SystemClock())
    elif request.param == "routed":  # T1 and T2 are production tenants: as the plain store
        yield EnvironmentStore(LocalObjectStore(tmp_path / "objects", SystemClock()),
                               LocalObjectStore(tmp_path / "test", SystemClock(),
                                                max_lock=timedelta(0)),
                               lambda: {"T1": "production", "T2": "production"})
    else:
        yield request.getfixturevalue("s3_store")


def key(name: str) -> ObjectKey:
    return ObjectKey(f"units/T1/{'0' * 32}/files/{name}")


def put(store: ObjectStore, name: str, data: bytes = DATA,
        retain_until: datetime = FAR) -> ObjectKey:
    k = key(name)
    store.put(k, io.BytesIO(data), size=len(data), sha256=Digest.of_bytes(data),
              retain_until=retain_until)
    return k


def test_put_then_stat_and_open_give_the_same_bytes(store: ObjectStore) -> None:
    k = put(store, "a.xml")
    stored = store.stat(k)
    assert (stored.size, stored.sha256) == (len(DATA), SHA)
    assert stored.retain_until == FAR
    assert stored.legal_hold is False
    with store.open(k) as stream:
        assert stream.read() == DATA
    assert store.exists(k)


def test_put_refuses_bytes_that_do_not_match_the_digest(store: ObjectStore) -> None:
    k = key("wrong.xml")
    with pytest.raises(IntegrityViolation):
        store.put(k, io.BytesIO(DATA), size=len(DATA), sha256=Digest.of_bytes(b"other"),
                  retain_until=FAR)
    assert not store.exists(k)


def test_objects_are_write_once(store: ObjectStore) -> None:
    k = put(store, "once.xml")
    with pytest.raises(Conflict):
        put(store, "once.xml", b"second version")
    with store.open(k) as stream:
        assert stream.read() == DATA


def test_missing_object_is_not_found(store: ObjectStore) -> None:
    assert not store.exists(key("nothing.xml"))
    with pytest.raises(NotFound):
        store.stat(key("nothing.xml"))
    with pytest.raises(NotFound), store.open(key("nothing.xml")) as stream:
        stream.read()


def test_delete_before_retain_until_is_refused(store: ObjectStore) -> None:
    k = put(store, "kept.xml")
    with pytest.raises(RetentionLocked):
        store.delete(k)
    assert store.exists(k)


def test_retention_extends_but_never_shortens(store: ObjectStore) -> None:
    k = put(store, "extend.xml")
    with pytest.raises(RetentionLocked):
        store.set_retention(k, FAR - timedelta(days=1))
    store.set_retention(k, FAR + timedelta(days=365))
    assert store.stat(k).retain_until == FAR + timedelta(days=365)


def test_legal_hold_on_and_off(store: ObjectStore) -> None:
    k = put(store, "held.xml")
    store.set_legal_hold(k, True)
    assert store.stat(k).legal_hold is True
    store.set_legal_hold(k, False)
    assert store.stat(k).legal_hold is False


def test_expired_object_can_be_deleted_unless_held(store: ObjectStore) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=2)
    held, free = put(store, "held-expiring.xml", retain_until=soon), put(
        store, "expiring.xml", retain_until=soon)
    store.set_legal_hold(held, True)
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 1.5)
    with pytest.raises(RetentionLocked):
        store.delete(held)
    store.delete(free)
    assert not store.exists(free)
    assert store.exists(held)


def test_keys_lists_by_prefix(store: ObjectStore) -> None:
    put(store, "one.xml")
    put(store, "two.xml")
    other = ObjectKey(f"units/T2/{'1' * 32}/files/three.xml")
    store.put(other, io.BytesIO(DATA), size=len(DATA), sha256=SHA, retain_until=FAR)
    assert sorted(store.keys("units/T1/")) == [key("one.xml"), key("two.xml")]
    assert len(list(store.keys("units/"))) == 3


def test_large_object_streams_through(store: ObjectStore) -> None:
    data = bytes(range(256)) * 40_000  # 10 MB, more than one read chunk
    k = put(store, "large.bin", data)
    with store.open(k) as stream:
        assert Digest.of_bytes(stream.read()) == Digest.of_bytes(data)
