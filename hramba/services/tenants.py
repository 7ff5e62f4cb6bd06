"""Budget users (tenants): register, list, show, change and offboard them.

A tenant lives in the test or the production environment for good (nothing changes it);
one of each may share a tax number. Its code may change (ZPJS lets a budget user's code
change): the former codes are kept, and no other tenant may take them, so the object
keys, stored per file, and the audit events recorded under an old code stay its own
(`codes_of`). Its contact is the e-mail address notifications go to (hramba.services.
notify). Offboarding stops new intake; the holdings stay. Each change is an audit event
with the values before and after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from hramba.core.errors import Conflict, NotFound, RejectedInput
from hramba.core.types import iso
from hramba.db.engine import transaction
from hramba.db.models import Notification, Quarantined, Tenant
from hramba.domain import tenant as rules
from hramba.domain.access import Action
from hramba.services import access, audit
from hramba.services.context import Archive

CHANGEABLE = ("code", "name", "tax_number")


@dataclass(frozen=True)
class NewTenant:
    code: str
    tax_number: str
    name: str
    environment: str = rules.PRODUCTION
    accession_date: date | None = None
    address: str | None = None  # for the certificates (zapisnik)
    responsible: str | None = None  # the person who answers for its records
    contact: str | None = None  # e-mail address notifications go to


@dataclass(frozen=True)
class TenantChange:
    """What `update_tenant` changes; None leaves a field as it is."""

    code: str | None = None
    name: str | None = None
    tax_number: str | None = None
    exports_need_approval: bool | None = None  # its retrieval exports wait for approval
    address: str | None = None
    responsible: str | None = None
    contact: str | None = None  # unsent notifications go to the new one


@dataclass(frozen=True)
class TenantInfo:
    """A tenant as commands show it."""

    code: str
    tax_number: str
    name: str
    environment: str
    accession_date: date
    check_digit_ok: bool
    former_codes: tuple[str, ...]
    offboarded_at: datetime | None
    offboard_reason: str | None
    exports_need_approval: bool = False
    address: str | None = None
    responsible: str | None = None
    contact: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "tax_number": self.tax_number, "name": self.name,
                "environment": self.environment, "accession_date": iso(self.accession_date),
                "check_digit_ok": self.check_digit_ok, "former_codes": list(self.former_codes),
                "offboarded_at": iso(self.offboarded_at),
                "offboard_reason": self.offboard_reason,
                "exports_need_approval": self.exports_need_approval,
                "address": self.address, "responsible": self.responsible,
                "contact": self.contact}


def add_tenant(archive: Archive, new: NewTenant) -> TenantInfo:
    """Register a budget user; production tenants need a valid tax-number check digit."""
    access.authorize(archive, Action.TENANT_MANAGE)
    environment = rules.check_environment(new.environment)
    now = archive.clock.now()
    tenant = Tenant(code=rules.check_code(new.code), name=rules.check_name(new.name),
                    tax_number=rules.check_tax_number(new.tax_number, environment),
                    environment=environment, accession_date=new.accession_date or now.date(),
                    created_at=now, former_codes=[], address=_text(new.address),
                    responsible=_text(new.responsible), contact=_contact(new.contact))
    with _unique(tenant.code, tenant.tax_number, environment), \
            transaction(archive.db) as session:
        _check_code_free(session, tenant.code)
        session.add(tenant)
        session.flush()
        audit.record(session, archive, "tenant.added", tenant.code, tenant=tenant.code,
                     details=describe(tenant).as_dict())
    return describe(tenant)


def list_tenants(archive: Archive) -> list[TenantInfo]:
    """The tenants the principal serves, by code."""
    access.authorize(archive, Action.TENANT_READ)
    query = access.scoped(select(Tenant).order_by(Tenant.code), archive, Tenant.id)
    with transaction(archive.db) as session:
        return [describe(t) for t in session.scalars(query)]


def show_tenant(archive: Archive, code: str) -> TenantInfo:
    """One tenant the principal serves; any other is NotFound, as an unknown code."""
    found = access.tenant(archive, code, Action.TENANT_READ)
    with transaction(archive.db) as session:
        return describe(session.get_one(Tenant, found.id))


def update_tenant(archive: Archive, code: str, change: TenantChange) -> TenantInfo:
    """Change a tenant's name, code or tax number (never its environment). The old code
    joins `former_codes`; values equal to the current ones change nothing."""
    found = access.tenant(archive, code, Action.TENANT_MANAGE)
    with _unique(change.code or code, change.tax_number, found.environment), \
            transaction(archive.db) as session:
        tenant = session.get_one(Tenant, found.id)
        wanted = _wanted(tenant, change)
        if wanted:
            _apply(session, archive, tenant, wanted)
    return describe(tenant)


def offboard_tenant(archive: Archive, code: str, reason: str) -> TenantInfo:
    """Stop new intake for a tenant (ingest, migrations, feed items: quarantined with the
    reason); its holdings stay until they are handed over or disposed of."""
    found = access.tenant(archive, code, Action.TENANT_MANAGE)
    if not reason.strip():
        raise RejectedInput("offboarding needs a reason (--reason)")
    with transaction(archive.db) as session:
        tenant = session.get_one(Tenant, found.id)
        if tenant.offboarded_at is not None:
            raise Conflict(f"tenant {code} was offboarded on "
                           f"{tenant.offboarded_at:%Y-%m-%d} already")
        tenant.offboarded_at, tenant.offboard_reason = archive.clock.now(), reason.strip()
        audit.record(session, archive, "tenant.offboarded", code, tenant=code, details={
            "before": {"offboarded_at": None, "offboard_reason": None},
            "after": {"offboarded_at": iso(tenant.offboarded_at),
                      "offboard_reason": tenant.offboard_reason}})
    return describe(tenant)


def codes_of(session: Session, code: str) -> list[str]:
    """Every code the tenant known by `code` (its current code or a former one) has had,
    current first: what audit events and object keys may name it by."""
    for tenant in session.scalars(select(Tenant)):
        if code == tenant.code or code in tenant.former_codes:
            return [tenant.code, *reversed(tenant.former_codes)]
    raise NotFound(f"tenant {code} is not registered (hramba tenant add)")


def environments(db: sessionmaker[Session]) -> dict[str, str]:
    """Tenant code (current and former) -> environment: how the store routes a key."""
    with transaction(db) as session:
        return {code: environment for current, former, environment in session.execute(
            select(Tenant.code, Tenant.former_codes, Tenant.environment))
            for code in (current, *former)}


def describe(tenant: Tenant) -> TenantInfo:
    return TenantInfo(tenant.code, tenant.tax_number, tenant.name, tenant.environment,
                      tenant.accession_date, rules.tax_check_digit_ok(tenant.tax_number),
                      tuple(tenant.former_codes), tenant.offboarded_at,
                      tenant.offboard_reason, tenant.exports_need_approval, tenant.address,
                      tenant.responsible, tenant.contact)


def _wanted(tenant: Tenant, change: TenantChange) -> dict[str, Any]:
    """The checked new values of `change` that differ from the tenant's."""
    if change == TenantChange():
        raise RejectedInput("nothing to change: give --name, --code, --tax-number, "
                            "--address, --responsible, --contact or --export-approval")
    checked = {
        "code": None if change.code is None else rules.check_code(change.code),
        "name": None if change.name is None else rules.check_name(change.name),
        "tax_number": None if change.tax_number is None
        else rules.check_tax_number(change.tax_number, tenant.environment),
        "exports_need_approval": change.exports_need_approval,
        "address": _text(change.address),
        "responsible": _text(change.responsible),
        "contact": _contact(change.contact),
    }
    return {field: value for field, value in checked.items()
            if value is not None and value != getattr(tenant, field)}


def _text(value: str | None) -> str | None:
    """An optional free text, trimmed; given but blank is refused, not stored empty."""
    if value is None:
        return None
    if not value.strip():
        raise RejectedInput("an address or a responsible person cannot be blank")
    return value.strip()


def _contact(value: str | None) -> str | None:
    return None if value is None else rules.check_contact(value)


def _apply(session: Session, archive: Archive, tenant: Tenant, wanted: dict[str, Any]) -> None:
    """Set the new values and record the change; a new code keeps the old one."""
    before = {field: getattr(tenant, field) for field in wanted}
    if "code" in wanted:
        _check_code_free(session, wanted["code"], tenant.id)
        tenant.former_codes = [*(c for c in tenant.former_codes if c != wanted["code"]),
                               tenant.code]
        # Held input names the tenant it is routed to by code: it follows the tenant.
        session.execute(update(Quarantined).where(Quarantined.tenant == tenant.code)
                        .values(tenant=wanted["code"]))
    if "contact" in wanted:  # what waits for a contact, or failed at the old one, goes now
        session.execute(update(Notification).where(
            Notification.tenant_id == tenant.id, Notification.sent_at.is_(None))
            .values(recipient=wanted["contact"], attempts=0, last_error=None))
    for field, value in wanted.items():
        setattr(tenant, field, value)
    session.flush()  # a code or tax number taken meanwhile fails here, before the event
    audit.record(session, archive, "tenant.changed", tenant.code, tenant=tenant.code,
                 details={"before": before, "after": wanted})


def _check_code_free(session: Session, code: str, tenant_id: int | None = None) -> None:
    """A code once used stays its tenant's: keys and events name tenants by code."""
    for other in session.scalars(select(Tenant).where(Tenant.id != (tenant_id or 0))):
        if code == other.code or code in other.former_codes:
            raise Conflict(f"tenant code {code} is (or was) tenant {other.code}'s")


@contextmanager
def _unique(code: str, tax_number: str | None, environment: str) -> Iterator[None]:
    """A unique code, or (tax number, environment), taken: Conflict, not IntegrityError."""
    try:
        yield
    except IntegrityError as exc:
        taken = f"code {code}" + (f" or tax number {tax_number} in {environment}"
                                  if tax_number else "")
        raise Conflict(f"a tenant with {taken} already exists") from exc
