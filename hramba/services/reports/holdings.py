"""Holdings: per tenant, year, format and document type, the units received in the period
(the whole history without one): units, files and bytes, sealed and pending, under a
legal hold; those disposed of (tombstones) are counted apart, in the summary."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Integer, case, cast, extract, func, select
from sqlalchemy.orm import Session

from hramba.db.models import File, Tenant, Unit
from hramba.domain.report import ReportColumn, ReportTable, Value, total_column
from hramba.domain.search import TYPE_NAMES
from hramba.services.reports import Collected, Scope

# Widths in points, as the words need them (the table fills the page's width).
COLUMNS = (ReportColumn("tenant", 46), ReportColumn("year", 30),
           ReportColumn("format", 46), ReportColumn("document_type", 58),
           total_column("units", 36),
           total_column("files", 46),
           total_column("bytes", 48),
           total_column("sealed", 53),
           total_column("pending", 66),
           total_column("held", 46))


def collect(session: Session, scope: Scope) -> Collected:
    year = cast(case((Unit.issue_date.is_not(None), extract("year", Unit.issue_date)),
                     else_=extract("year", Unit.received_at)), Integer)
    keys = (Tenant.code, year, Unit.format, func.coalesce(Unit.document_type, ""))
    kept = Unit.disposed_at.is_(None)
    counts = select(*keys, func.sum(case((kept, 1), else_=0)),
                    func.sum(case((kept & Unit.sealed_at.is_not(None), 1), else_=0)),
                    func.sum(case((kept & Unit.sealed_at.is_(None), 1), else_=0)),
                    func.sum(case((kept & Unit.legal_hold, 1), else_=0)),
                    func.sum(case((kept, 0), else_=1)))  # disposed: in the summary
    files = select(*keys, func.count(File.id), func.coalesce(func.sum(File.size), 0)) \
        .join(File, File.unit_id == Unit.id).where(kept)
    where = [*scope.tenants(Unit.tenant_id), *scope.within(Unit.received_at)]
    by_key: dict[tuple[Any, ...], tuple[int, int]] = {
        tuple(row[:4]): (int(row[4]), int(row[5])) for row in session.execute(
            files.join(Tenant, Tenant.id == Unit.tenant_id).where(*where).group_by(*keys))}
    rows: list[tuple[Value, ...]] = []
    disposed_in_all = 0
    for row in session.execute(counts.join(Tenant, Tenant.id == Unit.tenant_id)
                               .where(*where).group_by(*keys).order_by(*keys)):
        code, year_of, unit_format, kind = row[:4]
        n_files, n_bytes = by_key.get(tuple(row[:4]), (0, 0))
        units, sealed, pending, held, disposed = (int(v or 0) for v in row[4:])
        disposed_in_all += disposed
        if units:
            rows.append((code, str(year_of), unit_format, TYPE_NAMES.get(kind, kind) or None,
                         units, n_files, n_bytes, sealed, pending, held))
    table = ReportTable("holdings_by_year", COLUMNS, rows, note="holdings_note")
    totals = table.totals or ()
    return Collected((table,), summary=(("units", totals[4] if totals else 0),
                                        ("bytes", totals[6] if totals else 0),
                                        ("pending", totals[8] if totals else 0),
                                        ("disposed", disposed_in_all)))
