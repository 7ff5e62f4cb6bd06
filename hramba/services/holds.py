"""Legal holds: a reasoned, attributed freeze of disposal, whatever the policy says.

A hold covers one unit, or every unit of a tenant whose retention date basis (issue date,
else receipt date) lies in an optional range; a tenant-wide hold also covers units
archived after it was placed. The database decides what is held; each covered unit's
objects carry the storage legal hold too, so storage refuses deletion even if the
database were wrong. `sync_holds` makes storage match: objects first, the unit's
`legal_hold` flag last, so a re-run finishes what a crash left.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, RejectedInput
from hramba.core.types import ObjectKey, iso
from hramba.db.engine import transaction
from hramba.db.models import Evidence, File, Hold, Tenant, Unit
from hramba.domain.access import Action
from hramba.services import access, audit
from hramba.services.context import Archive


def _covers() -> ColumnElement[bool]:
    """A hold covers a unit (whether or not it is released)."""
    return and_(Hold.tenant_id == Unit.tenant_id,
                or_(Hold.unit_id.is_(None), Hold.unit_id == Unit.id),
                or_(Hold.from_date.is_(None), Hold.from_date <= Unit.trigger_date),
                or_(Hold.to_date.is_(None), Hold.to_date >= Unit.trigger_date))


def held() -> ColumnElement[bool]:
    """True for a unit that an active hold covers (for use in a query on Unit)."""
    return select(Hold.id).where(Hold.released_at.is_(None), _covers()).exists()


def add_hold(archive: Archive, *, reason: str, unit_id: str | None = None,
             tenant: str | None = None, from_date: date | None = None,
             to_date: date | None = None) -> dict[str, Any]:
    """Place a hold, in the principal's name, on one unit or on a tenant's units
    (optionally a date range)."""
    access.authorize(archive, Action.HOLD)
    if not reason.strip():
        raise RejectedInput("a hold needs a reason")
    if (unit_id is None) == (tenant is None):
        raise RejectedInput("a hold is on one unit (--unit) or on a tenant (--tenant)")
    if unit_id is not None and (from_date or to_date):
        raise RejectedInput("--from/--to apply to a tenant hold, not to one unit")
    if from_date and to_date and from_date > to_date:
        raise RejectedInput(f"--from {from_date} is after --to {to_date}")
    ref = (_unit_tenant(archive, unit_id) if unit_id is not None
           else access.tenant(archive, str(tenant), Action.HOLD))
    with transaction(archive.db) as session:
        hold = Hold(tenant_id=ref.id, unit_id=unit_id, from_date=from_date,
                    to_date=to_date, reason=reason, created_by=archive.actor,
                    created_at=archive.clock.now())
        session.add(hold)
        session.flush()
        audit.record(session, archive, "hold.added", f"hold {hold.id}",
                     tenant=ref.code, details=_public(hold, ref.code))
        hold_id = hold.id
    sync_holds(archive)
    return _show_hold(archive, hold_id)


def release_hold(archive: Archive, hold_id: int, *, reason: str) -> dict[str, Any]:
    """Release a hold in the principal's name; storage holds come off units no other
    hold covers."""
    ref = access.check_owner(archive, Action.HOLD, Hold, hold_id, f"hold {hold_id}")
    if not reason.strip():
        raise RejectedInput("releasing a hold needs a reason")
    with transaction(archive.db) as session:
        hold = session.get_one(Hold, hold_id)
        if hold.released_at is not None:
            raise Conflict(f"hold {hold_id} was released on {hold.released_at:%Y-%m-%d}")
        hold.released_at, hold.released_by = archive.clock.now(), archive.actor
        hold.release_reason = reason
        audit.record(session, archive, "hold.released", f"hold {hold_id}", tenant=ref.code,
                     details={"reason": reason})
    sync_holds(archive)
    return _show_hold(archive, hold_id)


def list_holds(archive: Archive, include_released: bool = False) -> list[dict[str, Any]]:
    """The holds on the tenants the principal serves (active ones unless asked)."""
    access.authorize(archive, Action.RETENTION_READ)
    query = access.scoped(select(Hold, Tenant.code).join(Tenant).order_by(Hold.id),
                          archive, Hold.tenant_id)
    return _holds(archive, query if include_released
                  else query.where(Hold.released_at.is_(None)))


def _show_hold(archive: Archive, hold_id: int) -> dict[str, Any]:
    return _holds(archive, select(Hold, Tenant.code).join(Tenant).where(Hold.id == hold_id))[0]


def _holds(archive: Archive, query: Select[Hold, str]) -> list[dict[str, Any]]:
    with transaction(archive.db) as session:
        return [_public(hold, code) | {"units": _covered(session, hold)}
                for hold, code in session.execute(query)]


def sync_holds(archive: Archive) -> dict[str, int]:
    """Set or remove the storage legal hold wherever it differs from the database.
    Its callers authorize: placing or releasing a hold, or the scheduled retention job."""
    with transaction(archive.db) as session:
        rows = session.execute(select(Unit.id, held()).where(
            Unit.disposed_at.is_(None), Unit.legal_hold != held())).all()
    for unit_id, on in rows:
        for key in unit_objects(archive, unit_id):
            archive.store.set_legal_hold(key, bool(on))
        with transaction(archive.db) as session:
            session.execute(update(Unit).where(Unit.id == unit_id).values(legal_hold=on))
    return {"holds set": sum(1 for _, on in rows if on),
            "holds removed": sum(1 for _, on in rows if not on)}


def unit_objects(archive: Archive, unit_id: str) -> list[ObjectKey]:
    """Every object of a unit in storage: its files, manifest and Evidence Records."""
    return units_objects(archive, [unit_id]).get(unit_id, [])


def units_objects(archive: Archive, unit_ids: list[str]) -> dict[str, list[ObjectKey]]:
    """The objects of each of `unit_ids`, as `unit_objects`, in one round trip each."""
    found: dict[str, list[ObjectKey]] = {}
    with transaction(archive.db) as session:
        for unit_id, key in [*session.execute(select(File.unit_id, File.object_key).where(
                File.unit_id.in_(unit_ids)).order_by(File.id)),
                             *session.execute(select(Evidence.unit_id, Evidence.object_key)
                                              .where(Evidence.unit_id.in_(unit_ids),
                                                     Evidence.stored_at.is_not(None))
                                              .order_by(Evidence.id))]:
            found.setdefault(unit_id, []).append(ObjectKey(key))
    return found


def _unit_tenant(archive: Archive, unit_id: str) -> access.TenantRef:
    """The tenant of a unit that can still be held."""
    ref = access.check_owner(archive, Action.HOLD, Unit, unit_id, f"unit {unit_id}")
    with transaction(archive.db) as session:
        disposed_at = session.scalar(select(Unit.disposed_at).where(Unit.id == unit_id))
    if disposed_at is not None:
        raise Conflict(f"unit {unit_id} was disposed of on {disposed_at:%Y-%m-%d}: "
                       "there is nothing left to hold")
    return ref


def _covered(session: Session, hold: Hold) -> int:
    """How many units the hold covers now (kept ones; disposed units are gone)."""
    return int(session.scalar(select(func.count()).select_from(Unit).join(Hold, _covers())
                              .where(Hold.id == hold.id, Unit.disposed_at.is_(None))) or 0)


def _public(hold: Hold, tenant: str) -> dict[str, Any]:
    return {"id": hold.id, "tenant": tenant, "unit_id": hold.unit_id,
            "from": iso(hold.from_date),
            "to": iso(hold.to_date),
            "reason": hold.reason, "by": hold.created_by,
            "created_at": hold.created_at.isoformat(),
            "released_at": iso(hold.released_at),
            "released_by": hold.released_by, "release_reason": hold.release_reason}
