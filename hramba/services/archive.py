"""Archive a unit: hash while streaming, store each object with retention, record last.

Object first, row last: a crash before the commit leaves objects without a row. The unit
id is derived from the tenant and the content, so a re-run lands on the same keys and
adopts what the crashed run already stored instead of leaving orphans.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, BinaryIO

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hramba.core.errors import IntegrityViolation, NotFound, RejectedInput
from hramba.core.types import Digest, ObjectKey, hash_stream
from hramba.db.engine import transaction
from hramba.db.models import File, Tenant, Unit, UnitFinding
from hramba.domain.manifest import (
    MANIFEST_NAME,
    MANIFEST_ROLE,
    FileEntry,
    Manifest,
    content_digest,
)
from hramba.domain.retention import default_retain_until
from hramba.services import audit
from hramba.services.context import Archive
from hramba.services.tenants import get_tenant
from storage.keys import file_key, manifest_key

ROLES = ("envelope", "invoice", "attachment", "document")


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
class _Planned:
    entry: FileEntry
    source: IncomingFile
    key: ObjectKey


def unit_id_for(tenant: str, content_sha256: str) -> str:
    return hashlib.sha256(f"{tenant}\n{content_sha256}".encode()).hexdigest()[:32]


def archive_unit(archive: Archive, tenant_code: str, files: Sequence[IncomingFile], *,
                 metadata: dict[str, Any] | None = None, unit_format: str = "other",
                 source: str = "", findings: Sequence[tuple[str, str]] = ()) -> Outcome:
    """Store `files` as one unit of `tenant_code`; the same content again is a duplicate."""
    _check_files(files)
    with transaction(archive.db) as session:
        tenant = get_tenant(session, tenant_code)
    entries = [_measure(f) for f in files]
    content = content_digest(entries)
    unit_id = unit_id_for(tenant.code, content)
    existing = _existing_unit(archive, tenant, content)
    if existing:
        return Outcome("duplicate", existing)
    planned = [_Planned(e, f, file_key(tenant.code, unit_id, e.name))
               for e, f in zip(entries, files, strict=True)]
    manifest = _manifest(archive, tenant.code, unit_id, entries, metadata or {})
    for item in planned:
        _store(archive, item.key, item.source.open, item.entry, manifest.retain_until)
    manifest_entry = _store_manifest(archive, tenant.code, manifest)
    try:
        with transaction(archive.db) as session:
            unit = Unit(id=unit_id, tenant_id=tenant.id, content_sha256=content,
                        received_at=manifest.received_at, retain_until=manifest.retain_until,
                        legal_hold=False, format=unit_format, source=source,
                        unit_metadata=manifest.metadata)
            unit.files = [_file_row(i, p.entry, p.key) for i, p in enumerate(planned)]
            unit.files.append(_file_row(len(planned), manifest_entry,
                                        manifest_key(tenant.code, unit_id)))
            unit.findings = [UnitFinding(code=c, detail=d) for c, d in findings]
            session.add(unit)
            session.flush()
            audit.record(session, archive, "unit.archived", unit_id, tenant=tenant.code,
                         details={"content_sha256": content, "files": len(files),
                                  "bytes": sum(e.size for e in entries), "source": source})
    except IntegrityError:
        # A concurrent run committed the same content first.
        return Outcome("duplicate", _existing_unit(archive, tenant, content) or unit_id)
    return Outcome("archived", unit_id, [c for c, _ in findings])


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


def _existing_unit(archive: Archive, tenant: Tenant, content: str) -> str | None:
    with transaction(archive.db) as session:
        return session.scalars(select(Unit.id).where(
            Unit.tenant_id == tenant.id, Unit.content_sha256 == content)).first()


def _manifest(archive: Archive, tenant: str, unit_id: str, entries: list[FileEntry],
              metadata: dict[str, Any]) -> Manifest:
    """A new manifest, or the one a crashed run of the same content already stored."""
    key = manifest_key(tenant, unit_id)
    try:
        with archive.store.open(key) as stream:
            stored = Manifest.from_bytes(stream.read())
    except NotFound:
        received_at = archive.clock.now()
        return Manifest.new(unit_id, tenant, received_at, default_retain_until(received_at),
                            metadata, entries)
    if stored.unit_id != unit_id or stored.files != entries:
        raise IntegrityViolation(f"stored manifest {key} does not describe this content")
    return stored


def _store(archive: Archive, key: ObjectKey, opener: Callable[[], BinaryIO],
           entry: FileEntry, retain_until: datetime) -> None:
    sha256 = Digest.sha256(entry.sha256)
    if archive.store.exists(key):
        stored = archive.store.stat(key)
        if (stored.size, stored.sha256) != (entry.size, sha256):
            raise IntegrityViolation(f"{key} already holds other bytes than {entry.name}")
        if stored.retain_until < retain_until:
            archive.store.set_retention(key, retain_until)
        return
    with opener() as stream:
        archive.store.put(key, stream, size=entry.size, sha256=sha256,
                          retain_until=retain_until)


def _store_manifest(archive: Archive, tenant: str, manifest: Manifest) -> FileEntry:
    data = manifest.to_bytes()
    entry = FileEntry(MANIFEST_NAME, MANIFEST_ROLE, "application/json", len(data),
                      Digest.of_bytes(data).hex)
    _store(archive, manifest_key(tenant, manifest.unit_id), lambda: io.BytesIO(data), entry,
           manifest.retain_until)
    return entry


def _file_row(position: int, entry: FileEntry, key: ObjectKey) -> File:
    return File(position=position, name=entry.name, role=entry.role,
                media_type=entry.media_type, size=entry.size, sha256=entry.sha256,
                object_key=key)
