"""Access: who listed, searched, read, verified, exported or downloaded what, from the
audit log of the period. An event belongs to the report's tenants by the code it was
recorded under (their current or former codes); a report over every tenant counts every
event, those of no tenant too (a listing across tenants, reading the audit log).

Three tables: reads per actor and action (how many, first and last), each event of the
retrieval exports (requested, approved, built, downloaded) with its SHA-256, and each
refused attempt with what was refused and why."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hramba.db.models import AuditEvent
from hramba.domain.report import ReportColumn, ReportTable, Value, total_column
from hramba.services.reports import Collected, Scope, codes_in_scope

READS = ("units.listed", "units.searched", "unit.shown", "unit.read", "unit.exported",
         "unit.verified", "audit.read", "export.downloaded", "export.linked", "report.read",
         "disposal.certificate_read", "staging.certificate_read")
EXPORTS = ("export.requested", "export.approved", "export.built", "export.downloaded")
DENIED = "access.denied"
COVERED = tuple(dict.fromkeys((*READS, *EXPORTS, DENIED)))  # each action once

READ_COLUMNS = (ReportColumn("actor", 90), ReportColumn("action", 110),
                total_column("events", 50),
                ReportColumn("first_at", 80), ReportColumn("last_at", 80))
EXPORT_COLUMNS = (ReportColumn("occurred_at", 70), ReportColumn("actor", 80),
                  ReportColumn("action", 90), ReportColumn("export", 60),
                  ReportColumn("sha256", 150))
DENIED_COLUMNS = (ReportColumn("occurred_at", 70), ReportColumn("actor", 70),
                  ReportColumn("subject", 160), ReportColumn("action", 70),
                  ReportColumn("why", 80))

LABELS = {
    "reads": ("Branja po uporabniku in dejanju", "Reads by actor and action"),
    "reads_note": ("Izpisi, iskanja, vpogledi, branja, preverjanja, izvozi enot, branja "
                   "revizijske sledi, prevzemi izvozov in poročil v obdobju.",
                   "Listings, searches, views, reads, verifications, unit exports, audit "
                   "log reads, export downloads and links, report reads in the period."),
    "exports": ("Izvozi: zahteve, odobritve, izdelave in prevzemi",
                "Exports: requested, approved, built and downloaded"),
    "denied": ("Zavrnjeni dostopi", "Denied access"),
    "denied_note": ("Poskusi, ki jih pravila dostopa niso dovolila (vloga ali obseg "
                    "proračunskih uporabnikov).",
                    "Attempts the access rules refused (role or tenant scope)."),
    "actor": ("Uporabnik", "Actor"),
    "action": ("Dejanje", "Action"),
    "events": ("Dogodki", "Events"),
    "first_at": ("Prvič", "First"),
    "last_at": ("Zadnjič", "Last"),
    "occurred_at": ("Čas", "When"),
    "export": ("Izvoz", "Export"),
    "subject": ("Predmet", "Subject"),
    "sha256": ("SHA-256", "SHA-256"),
    "why": ("Razlog", "Why"),
    "actors": ("Različni uporabniki", "Distinct actors"),
}


def collect(session: Session, scope: Scope) -> Collected:
    where = [*_tenants(session, scope), *scope.within(AuditEvent.occurred_at)]
    reads = ReportTable("reads", READ_COLUMNS, _reads(session, where), note="reads_note")
    exports = ReportTable("exports", EXPORT_COLUMNS, [
        (e.occurred_at, e.actor, e.action, e.subject, _text(e.details.get("sha256")))
        for e in _events(session, where, EXPORTS)])
    denied = ReportTable("denied", DENIED_COLUMNS, [
        (e.occurred_at, e.actor, e.subject, _text(e.details.get("action")),
         _text(e.details.get("why"))) for e in _events(session, where, (DENIED,))],
        note="denied_note")
    events, actors = session.execute(
        select(func.count(), func.count(AuditEvent.actor.distinct()))
        .where(*where, AuditEvent.action.in_(COVERED))).one()
    return Collected((reads, exports, denied),
                     summary=(("events", int(events)), ("actors", int(actors)),
                              ("denied", len(denied.rows))), labels=LABELS)


def _tenants(session: Session, scope: Scope) -> list[ColumnElement[bool]]:
    codes = codes_in_scope(session, scope)
    return [] if codes is None else [AuditEvent.tenant.in_(codes)]


def _reads(session: Session, where: list[ColumnElement[bool]]) -> list[tuple[Value, ...]]:
    query = (select(AuditEvent.actor, AuditEvent.action, func.count(),
                    func.min(AuditEvent.occurred_at), func.max(AuditEvent.occurred_at))
             .where(*where, AuditEvent.action.in_(READS))
             .group_by(AuditEvent.actor, AuditEvent.action)
             .order_by(AuditEvent.actor, AuditEvent.action))
    return [(actor, action, int(n), first, last)
            for actor, action, n, first, last in session.execute(query)]


def _events(session: Session, where: list[ColumnElement[bool]],
            actions: tuple[str, ...]) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(
        *where, AuditEvent.action.in_(actions)).order_by(AuditEvent.seq)))


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
