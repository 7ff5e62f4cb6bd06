"""Integrity: the fixity runs of the period (objects checked, bytes read, problems by
code), and how recently each tenant's objects were re-hashed, with the units the rolling
sweep has not reached in 90 days listed.

A run belongs to the report's tenants by the code it was audited under: a run over every
tenant (the daily sweep, `hramba fixity` without --tenant) only in a report over every
tenant, since its counts are not split by tenant.

Coverage is read as of the period's end (now without one) from each unit's last check
(`fixity_checked_at`, set by the sweep): objects are the files of units not disposed of.
A unit the sweep never reached counts from its receipt, as the sweep counts it (archiving
hashed it); one checked after the period's end is counted apart, its earlier check is not
kept.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from hramba.core.findings import CODES
from hramba.db.models import AuditEvent, File, Tenant, Unit
from hramba.domain.report import ReportColumn, ReportTable, Value, total_column
from hramba.services.reports import Collected, Scope, as_of, by_end, codes_in_scope

RUNS = ("fixity.run", "fixity.sweep")
LISTED = 1000  # units not checked in 90 days shown at most; the summary counts them all
RECENT, OVERDUE = timedelta(days=30), timedelta(days=90)

RUN_COLUMNS = (ReportColumn("occurred_at", 1.0), ReportColumn("actor", 0.8),
               ReportColumn("run", 1.1), ReportColumn("tenant", 0.9),
               total_column("objects_checked", 0.9),
               total_column("bytes_read", 1.0),
               ReportColumn("problems_by_code", 1.3),
               total_column("problems", 0.7))
COVERAGE_COLUMNS = (ReportColumn("tenant", 0.8),
                    total_column("objects", 0.9),
                    total_column("checked_30d", 1.0),
                    total_column("checked_90d", 1.0),
                    total_column("checked_older", 1.0),
                    total_column("never_checked", 1.0),
                    total_column("checked_later", 1.0))
UNIT_COLUMNS = (ReportColumn("unit", 1.6), ReportColumn("tenant", 0.6),
                ReportColumn("received_at", 1.0), ReportColumn("last_checked_at", 1.0))

LABELS: dict[str, tuple[str, str]] = {
    "fixity_runs": ("Preverjanja celovitosti v obdobju", "Fixity runs in the period"),
    "fixity_runs_note": (
        "Preverjanje vseh proračunskih uporabnikov (dnevno preverjanje) je navedeno le v "
        "poročilu za vse proračunske uporabnike, ker njegove številke niso razdeljene po "
        "uporabnikih.",
        "A run over every tenant (the daily sweep) is listed only in a report of every "
        "tenant, as its counts are not split by tenant."),
    "coverage": ("Zadnje preverjanje celovitosti predmetov", "Objects by their last fixity "
                 "check"),
    "coverage_note": (
        "Stanje ob koncu obdobja (brez obdobja: zdaj). Predmeti so datoteke enot, ki niso "
        "izločene; starost je čas od zadnjega preverjanja enote. Enota, preverjena po "
        "koncu obdobja, je šteta posebej.",
        "As of the period's end (now without one). Objects are the files of units not "
        "disposed of, by the time since their unit's last check; a unit checked after the "
        "period's end is counted apart."),
    "not_checked": ("Enote, nepreverjene 90 dni", "Units not checked in 90 days"),
    "not_checked_note": (
        "Enote, ki jih 90 dni pred koncem obdobja ni preverilo nobeno preverjanje; enota, "
        "ki še ni bila preverjena, šteje od prejema.",
        "Units no check reached in the 90 days before the period's end; a unit never "
        "checked counts from its receipt."),
    "occurred_at": ("Čas", "When"),
    "actor": ("Izvedel", "By"),
    "run": ("Preverjanje", "Run"),
    "objects_checked": ("Preverjeni predmeti", "Objects checked"),
    "bytes_read": ("Prebrani bajti", "Bytes read"),
    "problems_by_code": ("Težave po kodah", "Problems by code"),
    "problems": ("Težave", "Problems"),
    "objects": ("Predmeti", "Objects"),
    "checked_30d": ("Preverjeni v 30 dneh", "Checked within 30 days"),
    "checked_90d": ("Preverjeni pred 30 do 90 dnevi", "Checked 30 to 90 days ago"),
    "checked_older": ("Preverjeni pred več kot 90 dnevi", "Checked over 90 days ago"),
    "never_checked": ("Nikoli preverjeni", "Never checked"),
    "checked_later": ("Preverjeni po koncu obdobja", "Checked after the period"),
    "unit": ("Enota", "Unit"),
    "received_at": ("Prejeto", "Received"),
    "last_checked_at": ("Zadnje preverjanje", "Last checked"),
    "runs": ("Preverjanja", "Runs"),
    "units_not_checked_90d": ("Enote, nepreverjene 90 dni", "Units not checked in 90 days"),
}


def collect(session: Session, scope: Scope) -> Collected:
    runs, codes = _runs(session, scope)
    coverage = ReportTable("coverage", COVERAGE_COLUMNS, _coverage(session, scope),
                           note="coverage_note")
    listed, overdue = _not_checked(session, scope)
    labels, note = dict(LABELS), "not_checked_note"
    if overdue > len(listed):  # the note says how many the list leaves out
        sl, en = LABELS[note]
        note = "not_checked_cut"
        labels[note] = (f"{sl} Navedenih je prvih {len(listed)} od {overdue}.",
                        f"{en} The first {len(listed)} of {overdue} are listed.")
    unchecked = ReportTable("not_checked", UNIT_COLUMNS, listed, note=note)
    totals = runs.totals or ()
    return Collected((runs, coverage, unchecked), summary=(
        ("runs", len(runs.rows)), ("objects_checked", totals[4] if runs.rows else 0),
        ("problems", totals[7] if runs.rows else 0), ("units_not_checked_90d", overdue)),
        codes={code: CODES[code][1] for code in sorted(codes) if code in CODES},
        labels=labels)


def _runs(session: Session, scope: Scope) -> tuple[ReportTable, set[str]]:
    codes = codes_in_scope(session, scope)
    query = (select(AuditEvent).where(AuditEvent.action.in_(RUNS),
                                      *scope.within(AuditEvent.occurred_at))
             .order_by(AuditEvent.seq))
    if codes is not None:
        query = query.where(AuditEvent.tenant.in_(codes))
    rows: list[tuple[Value, ...]] = []
    used: set[str] = set()
    for event in session.scalars(query):
        counts = event.details.get("counts") or {}
        problems = Counter(str(f).split(" ", 1)[0] for f in event.details.get("findings") or [])
        used |= set(problems)
        rows.append((event.occurred_at, event.actor, event.action, event.tenant or "*",
                     int(counts.get("objects checked", 0)), int(counts.get("bytes read", 0)),
                     ", ".join(f"{code}: {n}" for code, n in sorted(problems.items())) or None,
                     sum(problems.values())))
    return ReportTable("fixity_runs", RUN_COLUMNS, rows, note="fixity_runs_note"), used


def _coverage(session: Session, scope: Scope) -> list[tuple[Value, ...]]:
    at, checked = as_of(scope), Unit.fixity_checked_at

    def count(condition: ColumnElement[bool]) -> Any:
        return func.sum(case((condition, 1), else_=0))

    query = (select(Tenant.code, func.count(File.id),
                    count(checked.between(at - RECENT, at)),
                    count((checked >= at - OVERDUE) & (checked < at - RECENT)),
                    count(checked < at - OVERDUE), count(checked.is_(None)),
                    count(checked > at))
             .join(Unit, File.unit_id == Unit.id).join(Tenant, Tenant.id == Unit.tenant_id)
             .where(Unit.disposed_at.is_(None), by_end(scope, Unit.received_at),
                    *scope.tenants(Unit.tenant_id))
             .group_by(Tenant.code).order_by(Tenant.code))
    return [(code, *(int(v or 0) for v in values)) for code, *values in session.execute(query)]


def _not_checked(session: Session, scope: Scope) -> tuple[list[tuple[Value, ...]], int]:
    """The units (at most LISTED, longest unchecked first) and how many in all."""
    last = func.coalesce(Unit.fixity_checked_at, Unit.received_at)
    where = [Unit.disposed_at.is_(None), by_end(scope, Unit.received_at),
             last < as_of(scope) - OVERDUE, *scope.tenants(Unit.tenant_id)]
    overdue = int(session.scalar(select(func.count()).select_from(Unit).where(*where)) or 0)
    query = (select(Unit.id, Tenant.code, Unit.received_at, Unit.fixity_checked_at)
             .join(Tenant, Tenant.id == Unit.tenant_id).where(*where)
             .order_by(last, Unit.id).limit(LISTED))
    return [tuple(row) for row in session.execute(query)], overdue
