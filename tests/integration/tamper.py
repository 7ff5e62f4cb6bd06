"""Change stored objects behind the archive's back, as an intruder or a bad disk would."""

from __future__ import annotations

import io
import os

from hramba.core.types import ObjectKey
from hramba.ports import ObjectStore
from storage.environments import EnvironmentStore
from storage.localfs import LocalObjectStore
from storage.s3 import S3ObjectStore


def flip_byte(store: ObjectStore, key: ObjectKey, offset: int = 10) -> None:
    data = bytearray(_read(store, key))
    data[offset] ^= 0x01
    _overwrite(store, key, bytes(data))


def remove(store: ObjectStore, key: ObjectKey) -> None:
    store = _adapter(store, key)
    if isinstance(store, LocalObjectStore):
        (store.root / "objects" / key).unlink()
    elif isinstance(store, S3ObjectStore):
        # Without a version id S3 only adds a delete marker: the object is gone for readers.
        store.client.remove_object(store.bucket, key)
    else:
        raise TypeError(store)


def add(store: ObjectStore, key: ObjectKey, data: bytes) -> None:
    _overwrite(store, key, data)


def changed_code(store: ObjectStore, key: ObjectKey) -> str:
    """What fixity reports after `flip_byte`: the bytes changed (HRB-F001), or on S3,
    where a locked version cannot change, a new version over the one the archive recorded
    and still reads (HRB-F006)."""
    return "HRB-F006" if isinstance(_adapter(store, key), S3ObjectStore) else "HRB-F001"


def removed_code(store: ObjectStore, key: ObjectKey) -> str:
    """What fixity reports after `remove`: missing (HRB-F002), or on S3 a delete marker
    over the recorded version (HRB-F006)."""
    return "HRB-F006" if isinstance(_adapter(store, key), S3ObjectStore) else "HRB-F002"


def reads_recorded_bytes(store: ObjectStore, key: ObjectKey) -> bool:
    """After `flip_byte` or `remove`, does the archive still read what it stored? On S3
    it does: it reads the version recorded at put, which stays locked."""
    return isinstance(_adapter(store, key), S3ObjectStore)


def _read(store: ObjectStore, key: ObjectKey) -> bytes:
    with store.open(key) as stream:
        return stream.read()


def _adapter(store: ObjectStore, key: ObjectKey) -> ObjectStore:
    """The adapter (local folder or S3 bucket) that holds `key`."""
    return store.route(key) if isinstance(store, EnvironmentStore) else store


def _overwrite(store: ObjectStore, key: ObjectKey, data: bytes) -> None:
    store = _adapter(store, key)
    if isinstance(store, LocalObjectStore):
        path = store.root / "objects" / key
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            os.chmod(path, 0o644)
        path.write_bytes(data)
    elif isinstance(store, S3ObjectStore):
        # A locked version cannot change, but a new version on top is what readers get.
        store.client.put_object(store.bucket, key, io.BytesIO(data), len(data))
    else:
        raise TypeError(store)
