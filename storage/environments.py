"""Test and production kept apart: one ObjectStore over two, chosen by the key's tenant.

A test tenant's objects go to a store of their own (its own bucket, or its own folder)
that locks them for at most a few days (`storage.test_lock_days`; none by default), so
test data is never locked for ten years beside production's, and can be deleted.

Why route inside the store, by the tenant a key names (storage.keys.tenant_of), rather
than give each service a store per tenant or a key prefix per environment: every service
that reads or writes a unit's objects (archive, fixity, get, evidence export, disposal,
renewal, seal's evidence copies, holds) already goes through `archive.store` with a key
that names the tenant: built by storage.keys, and stored per file and record in the
database. Routing here keeps all of them unchanged and leaves none of them able to
forget; a prefix per environment would have had every service that builds a key know
the tenant's environment.

Which codes are test tenants' comes from the caller (hramba.wiring reads current and
former codes from the database). A code is never reused and a tenant never changes
environment, so a code once known is known for good; an unknown one reloads the table
once. A key of no known tenant, or of none (the audit log's heads), goes to production:
the side that locks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import BinaryIO

from hramba.core.types import Digest, ObjectKey, StoredObject
from hramba.domain.tenant import TEST
from hramba.ports import ObjectStore
from storage.keys import tenant_of


def capped_lock(retain_until: datetime, now: datetime,
                max_lock: timedelta | None) -> datetime | None:
    """The retain-until a store applies: the one asked for (`max_lock` None: production),
    none (`max_lock` zero), or at most `max_lock` from now (a test store's)."""
    if max_lock is None:
        return retain_until
    if max_lock <= timedelta(0):
        return None
    return min(retain_until, now + max_lock)


def describe_lock(max_lock: timedelta | None) -> str:
    """What a store's description says of its `max_lock` (nothing for production)."""
    if max_lock is None:
        return ""
    return f" (locked at most {max_lock.days} days)" if max_lock else " (no retention)"


class EnvironmentStore:
    """ObjectStore that sends each key to the store of its tenant's environment."""

    def __init__(self, production: ObjectStore, test: ObjectStore,
                 environments: Callable[[], Mapping[str, str]]) -> None:
        self.production, self.test = production, test
        self._environments = environments  # tenant code (current or former) -> environment
        self._known: Mapping[str, str] = {}
        self.description = f"{production.description}, test tenants: {test.description}"

    def route(self, key: str) -> ObjectStore:
        """The store that holds `key` (or every key under the prefix `key`)."""
        code = tenant_of(key)
        if code is None:
            return self.production
        if code not in self._known:
            self._known = self._environments()
        return self.test if self._known.get(code) == TEST else self.production

    def put(self, key: ObjectKey, data: BinaryIO, *, size: int, sha256: Digest,
            retain_until: datetime) -> StoredObject:
        return self.route(key).put(key, data, size=size, sha256=sha256,
                                   retain_until=retain_until)

    def sync(self) -> None:
        self.production.sync()
        self.test.sync()

    def stat(self, key: ObjectKey, version: str | None = None) -> StoredObject:
        return self.route(key).stat(key, version)

    def open(self, key: ObjectKey, version: str | None = None
             ) -> AbstractContextManager[BinaryIO]:
        return self.route(key).open(key, version)

    def exists(self, key: ObjectKey) -> bool:
        return self.route(key).exists(key)

    def keys(self, prefix: str) -> Iterator[ObjectKey]:
        """One tenant's keys from its store; a wider prefix lists both stores."""
        if tenant_of(prefix) is not None:
            yield from self.route(prefix).keys(prefix)
            return
        yield from self.production.keys(prefix)
        yield from self.test.keys(prefix)

    def set_retention(self, key: ObjectKey, retain_until: datetime) -> None:
        self.route(key).set_retention(key, retain_until)

    def set_legal_hold(self, key: ObjectKey, on: bool) -> None:
        self.route(key).set_legal_hold(key, on)

    def delete(self, key: ObjectKey) -> None:
        self.route(key).delete(key)

    def link(self, key: ObjectKey, expires: timedelta) -> str:
        return self.route(key).link(key, expires)
