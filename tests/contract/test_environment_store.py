"""Test tenants' objects apart from production's: keys routed by their tenant, and a test
store that locks briefly or not at all (storage.environments)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from minio.commonconfig import COMPLIANCE
from minio.error import S3Error
from minio.retention import Retention
from plugins.s3 import S3Server

from hramba.config import load_settings
from hramba.core.errors import ConfigurationError, RetentionLocked
from hramba.core.types import Digest, ObjectKey, SystemClock
from hramba.ports import ObjectStore
from storage.environments import EnvironmentStore
from storage.keys import tenant_of
from storage.localfs import LocalObjectStore
from storage.s3 import S3ObjectStore

DATA = b"<Invoice>test environment</Invoice>\n"
FAR = datetime(2036, 12, 31, 23, 59, 59, tzinfo=UTC)
PROD_KEY = ObjectKey(f"units/PROD1/{'0' * 32}/files/a.xml")
TEST_KEY = ObjectKey(f"units/TEST1/{'1' * 32}/files/a.xml")


def put(store: ObjectStore, key: ObjectKey, retain_until: datetime = FAR) -> None:
    store.put(key, io.BytesIO(DATA), size=len(DATA), sha256=Digest.of_bytes(DATA),
              retain_until=retain_until)


@pytest.mark.parametrize(("key", "tenant"), [
    (PROD_KEY, "PROD1"), ("units/TEST1/", "TEST1"), ("disposals/T-2/disposal-1-ab.json", "T-2"),
    ("units/", None), ("units/TEST1", None), ("audit/heads/x.json", None), ("", None),
    ("units/../x/", None), ("unitsX/T/", None)])
def test_a_key_names_its_tenant(key: str, tenant: str | None) -> None:
    assert tenant_of(key) == tenant


def _s3(s3_server: S3Server, max_lock: timedelta) -> S3ObjectStore:
    store = S3ObjectStore(s3_server.endpoint, f"hramba-{uuid.uuid4().hex[:12]}-test",
                          s3_server.access_key, s3_server.secret_key, secure=False,
                          max_lock=max_lock)
    store.ensure_bucket()
    return store


@pytest.fixture(params=["localfs", "s3"])
def unlocked(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    """A test tenants' store as configured by default: storage.test_lock_days = 0."""
    if request.param == "localfs":
        yield LocalObjectStore(tmp_path, SystemClock(), max_lock=timedelta(0))
    else:
        yield _s3(request.getfixturevalue("s3_server"), timedelta(0))


def test_the_test_store_keeps_no_retention_and_deletes(unlocked: ObjectStore) -> None:
    put(unlocked, TEST_KEY)
    assert unlocked.stat(TEST_KEY).retain_until is None
    unlocked.set_retention(TEST_KEY, FAR + timedelta(days=1))  # extending: nothing to extend
    assert unlocked.stat(TEST_KEY).retain_until is None
    unlocked.delete(TEST_KEY)
    assert not unlocked.exists(TEST_KEY)


def test_a_legal_hold_holds_in_the_test_store_too(unlocked: ObjectStore) -> None:
    put(unlocked, TEST_KEY)
    unlocked.set_legal_hold(TEST_KEY, True)
    with pytest.raises(RetentionLocked):
        unlocked.delete(TEST_KEY)
    unlocked.set_legal_hold(TEST_KEY, False)
    unlocked.delete(TEST_KEY)
    assert not unlocked.exists(TEST_KEY)


def retention(store: S3ObjectStore, key: ObjectKey) -> Retention | None:
    """The object's retention as the server reports it, read through the SDK."""
    try:
        return store.client.get_object_retention(store.bucket, key)
    except S3Error as exc:  # SeaweedFS's answer for an object without retention
        if exc.code != "ObjectLockConfigurationNotFoundError":
            raise
        return None


def test_an_s3_test_object_carries_no_object_lock(s3_server: S3Server) -> None:
    store = _s3(s3_server, timedelta(0))
    put(store, TEST_KEY)
    assert retention(store, TEST_KEY) is None
    headers = store.client.stat_object(store.bucket, TEST_KEY).metadata
    assert "x-amz-object-lock-mode" not in {h.lower() for h in headers}


@pytest.mark.parametrize("kind", ["localfs", "s3"])
def test_a_short_test_lock_is_at_most_the_configured_days(
        kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    days = timedelta(days=2)
    store: ObjectStore = (LocalObjectStore(tmp_path, SystemClock(), max_lock=days)
                          if kind == "localfs" else
                          _s3(request.getfixturevalue("s3_server"), days))
    before = datetime.now(UTC)
    put(store, TEST_KEY)
    until = store.stat(TEST_KEY).retain_until
    assert until is not None
    assert before + days - timedelta(seconds=1) <= until <= (
        datetime.now(UTC) + days)
    with pytest.raises(RetentionLocked):
        store.delete(TEST_KEY)
    if isinstance(store, S3ObjectStore):  # what the server itself enforces
        enforced = retention(store, TEST_KEY)
        assert enforced is not None
        assert enforced.mode == COMPLIANCE
        assert enforced.retain_until_date <= datetime.now(UTC) + days


@pytest.fixture
def routed(tmp_path: Path) -> tuple[EnvironmentStore, list[int]]:
    """A production and a test store; PROD1 is production's, TEST1 test's. The list
    counts how often the table of tenants was read."""
    loads: list[int] = []

    def environments() -> dict[str, str]:
        loads.append(1)
        return {"PROD1": "production", "TEST1": "test", "OLD1": "test"}

    return EnvironmentStore(LocalObjectStore(tmp_path / "production", SystemClock()),
                            LocalObjectStore(tmp_path / "test", SystemClock(),
                                             max_lock=timedelta(0)), environments), loads


def test_keys_go_to_the_store_of_their_tenants_environment(
        routed: tuple[EnvironmentStore, list[int]]) -> None:
    store, _ = routed
    put(store, PROD_KEY)
    put(store, TEST_KEY)
    assert store.production.exists(PROD_KEY)
    assert not store.test.exists(PROD_KEY)
    assert store.test.exists(TEST_KEY)
    assert not store.production.exists(TEST_KEY)
    assert store.stat(PROD_KEY).retain_until == FAR
    assert store.stat(TEST_KEY).retain_until is None
    store.delete(TEST_KEY)
    with pytest.raises(RetentionLocked):
        store.delete(PROD_KEY)


def test_listing_reads_one_tenants_store_or_both(
        routed: tuple[EnvironmentStore, list[int]]) -> None:
    store, _ = routed
    old = ObjectKey(f"units/OLD1/{'2' * 32}/files/b.xml")  # a test tenant's former code
    for key in (PROD_KEY, TEST_KEY, old):
        put(store, key)
    assert sorted(store.keys("units/")) == sorted([PROD_KEY, TEST_KEY, old])
    assert list(store.keys("units/TEST1/")) == [TEST_KEY]
    assert list(store.test.keys("units/OLD1/")) == [old]


def test_keys_of_no_known_tenant_go_to_production_and_the_table_is_read_again(
        routed: tuple[EnvironmentStore, list[int]]) -> None:
    store, loads = routed
    assert store.route(TEST_KEY) is store.test
    assert store.route(PROD_KEY) is store.production
    assert len(loads) == 1  # known codes: read once
    assert store.route("audit/heads/0000000001.json") is store.production
    assert len(loads) == 1  # a key of no tenant needs no table
    assert store.route(f"units/NEW1/{'3' * 32}/manifest.json") is store.production
    assert len(loads) == 2  # an unknown code: read again (it may have been registered since)


def test_the_test_store_has_its_own_bucket_and_folder_by_default(tmp_path: Path) -> None:
    s = load_settings(home=str(tmp_path), environ={}).storage
    assert (s.test_bucket, s.test_path, s.test_lock_days) == (
        "hramba-units-test", tmp_path / "objects-test", 0)
    for env in ({"HRAMBA_STORAGE_TEST_BUCKET": "hramba-units"},
                {"HRAMBA_STORAGE_TEST_PATH": str(tmp_path / "objects")},
                {"HRAMBA_STORAGE_TEST_LOCK_DAYS": "-1"}):
        with pytest.raises(ConfigurationError, match=r"storage\.test_"):
            load_settings(home=str(tmp_path), environ=env)
