"""Quarantine: what was waiting for an archivist's decision at the period's end (now
without one), per tenant and code, by how long it had waited then; and what was released,
discarded or resolved (archived by a later intake) in the period.

An item belongs to the report's tenants by the code intake routed it to (their current
or former codes); an item no tenant could be routed to only in a report over every tenant.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, or_, select
from sqlalchemy.orm import Session

from hramba.core.findings import CODES
from hramba.db.models import Quarantined
from hramba.domain.report import ReportColumn, ReportTable, Value, total_column
from hramba.services.quarantine import DISCARDED, HELD, RELEASED, RESOLVED
from hramba.services.reports import Collected, Scope, as_of, by_end, codes_in_scope

WEEK, MONTH = timedelta(days=7), timedelta(days=30)

WAITING_COLUMNS = (ReportColumn("tenant", 0.9), ReportColumn("code", 0.9),
                   total_column("items", 0.8),
                   total_column("under_7d", 1.0),
                   total_column("days_7_30", 1.0),
                   total_column("over_30d", 1.0))
DECIDED_COLUMNS = (ReportColumn("tenant", 0.9), ReportColumn("code", 0.9),
                   total_column("released", 1.0),
                   total_column("discarded", 1.0),
                   total_column("resolved", 1.0))

LABELS: dict[str, tuple[str, str]] = {
    "waiting": ("Gradivo v karanteni, ki čaka na odločitev",
                "Items in quarantine waiting for a decision"),
    "waiting_note": ("Stanje ob koncu obdobja (brez obdobja: zdaj), po tem, koliko dni je "
                     "gradivo takrat že čakalo.",
                     "As of the period's end (now without one), by how long each item had "
                     "waited then."),
    "decided_in_period": ("Odločitve v obdobju", "Decisions in the period"),
    "code": ("Koda", "Code"),
    "items": ("Število", "Items"),
    "under_7d": ("Manj kot 7 dni", "Under 7 days"),
    "days_7_30": ("7 do 30 dni", "7 to 30 days"),
    "over_30d": ("Več kot 30 dni", "Over 30 days"),
    "released": ("Sproščeno", "Released"),
    "discarded": ("Zavrženo", "Discarded"),
    "resolved": ("Prevzeto pozneje", "Resolved by a later intake"),
    "waiting_items": ("Čaka na odločitev", "Waiting"),
    "waiting_over_30d": ("Čaka več kot 30 dni", "Waiting over 30 days"),
}


def collect(session: Session, scope: Scope) -> Collected:
    tenants = _tenants(session, scope)
    waiting = ReportTable("waiting", WAITING_COLUMNS, _waiting(session, scope, tenants),
                          note="waiting_note")
    decided = ReportTable("decided_in_period", DECIDED_COLUMNS,
                          _decided(session, scope, tenants))
    wait, done = waiting.totals or (), decided.totals or ()
    used = {str(row[1]) for table in (waiting, decided) for row in table.rows}
    return Collected((waiting, decided), summary=(
        ("waiting_items", wait[2] if waiting.rows else 0),
        ("waiting_over_30d", wait[5] if waiting.rows else 0),
        ("released", done[2] if decided.rows else 0),
        ("discarded", done[3] if decided.rows else 0),
        ("resolved", done[4] if decided.rows else 0)),
        codes={code: CODES[code][1] if code in CODES else code for code in sorted(used)},
        labels=LABELS)


def _tenants(session: Session, scope: Scope) -> list[ColumnElement[bool]]:
    codes = codes_in_scope(session, scope)
    return [] if codes is None else [Quarantined.tenant.in_(codes)]


def _count(condition: ColumnElement[bool]) -> Any:
    return func.sum(case((condition, 1), else_=0))


def _waiting(session: Session, scope: Scope,
             tenants: list[ColumnElement[bool]]) -> list[tuple[Value, ...]]:
    """Held at the period's end: received by then, and not decided by then."""
    at, received = as_of(scope), Quarantined.received_at
    undecided = or_(Quarantined.status == HELD, ~by_end(scope, Quarantined.decided_at))
    query = (select(Quarantined.tenant, Quarantined.code, func.count(),
                    _count(received > at - WEEK),
                    _count((received <= at - WEEK) & (received >= at - MONTH)),
                    _count(received < at - MONTH))
             .where(by_end(scope, received), undecided, *tenants)
             .group_by(Quarantined.tenant, Quarantined.code)
             .order_by(Quarantined.tenant.nulls_last(), Quarantined.code))
    return [(tenant, code, *(int(v or 0) for v in values))
            for tenant, code, *values in session.execute(query)]


def _decided(session: Session, scope: Scope,
             tenants: list[ColumnElement[bool]]) -> list[tuple[Value, ...]]:
    query = (select(Quarantined.tenant, Quarantined.code,
                    _count(Quarantined.status == RELEASED),
                    _count(Quarantined.status == DISCARDED),
                    _count(Quarantined.status == RESOLVED))
             .where(Quarantined.status.in_((RELEASED, DISCARDED, RESOLVED)),
                    *scope.within(Quarantined.decided_at), *tenants)
             .group_by(Quarantined.tenant, Quarantined.code)
             .order_by(Quarantined.tenant.nulls_last(), Quarantined.code))
    return [(tenant, code, *(int(v or 0) for v in values))
            for tenant, code, *values in session.execute(query)]
