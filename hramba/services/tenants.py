"""Register and list budget users (tenants)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, NotFound, RejectedInput
from hramba.db.engine import transaction
from hramba.db.models import Tenant
from hramba.domain import tenant as rules
from hramba.services import audit
from hramba.services.context import Archive


@dataclass(frozen=True)
class NewTenant:
    code: str
    tax_number: str
    name: str
    environment: str = "production"
    accession_date: date | None = None


def add_tenant(archive: Archive, new: NewTenant) -> dict[str, Any]:
    """Register a budget user; production tenants need a valid tax-number check digit."""
    code = rules.check_code(new.code)
    tax_number = rules.normalise_tax_number(new.tax_number)
    environment = rules.check_environment(new.environment)
    if not new.name.strip():
        raise RejectedInput("tenant name must not be empty")
    if environment == "production" and not rules.tax_check_digit_ok(tax_number):
        raise RejectedInput(f"tax number {tax_number} has a wrong check digit "
                            "(allowed only for --env test)")
    now = archive.clock.now()
    tenant = Tenant(code=code, tax_number=tax_number, name=new.name.strip(),
                    environment=environment, accession_date=new.accession_date or now.date(),
                    created_at=now)
    try:
        with transaction(archive.db) as session:
            session.add(tenant)
            session.flush()
            audit.record(session, archive, "tenant.added", code, tenant=code,
                         details=describe(tenant))
    except IntegrityError as exc:
        raise Conflict(f"a tenant with code {code} or tax number {tax_number} "
                       "already exists") from exc
    return describe(tenant)


def list_tenants(archive: Archive) -> list[dict[str, Any]]:
    with transaction(archive.db) as session:
        return [describe(t) for t in session.scalars(select(Tenant).order_by(Tenant.code))]


def get_tenant(session: Session, code: str) -> Tenant:
    tenant = session.scalars(select(Tenant).where(Tenant.code == code)).first()
    if tenant is None:
        raise NotFound(f"tenant {code} is not registered (hramba tenant add)")
    return tenant


def describe(tenant: Tenant) -> dict[str, Any]:
    return {
        "code": tenant.code,
        "tax_number": tenant.tax_number,
        "name": tenant.name,
        "environment": tenant.environment,
        "accession_date": tenant.accession_date.isoformat(),
        "check_digit_ok": rules.tax_check_digit_ok(tenant.tax_number),
    }
