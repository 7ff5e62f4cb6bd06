"""Retention use cases: the plan of what falls due, reclassification, the daily sweep.

A plan for no tenant in particular covers the production tenants the principal serves:
a test tenant's units appear only in a plan that names it.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, RejectedInput
from hramba.core.types import iso, retained_until
from hramba.db.engine import transaction
from hramba.db.models import Migration, Tenant, TrafficRecord, Unit
from hramba.domain.access import Action
from hramba.domain.retention import policy_ref, storage_lock
from hramba.domain.tenant import PRODUCTION
from hramba.services import access, audit, migrate, notify
from hramba.services.context import Archive
from hramba.services.holds import held, sync_holds, unit_objects
from hramba.services.locks import exclusive
from hramba.services.purge import purge_exports, purge_staging, purge_traffic, staging_due

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def plan(archive: Archive, tenant: str | None = None,
         as_of: datetime | None = None) -> dict[str, Any]:
    """What falls due by `as_of` (default now), under which policy, and what is held:
    of `tenant`, or of every production tenant the principal serves."""
    access.authorize(archive, Action.RETENTION_READ)
    # An unknown code (or one out of scope) is an error, not an empty plan.
    ref = access.tenant(archive, tenant, Action.RETENTION_READ) if tenant else None
    as_of = as_of or archive.clock.now()
    with transaction(archive.db) as session:
        return {"as_of": as_of.isoformat(), "tenant": tenant,
                "policies": [p.as_dict() for p in archive.policies.latest.values()],
                "units": _unit_plan(_units(archive, session, ref), as_of),
                "traffic": _traffic_plan(archive, session, ref, as_of),
                "staging": _staging_plan(archive, session, ref, as_of)}


def _among(query: S, archive: Archive, ref: access.TenantRef | None) -> S:
    """`query` (which joins Tenant) limited to the tenants a plan covers."""
    if ref is not None:
        return query.where(Tenant.id == ref.id)
    return access.scoped(query.where(Tenant.environment == PRODUCTION), archive,
                         Tenant.id)


def _units(archive: Archive, session: Session,
           ref: access.TenantRef | None) -> list[dict[str, Any]]:
    query = (select(Unit.id, Tenant.code, Unit.policy_id, Unit.policy_version,
                    Unit.retain_until, Unit.trigger_date, Unit.retention_basis,
                    Unit.needs_classification, held().label("held"))
             .join(Tenant).where(Unit.disposed_at.is_(None))
             .order_by(Unit.retain_until, Unit.id))
    return [{"unit_id": r.id, "tenant": r.code, "policy": policy_ref(r.policy_id, r.policy_version),
             "retain_until": r.retain_until, "trigger_date": r.trigger_date.isoformat(),
             "basis": r.retention_basis, "needs_classification": r.needs_classification,
             "held": bool(r.held)} for r in session.execute(_among(query, archive, ref))]


def _unit_plan(units: list[dict[str, Any]], as_of: datetime) -> dict[str, Any]:
    due = [u for u in units if u["retain_until"] <= as_of]
    later = Counter((u["retain_until"].year, u["policy"]) for u in units
                    if u["retain_until"] > as_of)
    public = [{**u, "retain_until": u["retain_until"].isoformat()} for u in due]
    return {"total": len(units),
            "due": [u for u in public if not u["held"]],
            "held": [u for u in public if u["held"]],
            "held_total": sum(1 for u in units if u["held"]),
            "needs_classification": sum(1 for u in units if u["needs_classification"]),
            "upcoming": [{"year": year, "policy": policy, "units": n}
                         for (year, policy), n in sorted(later.items())]}


def _traffic_plan(archive: Archive, session: Session, ref: access.TenantRef | None,
                  as_of: datetime) -> dict[str, Any]:
    policy = archive.policies.for_kind("traffic")
    query = _among(select(TrafficRecord.received_at).join(Tenant), archive, ref)
    oldest = session.scalar(query.with_only_columns(func.min(TrafficRecord.received_at)))
    due = sum(1 for (at,) in session.execute(query.where(
        TrafficRecord.received_at <= as_of - policy.period.at_least()))
        if policy.due(at) <= as_of)
    return {"policy": policy.ref, "records": session.scalar(
        query.with_only_columns(func.count())), "due": due,
        "next_due": policy.due(oldest).isoformat() if oldest else None}


def _staging_plan(archive: Archive, session: Session, ref: access.TenantRef | None,
                  as_of: datetime) -> list[dict[str, Any]]:
    query = _among(select(Migration.id, Tenant.code, Migration.imported_at,
                          Migration.staged_at, Migration.started_at, Migration.purged_at)
                   .join(Tenant).order_by(Migration.id), archive, ref)
    plan = []
    for mid, code, imported, staged, started, purged in session.execute(query):
        policy, due = staging_due(archive, imported, staged or started)
        plan.append({"migration": mid, "tenant": code, "policy": policy.ref,
                     "imported_at": iso(imported), "purge_due_at": iso(due),
                     "purged_at": iso(purged),
                     "due": bool(due and not purged and due <= as_of)})
    return plan


def classify(archive: Archive, unit_id: str, wanted: str) -> dict[str, Any]:
    """Put a unit under another policy (or confirm its own). Retention may only grow:
    a policy that would end it sooner than what is recorded is refused."""
    ref = access.check_owner(archive, Action.CLASSIFY, Unit, unit_id, f"unit {unit_id}")
    policy = archive.policies.get(wanted)
    if policy.kind != "unit":
        raise RejectedInput(f"policy {policy.ref} applies to {policy.kind}, not to units")
    with transaction(archive.db) as session:
        unit = session.get_one(Unit, unit_id)
        if unit.disposed_at is not None:
            raise Conflict(f"unit {unit_id} was disposed of on {unit.disposed_at:%Y-%m-%d}")
        assigned = archive.policies.for_unit(unit.unit_metadata, unit.received_at, policy)
        before = {"policy": policy_ref(unit.policy_id, unit.policy_version),
                  "retain_until": unit.retain_until.isoformat()}
    if assigned.retain_until < unit.retain_until:
        raise Conflict(f"unit {unit_id}: {policy.ref} would keep it until "
                       f"{assigned.retain_until:%Y-%m-%d}, sooner than the recorded "
                       f"{unit.retain_until:%Y-%m-%d}; retention can only be extended")
    _extend_storage(archive, unit_id, assigned.retain_until)
    with transaction(archive.db) as session:
        row = session.get_one(Unit, unit_id)
        row.policy_id, row.policy_version = policy.id, policy.version
        row.retention_basis, row.trigger_date = assigned.basis, assigned.trigger_date
        row.retain_until, row.needs_classification = assigned.retain_until, False
        after = {"policy": policy.ref, "retain_until": assigned.retain_until.isoformat()}
        audit.record(session, archive, "unit.classified", unit_id, tenant=ref.code,
                     details={"before": before, "after": after})
    return {"unit_id": unit_id, "before": before, "after": after}


def _extend_storage(archive: Archive, unit_id: str, retain_until: datetime) -> None:
    """Storage first, so the row never promises more than storage enforces."""
    lock = storage_lock(retain_until, archive.clock.now(), archive.minimum_lock)
    for key in unit_objects(archive, unit_id):
        if not retained_until(archive.store.stat(key), lock):
            archive.store.set_retention(key, lock)


def policies(archive: Archive) -> list[dict[str, Any]]:
    """Every released policy version: id, version, legal basis, period, action."""
    access.authorize(archive, Action.RETENTION_READ)
    return [p.as_dict() for p in archive.policies.all]


def sweep(archive: Archive) -> dict[str, Any]:
    """The scheduled retention job: mirror holds to storage, then the automatic purges,
    the daily reminder of exports staged and not confirmed, and the delivery of the
    notifications waiting (so a failed one is retried daily). Run by the scheduler's
    principal (an operator), which may not place holds: the job is its permission
    (Action.SCHEDULE), for the purges too."""
    access.authorize(archive, Action.SCHEDULE)
    with exclusive(archive, "retention") as mine:  # one sweep at a time, whoever runs it
        if not mine:
            return {"already running": True}
        return {**sync_holds(archive), **purge_traffic(archive), **purge_staging(archive),
                **purge_exports(archive), **migrate.remind(archive),
                **notify.deliver(archive)}
