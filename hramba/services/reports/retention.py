"""Retention and disposal: what falls due in the period by policy (and of it, what a hold
keeps and what is disposed of already), the disposal register, and the purge records.

A unit falls due when its retention ends (Unit.retain_until), judged as `hramba
retention plan` does: a retention to the end of 2036 ends at 23:59:59 UTC on 31 December,
which is already 1 January 2037 in Ljubljana, so those units fall due in a period that
holds that day. Without a period, what fell due up to now. Held is as of now: kept units
an active hold covers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from hramba.db.models import Disposal, DisposalUnit, Purge, Tenant, Unit
from hramba.domain.report import ReportColumn, ReportTable, Value, total_column
from hramba.domain.retention import policy_ref
from hramba.services.holds import held
from hramba.services.purge import _in_view as purge_in_view
from hramba.services.reports import Collected, Scope, codes_in_scope

DUE_COLUMNS = (ReportColumn("tenant", 60), ReportColumn("policy", 140),
               total_column("units", 50),
               total_column("held", 50),
               total_column("disposed", 50))
# The register in two tables of the same rows (by tenant and number), so that each fits
# an A4 page's width: what was listed and destroyed, and who decided it when.
DISPOSAL_COLUMNS = (ReportColumn("tenant", 44), ReportColumn("id", 24, "right"),
                    ReportColumn("status", 46), ReportColumn("instruction", 90),
                    total_column("listed", 40),
                    total_column("disposed", 44),
                    ReportColumn("certificate_sha256", 160))
DECISION_COLUMNS = (ReportColumn("tenant", 44), ReportColumn("id", 24, "right"),
                    ReportColumn("proposed_by", 48), ReportColumn("proposed_at", 52),
                    ReportColumn("approved_by", 48), ReportColumn("approved_at", 52),
                    ReportColumn("executed_at", 52), ReportColumn("cancelled_by", 48),
                    ReportColumn("cancelled_at", 52))
PURGE_COLUMNS = (ReportColumn("id", 24, "right"), ReportColumn("kind", 40),
                 ReportColumn("subject", 64), ReportColumn("policy", 76),
                 ReportColumn("executed_at", 52), ReportColumn("counts", 76),
                 ReportColumn("sha256", 152))

LABELS = {
    "due": ("Enote, ki jim v obdobju poteče rok hrambe", "Units whose retention ends"),
    "due_note": ("Po proračunskem uporabniku in pravilu hrambe. Rok hrambe do konca leta "
                 "poteče 31. decembra ob 23:59:59 UTC, kar je po ljubljanskem času že "
                 "1. januar: te enote so v obdobju, ki vsebuje 1. januar. Zadržane: enote, "
                 "ki jih zdaj zadržuje veljavno pravno zadržanje.",
                 "By tenant and retention policy. A retention to the end of a year ends "
                 "on 31 December at 23:59:59 UTC, which is 1 January in Ljubljana: those "
                 "units fall in the period that holds 1 January. Held: units an active "
                 "legal hold covers now."),
    "disposals": ("Evidenca izločanja", "Disposal register"),
    "disposals_note": ("Izločitve, ki so bile v obdobju predlagane, odobrene, izvedene ali "
                       "preklicane: enote na seznamu, uničene enote in SHA-256 zapisnika o "
                       "uničenju.",
                       "Disposals proposed, approved, executed or cancelled in the period: "
                       "units listed, units destroyed and the destruction certificate's "
                       "SHA-256."),
    "disposal_decisions": ("Evidenca izločanja: odločitve", "Disposal register: decisions"),
    "disposal_decisions_note": ("Iste izločitve: kdo je predlagal, odobril ali preklical "
                                "in kdaj, ter kdaj je bila izločitev izvedena.",
                                "The same disposals: who proposed, approved or cancelled "
                                "each and when, and when it was executed."),
    "purges": ("Zapisi o samodejnih izbrisih", "Purge records"),
    "purges_note": ("Izbrisi prometnih zapisov, začasnih kopij migracij in izvoznih paketov "
                    "po pravilih hrambe.",
                    "Purges of traffic records, migration staging areas and export "
                    "packages under their policies."),
    "policy": ("Pravilo hrambe", "Policy"),
    "id": ("Št.", "No."),
    "status": ("Stanje", "Status"),
    "instruction": ("Navodilo arhiva", "Instruction"),
    "proposed_by": ("Predlagal", "Proposed by"),
    "proposed_at": ("Predlagano", "Proposed at"),
    "approved_by": ("Odobril", "Approved by"),
    "approved_at": ("Odobreno", "Approved at"),
    "executed_at": ("Izvedeno", "Executed at"),
    "cancelled_by": ("Preklical", "Cancelled by"),
    "cancelled_at": ("Preklicano", "Cancelled at"),
    "listed": ("Na seznamu", "Listed"),
    "certificate_sha256": ("SHA-256 zapisnika", "Certificate SHA-256"),
    "subject": ("Predmet", "Subject"),
    "counts": ("Obseg", "Counts"),
    "sha256": ("SHA-256", "SHA-256"),
    "units_due": ("Potekel rok hrambe", "Units due"),
    "units_held": ("Od teh zadržane", "Of which held"),
    "disposed_in_period": ("Izločene v obdobju", "Disposed of in the period"),
}


def collect(session: Session, scope: Scope) -> Collected:
    due = ReportTable("due", DUE_COLUMNS, _due(session, scope), note="due_note")
    register = _disposals(session, scope)
    disposals = ReportTable("disposals", DISPOSAL_COLUMNS, [r[:7] for r in register],
                            note="disposals_note")
    decisions = ReportTable("disposal_decisions", DECISION_COLUMNS,
                            [r[:2] + r[7:] for r in register], note="disposal_decisions_note")
    purges = ReportTable("purges", PURGE_COLUMNS, _purges(session, scope),
                         note="purges_note")
    disposed = session.scalar(select(func.count()).select_from(Unit).where(
        *scope.tenants(Unit.tenant_id), *scope.within(Unit.disposed_at)))
    totals = due.totals or ()
    return Collected((due, disposals, decisions, purges), summary=(
        ("units_due", totals[2] if totals else 0), ("units_held", totals[3] if totals else 0),
        ("disposed_in_period", int(disposed or 0))), labels=LABELS)


def _due(session: Session, scope: Scope) -> list[tuple[Value, ...]]:
    kept = Unit.disposed_at.is_(None)
    keys = (Tenant.code, Unit.policy_id, Unit.policy_version)
    query = (select(*keys, func.count(), func.sum(case((kept & held(), 1), else_=0)),
                    func.sum(case((kept, 0), else_=1)))
             .join(Tenant, Tenant.id == Unit.tenant_id)
             .where(*scope.tenants(Unit.tenant_id), *scope.within(Unit.retain_until))
             .group_by(*keys).order_by(*keys))
    return [(code, policy_ref(policy_id, version), int(n), int(on_hold or 0), int(gone or 0))
            for code, policy_id, version, n, on_hold, gone in session.execute(query)]


def _disposals(session: Session, scope: Scope) -> list[tuple[Value, ...]]:
    counts = (select(DisposalUnit.disposal_id, func.count().label("listed"),
                     func.sum(case((DisposalUnit.state == "disposed", 1), else_=0))
                     .label("disposed"))
              .group_by(DisposalUnit.disposal_id).subquery())
    acted = or_(*(and_(*scope.within(column)) for column in (
        Disposal.proposed_at, Disposal.approved_at, Disposal.executed_at,
        Disposal.cancelled_at)))
    query = (select(Disposal, Tenant.code, counts.c.listed, counts.c.disposed)
             .join(Tenant, Tenant.id == Disposal.tenant_id)
             .outerjoin(counts, counts.c.disposal_id == Disposal.id)
             .where(*scope.tenants(Disposal.tenant_id), acted).order_by(Disposal.id))
    return [(code, d.id, d.status, d.instruction, int(listed or 0), int(disposed or 0),
             d.certificate_sha256, d.proposed_by, d.proposed_at, d.approved_by, d.approved_at,
             d.executed_at, d.cancelled_by, d.cancelled_at)
            for d, code, listed, disposed in session.execute(query)]


def _purges(session: Session, scope: Scope) -> list[tuple[Value, ...]]:
    """Purge records of the period, as far as they concern the scope's tenants (a traffic
    purge spans tenants: a report of some counts only theirs), as `retention purges`."""
    codes = codes_in_scope(session, scope)
    found = session.scalars(select(Purge).where(*scope.within(Purge.executed_at))
                            .order_by(Purge.id))
    rows: list[tuple[Value, ...]] = []
    for p in found:
        seen = purge_in_view({"kind": p.kind, "counts": p.counts, "details": p.details},
                             None if codes is None else set(codes))
        if seen is not None:
            rows.append((p.id, p.kind, p.subject, policy_ref(p.policy_id, p.policy_version),
                         p.executed_at, _counts(seen["counts"]), p.sha256))
    return rows


def _counts(counts: dict[str, Any]) -> str:
    return ", ".join(f"{name}: {n}" for name, n in counts.items())
