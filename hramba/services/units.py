"""Read what is archived: list units, show one, write its files back out.

Every read is an audit event naming who read what (for a listing, the criteria), and
reads are limited to the tenants the principal serves: another tenant's unit does not
exist for it, exactly as an unknown id (hramba.services.access records the attempt).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hramba.core.errors import CodedRejection, Conflict, IntegrityViolation, NotFound
from hramba.core.types import CHUNK, Digest, HashingReader, ObjectKey, iso
from hramba.db.engine import transaction
from hramba.db.models import Batch, Evidence, File, Tenant, Unit
from hramba.domain.access import Action
from hramba.domain.names import local_name
from hramba.domain.retention import policy_ref
from hramba.domain.search import Party, counterparty
from hramba.services import access, audit
from hramba.services.context import Archive

if TYPE_CHECKING:
    from ingest.readable import ReadableInvoice

MAX_SHOWN = 20_000_000  # bytes of invoice XML the portal renders; larger: download it


def list_units(archive: Archive, tenant: str | None = None,
               limit: int | None = None) -> list[dict[str, Any]]:
    """Units the principal may read, oldest first (an unknown or foreign --tenant is
    NotFound, not an empty list)."""
    access.authorize(archive, Action.READ)
    query = access.scoped(select(Unit, Tenant.code).join(Tenant)
                          .order_by(Unit.received_at, Unit.id).limit(limit),
                          archive, Unit.tenant_id)
    if tenant:
        query = query.where(Unit.tenant_id == access.tenant(archive, tenant, Action.READ).id)
    with transaction(archive.db) as session:
        rows = [{"unit_id": unit.id, "tenant": code,
                 "received_at": unit.received_at.isoformat(), "format": unit.format,
                 "source": unit.source, "retain_until": unit.retain_until.isoformat(),
                 "disposed": unit.disposed_at is not None, **_invoice(unit)}
                for unit, code in session.execute(query)]
        audit.record(session, archive, "units.listed", "units", tenant=tenant,
                     details={"tenant": tenant, "limit": limit, "count": len(rows)})
    return rows


def _invoice(unit: Unit) -> dict[str, Any]:
    """What `ls` shows of the invoice: its date, number, the party that is not the tenant,
    the amount."""
    other = counterparty(unit.direction, Party(unit.seller_tax_id, unit.seller_name),
                         Party(unit.buyer_tax_id, unit.buyer_name))
    return {"issue_date": iso(unit.issue_date), "invoice_number": unit.invoice_number,
            "counterparty": other.shown(), "direction": unit.direction,
            "payable_amount": None if unit.payable_amount is None else str(unit.payable_amount),
            "currency": unit.currency}


def load_unit(archive: Archive, unit_id: str, action: Action) -> Unit:
    """The unit with its files, findings and tenant, if the principal may do `action` on
    it; one of a tenant it does not serve is NotFound as an unknown id is (and audited)."""
    access.authorize(archive, action)
    with transaction(archive.db) as session:
        unit = session.scalars(select(Unit).where(Unit.id == unit_id).options(
            selectinload(Unit.files), selectinload(Unit.findings),
            selectinload(Unit.tenant))).first()
    if unit is None:
        raise NotFound(f"unit {unit_id} does not exist")
    access.check_tenant(archive, unit.tenant_id, unit.tenant.code, action, unit.id,
                        f"unit {unit_id}")
    return unit


def record_read(archive: Archive, action: str, unit: Unit, **details: Any) -> None:
    """The audit event of a read done outside a transaction (files written, checked)."""
    with transaction(archive.db) as session:
        audit.record(session, archive, action, unit.id, tenant=unit.tenant.code,
                     details=details)


def show_unit(archive: Archive, unit_id: str) -> dict[str, Any]:
    """What is recorded of the unit, and the batch that sealed it (None: not yet)."""
    unit = load_unit(archive, unit_id, Action.READ)
    with transaction(archive.db) as session:
        sealing = session.execute(select(Batch.id, Batch.sealed_at).where(
            Batch.id == select(func.min(Evidence.batch_id)).where(
                Evidence.unit_id == unit.id).scalar_subquery())).first()
        audit.record(session, archive, "unit.shown", unit.id, tenant=unit.tenant.code)
    sealed = {"batch": sealing[0], "sealed_at": sealing[1].isoformat()} if sealing else None
    other = _invoice(unit)
    return describe(unit) | {"direction": other["direction"],
                             "counterparty": other["counterparty"], "sealed": sealed}


def describe(unit: Unit) -> dict[str, Any]:
    return {
        "unit_id": unit.id,
        "tenant": unit.tenant.code,
        "received_at": unit.received_at.isoformat(),
        "format": unit.format,
        "source": unit.source,
        "content_sha256": unit.content_sha256,
        "metadata": unit.unit_metadata,
        "files": [{"position": f.position, "name": f.name, "role": f.role,
                   "media_type": f.media_type,
                   "size": f.size, "sha256": f.sha256, "object_key": f.object_key,
                   "object_version": f.object_version}
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


def get_unit(archive: Archive, unit_id: str, out: Path) -> list[Path]:
    """Write every file of the unit into `out`, checking each digest as it is written."""
    unit = load_unit(archive, unit_id, Action.READ)
    targets = write_files(archive, unit, out)
    record_read(archive, "unit.read", unit, out=str(out), files=len(targets))
    return targets


def read_file(archive: Archive, unit_id: str, position: int
              ) -> tuple[File, Iterator[bytes]]:
    """One file of the unit, by its position, and its bytes as storage gives them: the
    digest is checked when the last has been read (IntegrityViolation then, which a
    front end can only answer by cutting the transfer short). A read, so an event."""
    unit = _not_disposed(load_unit(archive, unit_id, Action.READ))
    found = next((f for f in unit.files if f.position == position), None)
    if found is None:
        raise NotFound(f"unit {unit_id} has no file {position} (it has "
                       f"{len(unit.files)}, from 0)")
    record_read(archive, "unit.read", unit, file=found.name, position=position)
    return found, checked_stream(archive, ObjectKey(found.object_key),
                                 Digest.sha256(found.sha256), found.object_version)


def checked_stream(archive: Archive, key: ObjectKey, sha256: Digest,
                   version: str | None = None) -> Iterator[bytes]:
    """The object's bytes as storage gives them (of the `version` recorded at put, if
    any); IntegrityViolation after the last if they are not the recorded ones (a front
    end then cuts its transfer short)."""
    with archive.store.open(key, version) as stream:
        reader = HashingReader(stream)
        while chunk := reader.read(CHUNK):
            yield chunk
    if reader.hashed().sha256 != sha256:
        raise IntegrityViolation(f"{key} does not match its recorded {sha256}; "
                                 "run hramba fixity")


XML_ROLES = ("invoice", "derived")  # a hybrid PDF's invoice XML is derived from it


def readable(archive: Archive, unit_id: str) -> ReadableInvoice | None:
    """The unit's invoice as a person reads it (ingest.readable), or None: no invoice file
    in a format read so, a file too large to show, or only a tombstone left. Reading the
    invoice to show it is a read, so an event."""
    # Imported here: lxml is not for `hramba show`, which must answer at once (issue #9).
    from ingest.formats import INVOICE_FORMATS, parse_xml
    from ingest.readable import readable_invoice

    unit = load_unit(archive, unit_id, Action.READ)
    invoice = next((f for f in unit.files if f.role in XML_ROLES
                    and f.media_type == "application/xml"), None)
    if (unit.disposed_at is not None or unit.format not in INVOICE_FORMATS or invoice is None
            or invoice.size > MAX_SHOWN):
        return None
    data = b"".join(checked_stream(archive, ObjectKey(invoice.object_key),
                                   Digest.sha256(invoice.sha256), invoice.object_version))
    record_read(archive, "unit.read", unit, file=invoice.name, position=invoice.position,
                shown=True)
    try:
        return readable_invoice(unit.format, parse_xml(data, invoice.name))
    except (CodedRejection, ValueError):  # archived as received, odd or not: shown raw only
        return None


def _not_disposed(unit: Unit) -> Unit:
    if unit.disposed_at is not None:
        raise NotFound(f"unit {unit.id} was disposed of on {unit.disposed_at:%Y-%m-%d} "
                       f"(disposal {unit.disposal_id}); only its tombstone remains")
    return unit


def write_files(archive: Archive, unit: Unit, out: Path) -> list[Path]:
    """The unit's files in `out` (which must not hold them yet), each digest checked."""
    _not_disposed(unit)
    out.mkdir(parents=True, exist_ok=True)
    taken: set[str] = set()
    targets = [out / local_name(f.name, taken) for f in unit.files]
    for target in targets:
        if target.exists():
            raise Conflict(f"{target} already exists; choose an empty --out directory")
    for f, target in zip(unit.files, targets, strict=True):
        write_checked(archive, ObjectKey(f.object_key), Digest.sha256(f.sha256), target,
                      f.object_version)
    return targets


def write_checked(archive: Archive, key: ObjectKey, sha256: Digest, target: Path,
                  version: str | None = None) -> None:
    """The object (its `version` recorded at put, if any) at `target`, whole or not at
    all, with its digest checked."""
    tmp = target.with_name(f".{target.name}.part")
    try:
        with archive.store.open(key, version) as stream, tmp.open("wb") as sink:
            reader = HashingReader(stream)
            while chunk := reader.read(CHUNK):
                sink.write(chunk)
        if reader.hashed().sha256 != sha256:
            raise IntegrityViolation(f"{key} does not match its recorded {sha256}; "
                                     "run hramba fixity")
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
