"""Archive a unit: hash while streaming, store each object with retention, record last.

Object first, row last: a crash before the commit leaves objects without a row. The unit
id is derived from the tenant and the content, so a re-run lands on the same keys and
adopts what the crashed run already stored instead of leaving orphans.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, IntegrityViolation, NotFound, RejectedInput
from hramba.core.types import Digest, Hashed, ObjectKey, hash_stream, retained_until
from hramba.db.engine import transaction
from hramba.db.models import File, Tenant, TrafficRecord, Unit, UnitFinding
from hramba.domain.access import Action
from hramba.domain.manifest import (
    MANIFEST_NAME,
    MANIFEST_ROLE,
    FileEntry,
    Manifest,
    content_digest,
)
from hramba.domain.retention import Assignment, storage_lock
from hramba.domain.search import SearchFields
from hramba.domain.tenant import intake_refusal
from hramba.services import access, audit
from hramba.services.context import Archive
from hramba.services.locks import claimed
from storage.keys import file_key, manifest_key

ROLES = ("envelope", "invoice", "attachment", "document", "package", "derived",
         "validation")
STORE_WORKERS = 4


@dataclass(frozen=True)
class IncomingFile:
    """One file of a unit to be: `open` must give the same bytes each time it is called."""

    name: str
    role: str
    media_type: str
    open: Callable[[], BinaryIO]


@dataclass(frozen=True)
class Outcome:
    outcome: str  # "archived" | "duplicate"
    unit_id: str
    codes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class TenantRef:
    """The tenant a unit goes to; `refusal` says why it takes no new intake, if it does not."""

    id: int
    code: str
    tax_number: str  # tells received from issued invoices (domain.search.direction)
    refusal: str | None = None

    @classmethod
    def of(cls, tenant: Tenant) -> TenantRef:
        return cls(tenant.id, tenant.code, tenant.tax_number,
                   intake_refusal(tenant.code, tenant.offboarded_at, tenant.offboard_reason))


@dataclass(frozen=True)
class UnitInput:
    """Everything needed to archive one unit."""

    tenant: TenantRef
    files: Sequence[IncomingFile]
    metadata: dict[str, Any] = field(default_factory=dict)
    unit_format: str = "other"
    source: str = ""
    findings: Sequence[tuple[str, str]] = ()
    document_key: str | None = None
    traffic: dict[str, Any] | None = None  # exchange data, for a traffic record


@dataclass(frozen=True)
class Measured:
    """A unit whose files are hashed: its content digest decides duplicate or new."""

    input: UnitInput
    entries: list[FileEntry]
    content_sha256: str

    @property
    def unit_id(self) -> str:
        return unit_id_for(self.input.tenant.code, self.content_sha256)


@dataclass(frozen=True)
class _Stored:
    """A unit whose objects are all stored; committing its rows makes it archived."""

    measured: Measured
    manifest: Manifest
    retention: Assignment
    files: list[tuple[FileEntry, ObjectKey, str | None]]  # and the object's version


def unit_id_for(tenant: str, content_sha256: str) -> str:
    return hashlib.sha256(f"{tenant}\n{content_sha256}".encode()).hexdigest()[:32]


def tenant_ref(archive: Archive, code: str) -> TenantRef:
    """The tenant `code` names, for new intake by the principal."""
    return intake_tenant(archive, access.tenant(archive, code, Action.INGEST))


def intake_tenant(archive: Archive, found: access.TenantRef) -> TenantRef:
    """`found` (resolved by access.tenant) as intake's TenantRef; Conflict if it takes no
    new intake (offboarded): ingest and migrations naming it stop here, with the reason."""
    with transaction(archive.db) as session:
        ref = TenantRef.of(session.get_one(Tenant, found.id))
    if ref.refusal:
        raise Conflict(ref.refusal)
    return ref


def archive_unit(archive: Archive, tenant_code: str, files: Sequence[IncomingFile], *,
                 metadata: dict[str, Any] | None = None, unit_format: str = "other",
                 source: str = "", findings: Sequence[tuple[str, str]] = ()) -> Outcome:
    """Store `files` as one unit of `tenant_code`; the same content again is a duplicate."""
    unit = UnitInput(tenant_ref(archive, tenant_code), files, metadata or {}, unit_format,
                     source, findings)
    measured = measure(unit)
    with claimed(archive, claims([measured])):
        return archive_measured(archive, [measured])[0]


def measure(unit: UnitInput) -> Measured:
    """Check the unit's files and hash each (reads them once); stores nothing. A tenant
    that takes no new intake refuses it here (RejectedInput: intake quarantines it)."""
    if unit.tenant.refusal:
        raise RejectedInput(unit.tenant.refusal)
    _check_files(unit.files)
    entries = [_measure(f) for f in unit.files]
    return Measured(unit, entries, content_digest(entries))


def claims(batch: Sequence[Measured]) -> list[str]:
    """What a writer of `batch` must hold (hramba.services.locks.claimed) from its checks
    to its commit: each unit's identity and each document key, so that two processes
    archiving the same content or the same document do not both proceed: the second
    waits, then finds the first's unit (a duplicate) or its key (a conflict)."""
    return [name for m in batch for name in (
        f"unit:{m.input.tenant.id}:{m.content_sha256}",
        *([f"document:{m.input.tenant.id}:{m.input.document_key}"]
          if m.input.document_key else []))]


def archive_measured(archive: Archive, batch: Sequence[Measured]) -> list[Outcome]:
    """Archive a batch: skip what is already archived, store the objects of the rest
    (manifest last), make them durable, then commit all rows in one transaction. The
    caller holds the batch's claims.

    Objects first, rows last: a crash before the commit leaves only objects that no row
    refers to, and a re-run lands on the same keys and adopts them.
    """
    with transaction(archive.db) as session:
        existing = _existing_units(session, [(m.input.tenant.id, m.content_sha256)
                                             for m in batch])
    new: dict[str, Measured] = {}  # by unit id: the same content twice is stored once
    for m in batch:
        if (m.input.tenant.id, m.content_sha256) not in existing:
            new.setdefault(m.unit_id, m)
    with ThreadPoolExecutor(STORE_WORKERS) as pool:  # storage waits on disks and networks
        try:
            stored = list(pool.map(lambda m: _store_unit(archive, m), new.values()))
        except BaseException:
            # Storage down: the queued units would each wait out its timeout in turn.
            pool.shutdown(cancel_futures=True)
            raise
    committed = {o.unit_id: o for o in _commit(archive, stored)} if stored else {}
    return [committed[m.unit_id] if new.get(m.unit_id) is m else Outcome(
        "duplicate", existing.get((m.input.tenant.id, m.content_sha256), m.unit_id))
        for m in batch]


def _store_unit(archive: Archive, measured: Measured) -> _Stored:
    tenant, unit_id = measured.input.tenant.code, measured.unit_id
    manifest, retention = _manifest(archive, tenant, unit_id, measured.entries,
                                    measured.input.metadata)
    lock = storage_lock(manifest.retain_until, manifest.received_at, archive.minimum_lock)
    # A crashed run's capture of the same content: its parts stand, those outside the
    # unit's identity (its package, its signatures' validation at that moment) included.
    openers = {(e.name, e.sha256): f.open
               for e, f in zip(measured.entries, measured.input.files, strict=True)}
    keys = [file_key(tenant, unit_id, e.name) for e in manifest.files]
    versions = [_store(archive, key, openers.get((entry.name, entry.sha256), _adopted(key)),
                       entry, lock) for entry, key in zip(manifest.files, keys, strict=True)]
    manifest_entry, manifest_version = _store_manifest(archive, tenant, manifest, lock)
    return _Stored(measured, manifest, retention,
                   [*zip(manifest.files, keys, versions, strict=True),
                    (manifest_entry, manifest_key(tenant, unit_id), manifest_version)])


def _adopted(key: ObjectKey) -> Callable[[], BinaryIO]:
    """The opener of a part only an earlier capture had: it must be stored already."""
    def missing() -> BinaryIO:
        raise IntegrityViolation(f"{key}: the stored manifest lists it, the store lacks it")
    return missing


def _commit(archive: Archive, batch: Sequence[_Stored]) -> list[Outcome]:
    """Record stored units in one transaction (the commit point), with their events.

    A unit committed meanwhile by another run, or twice in `batch`, becomes a duplicate.
    """
    archive.store.sync()
    try:
        with transaction(archive.db) as session:
            outcomes, new = _split_duplicates(session, batch)
            _insert_rows(session, new)
            audit.record_all(session, archive, [_archived_event(u) for u in new])
        return outcomes
    except IntegrityError:
        if len(batch) == 1:  # lost a race with a concurrent run: theirs is the unit
            with transaction(archive.db) as session:
                return _split_duplicates(session, batch)[0]
        return [o for u in batch for o in _commit(archive, [u])]


def _split_duplicates(session: Session, batch: Sequence[_Stored]
                      ) -> tuple[list[Outcome], list[_Stored]]:
    existing = _existing_units(session, [(u.measured.input.tenant.id,
                                          u.measured.content_sha256) for u in batch])
    outcomes, new, seen = [], [], set()
    for u in batch:
        m = u.measured
        found = existing.get((m.input.tenant.id, m.content_sha256))
        if found or m.unit_id in seen:
            outcomes.append(Outcome("duplicate", found or m.unit_id))
        else:
            seen.add(m.unit_id)
            new.append(u)
            outcomes.append(Outcome("archived", m.unit_id, [c for c, _ in m.input.findings]))
    return outcomes, new


def _insert_rows(session: Session, new: Sequence[_Stored]) -> None:
    """Bulk INSERTs (executemany): units, then their files and findings."""
    if not new:
        return
    session.execute(insert(Unit), [
        {"id": u.measured.unit_id, "tenant_id": u.measured.input.tenant.id,
         "content_sha256": u.measured.content_sha256, "received_at": u.manifest.received_at,
         "retain_until": u.manifest.retain_until, "legal_hold": False,
         "format": u.measured.input.unit_format, "source": u.measured.input.source,
         "unit_metadata": u.manifest.metadata, "document_key": u.measured.input.document_key,
         "policy_id": u.retention.policy.id, "policy_version": u.retention.policy.version,
         "retention_basis": u.retention.basis, "trigger_date": u.retention.trigger_date,
         "needs_classification": u.retention.needs_classification,
         **_search_fields(u)}
        for u in new])
    session.execute(insert(File), [
        {"unit_id": u.measured.unit_id, "position": i, "name": e.name, "role": e.role,
         "media_type": e.media_type, "size": e.size, "sha256": e.sha256, "object_key": key,
         "object_version": version}
        for u in new for i, (e, key, version) in enumerate(u.files)])
    findings = [{"unit_id": u.measured.unit_id, "code": c, "detail": d}
                for u in new for c, d in u.measured.input.findings]
    if findings:
        session.execute(insert(UnitFinding), findings)
    traffic = [{"tenant_id": u.measured.input.tenant.id, "unit_id": u.measured.unit_id,
                "received_at": u.manifest.received_at, "source": u.measured.input.source,
                **u.measured.input.traffic} for u in new if u.measured.input.traffic]
    if traffic:
        session.execute(insert(TrafficRecord), traffic)


def _search_fields(u: _Stored) -> dict[str, Any]:
    """The columns search filters on, from the metadata the manifest records."""
    return SearchFields.of(u.manifest.metadata, u.measured.input.tenant.tax_number).columns()


def _archived_event(u: _Stored) -> audit.Event:
    m = u.measured
    reason = u.retention.reason  # why the policy, or why flagged: no column of its own
    return audit.Event("unit.archived", m.unit_id, m.input.tenant.code, {
        "content_sha256": m.content_sha256, "files": len(m.entries),
        "bytes": sum(e.size for e in m.entries), "source": m.input.source,
        **({"retention_reason": reason} if reason else {})})


def _check_files(files: Sequence[IncomingFile]) -> None:
    if not files:
        raise RejectedInput("a unit needs at least one file")
    names = [f.name for f in files]
    if len(set(names)) != len(names):
        raise RejectedInput("two files of one unit have the same name")
    for f in files:
        if f.name == MANIFEST_NAME:
            raise RejectedInput(f"{MANIFEST_NAME} is reserved for the unit manifest")
        if f.role not in ROLES:
            raise RejectedInput(f"{f.name}: unknown role {f.role!r}")


def _measure(incoming: IncomingFile) -> FileEntry:
    with incoming.open() as stream:
        hashed = hash_stream(stream)
    return FileEntry(incoming.name, incoming.role, incoming.media_type, hashed.size,
                     hashed.sha256.hex)


def _existing_units(session: Session, wanted: list[tuple[int, str]]
                    ) -> dict[tuple[int, str], str]:
    """(tenant id, content digest) -> unit id, for those of `wanted` already archived."""
    keys = set(wanted)
    rows = session.execute(select(Unit.tenant_id, Unit.content_sha256, Unit.id).where(
        Unit.content_sha256.in_({content for _, content in keys})))
    return {(tenant, content): unit_id for tenant, content, unit_id in rows
            if (tenant, content) in keys}


def _manifest(archive: Archive, tenant: str, unit_id: str, entries: list[FileEntry],
              metadata: dict[str, Any]) -> tuple[Manifest, Assignment]:
    """A new manifest, or the one a crashed run of the same content already stored, and
    the retention policy's verdict on the unit."""
    key = manifest_key(tenant, unit_id)
    try:
        with archive.store.open(key) as stream:
            stored = Manifest.from_bytes(stream.read())
    except NotFound:
        received_at = archive.clock.now()
        retention = archive.policies.for_unit(metadata, received_at)
        return Manifest.new(unit_id, tenant, received_at, retention.retain_until, metadata,
                            entries, retention.policy.ref), retention
    if stored.unit_id != unit_id or content_digest(stored.files) != content_digest(entries):
        raise IntegrityViolation(f"stored manifest {key} does not describe this content")
    policy = archive.policies.get(stored.policy) if stored.policy else None
    return stored, archive.policies.for_unit(metadata, stored.received_at, policy)


def _store(archive: Archive, key: ObjectKey, opener: Callable[[], BinaryIO],
           entry: FileEntry, retain_until: datetime) -> str | None:
    """Store the entry's bytes at `key`; the version the store holds them as."""
    sha256 = Digest.sha256(entry.sha256)
    if not archive.store.exists(key):
        try:
            with opener() as stream:
                return archive.store.put(key, stream, size=entry.size, sha256=sha256,
                                         retain_until=retain_until).version
        except Conflict:
            pass  # stored meanwhile (the store refuses a second writer): compared below
    # Left by a run that stopped before its commit: adopt it if the bytes are the same.
    stored = archive.store.stat(key)
    with archive.store.open(key, stored.version) as stream:
        if hash_stream(stream) != Hashed(entry.size, sha256):
            raise IntegrityViolation(f"{key} already holds other bytes than {entry.name}")
    if not retained_until(stored, retain_until):
        archive.store.set_retention(key, retain_until)
    return stored.version


def _store_manifest(archive: Archive, tenant: str, manifest: Manifest,
                    lock: datetime) -> tuple[FileEntry, str | None]:
    """The manifest's entry and the version of its stored object."""
    data = manifest.to_bytes()
    entry = FileEntry(MANIFEST_NAME, MANIFEST_ROLE, "application/json", len(data),
                      Digest.of_bytes(data).hex)
    return entry, _store(archive, manifest_key(tenant, manifest.unit_id),
                         lambda: io.BytesIO(data), entry, lock)
