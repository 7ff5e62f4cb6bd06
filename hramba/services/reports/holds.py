"""Legal holds register: every hold of the report's tenants in force at any time in the
period (placed before its end, not released before its start; without a period, every
hold placed so far), who placed it and why, who released it, when and why."""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from hramba.db.models import Hold, Tenant
from hramba.domain.report import ReportColumn, ReportTable, Value
from hramba.services.reports import Collected, Scope

# The register in two tables of the same holds (by tenant and number), so that each fits
# an A4 page's width: what each covers and who placed it, and the releases.
COLUMNS = (ReportColumn("tenant", 44), ReportColumn("id", 24, "right"),
           ReportColumn("unit", 80), ReportColumn("from_date", 50),
           ReportColumn("to_date", 50), ReportColumn("reason", 110),
           ReportColumn("created_by", 48), ReportColumn("created_at", 52))
RELEASE_COLUMNS = (ReportColumn("tenant", 44), ReportColumn("id", 24, "right"),
                   ReportColumn("released_by", 60), ReportColumn("released_at", 60),
                   ReportColumn("release_reason", 200))

LABELS = {
    "holds_note": ("Zadržanja, ki so veljala kadar koli v obdobju. Zadržanje brez enote "
                   "velja za vse enote proračunskega uporabnika, z obdobjem pa le za tiste, "
                   "katerih datum izdaje (brez njega datum prejema) je v njem.",
                   "Holds in force at any time in the period. A hold without a unit covers "
                   "every unit of the tenant; with dates, only those whose issue date (or "
                   "without one, receipt date) lies between them."),
    "hold_releases": ("Sprostitve zadržanj", "Holds released"),
    "hold_releases_note": ("Sprostitve zadržanj iz zgornje evidence (tudi po koncu obdobja).",
                           "Releases of the holds listed above (after the period too)."),
    "id": ("Št.", "No."),
    "unit": ("Enota", "Unit"),
    "from_date": ("Od datuma", "From date"),
    "to_date": ("Do datuma", "To date"),
    "reason": ("Razlog", "Reason"),
    "created_by": ("Odredil", "Placed by"),
    "created_at": ("Odrejeno", "Placed at"),
    "released_by": ("Sprostil", "Released by"),
    "released_at": ("Sproščeno", "Released at"),
    "release_reason": ("Razlog sprostitve", "Release reason"),
    "active_at_end": ("Veljavna ob koncu obdobja", "In force at the end"),
    "placed": ("Odrejena v obdobju", "Placed in the period"),
    "released": ("Sproščena v obdobju", "Released in the period"),
}


def collect(session: Session, scope: Scope) -> Collected:
    tenants = scope.tenants(Hold.tenant_id)
    query = (select(Hold, Tenant.code).join(Tenant, Tenant.id == Hold.tenant_id)
             .where(*tenants, *_in_force(scope)).order_by(Hold.id))
    found = session.execute(query).all()
    rows: list[tuple[Value, ...]] = [
        (code, h.id, h.unit_id, h.from_date, h.to_date, h.reason, h.created_by, h.created_at)
        for h, code in found]
    releases: list[tuple[Value, ...]] = [
        (code, h.id, h.released_by, h.released_at, h.release_reason)
        for h, code in found if h.released_at is not None]
    at_end = _count(session, [*tenants, *_placed_by_end(scope), or_(
        Hold.released_at.is_(None), Hold.released_at >= scope.end if scope.period_to
        else Hold.released_at > scope.now)])
    placed = _count(session, [*tenants, *scope.within(Hold.created_at)])
    released = _count(session, [*tenants, *scope.within(Hold.released_at)])
    return Collected((ReportTable("holds", COLUMNS, rows, note="holds_note"),
                      ReportTable("hold_releases", RELEASE_COLUMNS, releases,
                                  note="hold_releases_note")),
                     summary=(("active_at_end", at_end), ("placed", placed),
                              ("released", released)), labels=LABELS)


def _placed_by_end(scope: Scope) -> list[ColumnElement[bool]]:
    return [Hold.created_at < scope.end if scope.period_to else Hold.created_at <= scope.now]


def _in_force(scope: Scope) -> list[ColumnElement[bool]]:
    """Placed before the period ends and not released before it starts."""
    start = scope.start
    kept = [] if start is None else [or_(Hold.released_at.is_(None), Hold.released_at >= start)]
    return [*_placed_by_end(scope), *kept]


def _count(session: Session, where: list[ColumnElement[bool]]) -> int:
    return int(session.scalar(select(func.count()).select_from(Hold).where(*where)) or 0)
