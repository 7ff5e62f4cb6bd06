"""Read what is archived: list units, show one, write its files back out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from hramba.core.errors import Conflict, IntegrityViolation, NotFound
from hramba.core.types import CHUNK, Digest, HashingReader, ObjectKey, iso
from hramba.db.engine import transaction
from hramba.db.models import Tenant, Unit
from hramba.domain.retention import policy_ref
from hramba.services import audit
from hramba.services.context import Archive
from hramba.services.tenants import get_tenant
from storage.keys import safe_name


def list_units(archive: Archive, tenant: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    query = (select(Unit, Tenant.code).join(Tenant)
             .order_by(Unit.received_at, Unit.id).limit(limit))
    with transaction(archive.db) as session:
        if tenant:
            get_tenant(session, tenant)  # an unknown code is an error, not an empty list
            query = query.where(Tenant.code == tenant)
        return [{"unit_id": unit.id, "tenant": code, "received_at": unit.received_at.isoformat(),
                 "format": unit.format, "source": unit.source,
                 "retain_until": unit.retain_until.isoformat(),
                 "disposed": unit.disposed_at is not None}
                for unit, code in session.execute(query)]


def _load(archive: Archive, unit_id: str, tenant: str | None) -> Unit:
    with transaction(archive.db) as session:
        unit = session.scalars(select(Unit).where(Unit.id == unit_id).options(
            selectinload(Unit.files), selectinload(Unit.findings),
            selectinload(Unit.tenant))).first()
    # A tenant-scoped caller gets the same answer for "not yours" as for "not there".
    if unit is None or (tenant is not None and unit.tenant.code != tenant):
        raise NotFound(f"unit {unit_id} not found")
    return unit


def show_unit(archive: Archive, unit_id: str, tenant: str | None = None) -> dict[str, Any]:
    unit = _load(archive, unit_id, tenant)
    return {
        "unit_id": unit.id,
        "tenant": unit.tenant.code,
        "received_at": unit.received_at.isoformat(),
        "format": unit.format,
        "source": unit.source,
        "content_sha256": unit.content_sha256,
        "metadata": unit.unit_metadata,
        "files": [{"name": f.name, "role": f.role, "media_type": f.media_type,
                   "size": f.size, "sha256": f.sha256, "object_key": f.object_key}
                  for f in unit.files],
        "retention": {"retain_until": unit.retain_until.isoformat(),
                      "policy": policy_ref(unit.policy_id, unit.policy_version),
                      "basis": unit.retention_basis,
                      "trigger_date": unit.trigger_date.isoformat(),
                      "needs_classification": unit.needs_classification,
                      "legal_hold": unit.legal_hold,
                      "disposed_at": iso(unit.disposed_at),
                      "disposal": unit.disposal_id},
        "findings": [{"code": f.code, "detail": f.detail} for f in unit.findings],
    }


def get_unit(archive: Archive, unit_id: str, out: Path,
             tenant: str | None = None) -> list[Path]:
    """Write every file of the unit into `out`, checking each digest as it is written."""
    unit = _load(archive, unit_id, tenant)
    if unit.disposed_at is not None:
        raise NotFound(f"unit {unit_id} was disposed of on {unit.disposed_at:%Y-%m-%d} "
                       f"(disposal {unit.disposal_id}); only its tombstone remains")
    out.mkdir(parents=True, exist_ok=True)
    targets = [out / safe_name(f.name) for f in unit.files]
    for target in targets:
        if target.exists():
            raise Conflict(f"{target} already exists; choose an empty --out directory")
    for f, target in zip(unit.files, targets, strict=True):
        _write_checked(archive, ObjectKey(f.object_key), Digest.sha256(f.sha256), target)
    with transaction(archive.db) as session:
        audit.record(session, archive, "unit.read", unit.id, tenant=unit.tenant.code,
                     details={"out": str(out), "files": len(targets)})
    return targets


def _write_checked(archive: Archive, key: ObjectKey, sha256: Digest, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.part")
    try:
        with archive.store.open(key) as stream, tmp.open("wb") as sink:
            reader = HashingReader(stream)
            while chunk := reader.read(CHUNK):
                sink.write(chunk)
        if reader.hashed().sha256 != sha256:
            raise IntegrityViolation(f"{key} does not match its recorded {sha256}; "
                                     "run hramba fixity")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
