"""Migrations: each migration of the report's tenants started in the period (every one
without a period) and its reconciliation, as `hramba migrate status` counts it: expected
is every remote file it knows of (listed on the server or named in the provider's
manifest), then how many of them ended in each state, those still on their way
(pending or staged) apart; who confirmed it and when, when it was imported; when its
staging area was purged and the purge record (its number and the SHA-256 over what went)."""

from __future__ import annotations

from sqlalchemy import String, case, cast, func, select
from sqlalchemy.orm import Session

from hramba.db.models import Migration, MigrationFile, Purge, Tenant
from hramba.domain.report import ReportColumn, ReportTable, Value, total_column
from hramba.services.migrate import STATES
from hramba.services.reports import Collected, Scope

SHOWN = ("archived", "duplicate", "mismatched", "missing", "quarantined")
# Still on their way: pending, transferred (counted as one column, "in progress").
UNFINISHED = tuple(s for s in STATES if s not in SHOWN)

# Two tables of the same migrations (by tenant and number), so that each fits an A4
# page's width: the reconciliation, and its confirmation and staging purge.
COLUMNS = (ReportColumn("tenant", 44), ReportColumn("id", 24, "right"),
           ReportColumn("started_at", 50),
           total_column("expected", 56),
           *(total_column(state, width) for state, width in zip(
               SHOWN, (50, 50, 56, 53, 52), strict=True)),
           total_column("unfinished", 46))
CLOSING_COLUMNS = (ReportColumn("tenant", 44), ReportColumn("id", 24, "right"),
                   ReportColumn("remote", 80), ReportColumn("confirmed_by", 50),
                   ReportColumn("confirmed_at", 52), ReportColumn("imported_at", 52),
                   ReportColumn("purged_at", 52), ReportColumn("purge_id", 40),
                   ReportColumn("purge_sha256", 100))

LABELS = {
    "migrations_note": ("Pričakovane so vse datoteke, ki jih migracija pozna (na strežniku "
                        "ali v seznamu prejšnjega ponudnika); tiste v teku še čakajo "
                        "na prenos ali arhiviranje.",
                        "Expected is every file the migration knows of (on the server or in "
                        "the previous provider's manifest); those in progress still wait to "
                        "be transferred or archived."),
    "migration_confirmations": ("Potrditve migracij in izbrisi začasnih kopij",
                                "Confirmations and staging purges"),
    "migration_confirmations_note": ("Kdo je migracijo potrdil in kdaj; kdaj so bile "
                                     "začasne kopije izbrisane in zapis o izbrisu.",
                                     "Who confirmed each migration and when; when its "
                                     "staging copies were purged, and the purge record."),
    "id": ("Št.", "No."),
    "remote": ("Vir", "Remote"),
    "started_at": ("Začeto", "Started"),
    "expected": ("Pričakovane", "Expected"),
    "archived": ("Arhivirane", "Archived"),
    "duplicate": ("Podvojene", "Duplicates"),
    "mismatched": ("Neskladne", "Mismatched"),
    "missing": ("Manjkajoče", "Missing"),
    "quarantined": ("V karanteni", "In quarantine"),
    "unfinished": ("V teku", "In progress"),
    "confirmed_by": ("Potrdil", "Confirmed by"),
    "confirmed_at": ("Potrjeno", "Confirmed at"),
    "imported_at": ("Uvoženo", "Imported at"),
    "purged_at": ("Začasne kopije izbrisane", "Staging purged"),
    "purge_id": ("Zapis o izbrisu", "Purge record"),
    "purge_sha256": ("SHA-256 izbrisa", "Purge SHA-256"),
    "confirmed": ("Potrjene", "Confirmed"),
    "imported": ("Uvožene", "Imported"),
    "purged": ("Izbrisane začasne kopije", "Staging purged"),
}


def collect(session: Session, scope: Scope) -> Collected:
    counts = (select(MigrationFile.migration_id.label("migration_id"),
                     func.count().label("expected"),
                     *(func.sum(case((MigrationFile.state == state, 1), else_=0)).label(state)
                       for state in SHOWN),
                     func.sum(case((MigrationFile.state.in_(UNFINISHED), 1), else_=0))
                     .label("unfinished"))
              .group_by(MigrationFile.migration_id).subquery())
    last_purge = (select(Purge.subject, func.max(Purge.id).label("id"))
                  .where(Purge.kind == "staging").group_by(Purge.subject).subquery())
    subject = "migration " + cast(Migration.id, String)
    query = (select(Migration, Tenant.code, counts, Purge.id, Purge.sha256)
             .join(Tenant, Tenant.id == Migration.tenant_id)
             .outerjoin(counts, counts.c.migration_id == Migration.id)
             .outerjoin(last_purge, last_purge.c.subject == subject)
             .outerjoin(Purge, Purge.id == last_purge.c.id)
             .where(*scope.tenants(Migration.tenant_id), *scope.within(Migration.started_at))
             .order_by(Migration.id))
    rows: list[tuple[Value, ...]] = []
    closing: list[tuple[Value, ...]] = []
    for row in session.execute(query):
        m = row[0]
        rows.append((row.code, m.id, m.started_at, *(int(row._mapping[c] or 0) for c in (
            "expected", *SHOWN, "unfinished"))))
        closing.append((row.code, m.id, m.remote, m.confirmed_by, m.confirmed_at,
                        m.imported_at, m.purged_at, row[-2], row[-1]))
    table = ReportTable("migrations", COLUMNS, rows, note="migrations_note")
    totals = table.totals or ()
    return Collected((table, ReportTable("migration_confirmations", CLOSING_COLUMNS, closing,
                                         note="migration_confirmations_note")), summary=(
        ("migrations", len(rows)), ("expected", totals[3] if totals else 0),
        ("archived", totals[4] if totals else 0),
        ("confirmed", sum(1 for r in closing if r[4] is not None)),
        ("imported", sum(1 for r in closing if r[5] is not None)),
        ("purged", sum(1 for r in closing if r[6] is not None))), labels=LABELS)
