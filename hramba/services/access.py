"""The rule book applied: every service asks here before it acts, and every query that
serves a principal with a tenant scope is filtered here, not in each command.

A principal outside a tenant's scope is told the tenant or unit does not exist (it
must not learn what others hold), and the attempt is an audit event (`access.denied`).

Every function here that may refuse records the refusal in a transaction of its own:
call it before opening yours, or after closing it (on SQLite a second writer would wait
for the first).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from hramba.core.errors import NotFound, NotPermitted
from hramba.db.engine import transaction
from hramba.db.models import Disposal, Export, Hold, Migration, Tenant, Unit
from hramba.domain.access import Action
from hramba.services import audit
from hramba.services.context import Archive

S = TypeVar("S", bound=Select[*tuple[Any, ...]])


def authorize(archive: Archive, action: Action) -> None:
    """Refuse (NotPermitted, audited) what the principal's roles do not allow."""
    principal = archive.principal
    if not principal.may(action):
        deny(archive, action, "-", None, why="role")
        raise NotPermitted(f"not permitted: {principal.describe()} may not {action}")


def scoped(query: S, archive: Archive, tenant_id: ColumnElement[int] | Any) -> S:
    """`query` limited to the tenants the principal serves (unchanged for all tenants)."""
    ids = archive.principal.tenant_ids
    return query if ids is None else query.where(tenant_id.in_(sorted(ids)))


@dataclass(frozen=True)
class TenantRef:
    id: int
    code: str
    environment: str


def codes_in_view(session: Session, archive: Archive, tenant_id: int | None = None
                  ) -> set[str] | None:
    """The codes (current and former: events and records keep the code a tenant had)
    of the tenants the principal serves, or only of `tenant_id`; None: every tenant."""
    if tenant_id is None and archive.principal.tenant_ids is None:
        return None
    query = scoped(select(Tenant.code, Tenant.former_codes), archive, Tenant.id)
    if tenant_id is not None:
        query = query.where(Tenant.id == tenant_id)
    return {c for code, former in session.execute(query) for c in (code, *former)}


def tenant(archive: Archive, code: str, action: Action) -> TenantRef:
    """The tenant with this code, if the principal may do `action` there; one outside
    its scope is NotFound, as an unknown one is, and the attempt is audited."""
    authorize(archive, action)
    with transaction(archive.db) as session:
        found = session.scalars(select(Tenant).where(Tenant.code == code)).first()
        ref = TenantRef(found.id, found.code, found.environment) if found else None
    if ref is not None and not archive.principal.serves(ref.id):
        deny(archive, action, code, code, why="tenant scope")
        ref = None
    if ref is None:
        raise NotFound(f"tenant {code} is not registered (hramba tenant add)")
    return ref


def check_tenant(archive: Archive, tenant_id: int, tenant_code: str, action: Action,
                 subject: str, what: str) -> None:
    """Refuse a record (a unit, a disposal, ...) of a tenant outside the principal's scope
    as if it did not exist: `what` is how NotFound names it."""
    authorize(archive, action)
    if not archive.principal.serves(tenant_id):
        deny(archive, action, subject, tenant_code, why="tenant scope")
        raise NotFound(f"{what} does not exist")


def deny(archive: Archive, action: Action, subject: str, tenant_code: str | None, *,
         why: str) -> None:
    """Record a refused attempt, in its own transaction (the caller's is rolled back)."""
    with transaction(archive.db) as session:
        audit.record(session, archive, "access.denied", subject, tenant=tenant_code,
                     details={"action": action.name.lower(), "why": why})


Owned = type[Unit] | type[Disposal] | type[Hold] | type[Migration] | type[Export]


def check_owner(archive: Archive, action: Action, model: Owned, key: int | str,
                what: str) -> TenantRef:
    """The tenant of `what` (the `model` row `key`) if the principal may do `action`
    there. A row of a tenant outside its scope is NotFound with the same message as one
    that does not exist (and the attempt is audited)."""
    authorize(archive, action)  # first: without the role, not even "not found"
    with transaction(archive.db) as session:
        found = session.execute(select(Tenant.id, Tenant.code, Tenant.environment)
                                .join(model, model.tenant_id == Tenant.id)
                                .where(model.id == key)).first()
    if found is None:
        raise NotFound(f"{what} does not exist")
    check_tenant(archive, found.id, found.code, action, what, what)
    return TenantRef(found.id, found.code, found.environment)
