"""Audit reports as data: tables of rows with their totals, and how one becomes a PDF for
people (Slovenian by default, or English), CSV and JSON for machines (the same rows; the
PDF carries them as attachments).

A report is computed by hramba.services.reports from one consistent read; this module
only shapes and words it. Every label a report prints is in LABELS, or in the labels of its
kind, in both languages (a test checks that none is missing).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from hramba.domain.document import (
    Align,
    Attachment,
    Block,
    Column,
    Fields,
    Heading,
    Paragraph,
    PdfDocument,
    Table,
)

FORMAT = "e-hramba-report/1"
FORMATS = ("pdf", "csv", "json")
LANGS = ("sl", "en")
Value = str | int | float | Decimal | date | datetime | bool | None


class ReportKind(StrEnum):
    HOLDINGS = "holdings"
    INTEGRITY = "integrity"
    EVIDENCE = "evidence"
    RETENTION = "retention"
    HOLDS = "holds"
    MIGRATIONS = "migrations"
    ACCESS = "access"
    QUARANTINE = "quarantine"


@dataclass(frozen=True)
class ReportColumn:
    name: str  # the CSV header and JSON key; its label is LABELS[name]
    width: float = 1.0
    align: Align = "left"
    total: bool = False  # summed in the table's totals row


def total_column(name: str, width: float = 1.0) -> ReportColumn:
    """A column of counts (or bytes): right-aligned, summed in the totals row."""
    return ReportColumn(name, width, "right", total=True)


@dataclass(frozen=True)
class ReportTable:
    """One table of a report. `totals` is computed from the rows, never separately, so it
    always reconciles with them."""

    name: str  # the CSV file's name and the JSON key; its title is LABELS[name]
    columns: tuple[ReportColumn, ...]
    rows: list[tuple[Value, ...]]
    note: str = ""  # a LABELS key said under the title, e.g. what the table leaves out

    @property
    def totals(self) -> tuple[Value, ...] | None:
        if not any(c.total for c in self.columns):
            return None
        return tuple(sum((r[n] or 0) for r in self.rows) if c.total else None  # type: ignore[misc]
                     for n, c in enumerate(self.columns))

    def as_dicts(self) -> list[dict[str, Any]]:
        return [{c.name: _json(v) for c, v in zip(self.columns, row, strict=True)}
                for row in self.rows]


@dataclass(frozen=True)
class Report:
    kind: ReportKind
    tenants: tuple[str, ...]  # codes; empty: every tenant
    period_from: date | None
    period_to: date | None
    generated_at: datetime
    generated_by: str
    archive: str
    tables: tuple[ReportTable, ...]
    summary: tuple[tuple[str, Value], ...] = ()  # LABELS key, value: the cover's figures
    codes: dict[str, str] = field(default_factory=dict)  # finding codes the report uses
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # the kind's own words

    @property
    def empty(self) -> bool:
        return not any(t.rows for t in self.tables)

    def as_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "kind": self.kind.value, "tenants": list(self.tenants),
                "period": {"from": _json(self.period_from), "to": _json(self.period_to)},
                "generated_at": self.generated_at.isoformat(),
                "generated_by": self.generated_by, "archive": self.archive,
                "summary": {k: _json(v) for k, v in self.summary},
                "tables": {t.name: {"rows": t.as_dicts(), "totals": None if t.totals is None
                                    else dict(zip([c.name for c in t.columns],
                                                  map(_json, t.totals), strict=True))}
                           for t in self.tables},
                "codes": self.codes}


def to_json(report: Report) -> bytes:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=1).encode("utf-8")


def to_csv(table: ReportTable) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.name for c in table.columns])
    writer.writerows([["" if v is None else _json(v) for v in row] for row in table.rows])
    return out.getvalue().encode("utf-8")


def csv_name(stem: str, table: ReportTable) -> str:
    return f"{stem}-{table.name}.csv"


def to_document(report: Report, stem: str, lang: str) -> PdfDocument:
    """The PDF's content: a cover (kind, scope, period, when, by whom, the archive, the
    summary figures), each table with its totals, the codes used; CSV and JSON attached
    (named from `stem`, as they are stored)."""
    say = _words(lang, report.labels)
    title = f"{say('report')}: {say(report.kind.value)}"
    blocks: list[Block] = [Fields([
        (say("kind"), say(report.kind.value)),
        (say("tenants"), ", ".join(report.tenants) or say("all tenants")),
        (say("period"), _period(report, say)),
        (say("generated_at"), f"{report.generated_at:%Y-%m-%d %H:%M:%S %Z}"),
        (say("generated_by"), report.generated_by), (say("archive"), report.archive)])]
    if report.summary:
        blocks += [Heading(say("summary")), Fields([(say(k), _shown(v, say))
                                                    for k, v in report.summary])]
    if report.empty:
        blocks.append(Paragraph(say("no data")))
    for table in report.tables:
        blocks += _table_blocks(table, say)
    if report.codes:
        blocks += [Heading(say("codes")), Fields(sorted(report.codes.items()))]
    attachments = [Attachment(csv_name(stem, t), to_csv(t), "text/csv", say(t.name))
                   for t in report.tables]
    attachments.append(Attachment(f"{stem}.json", to_json(report),
                                  "application/json", "JSON"))
    return PdfDocument(title, blocks, lang=lang, subject=title, created=report.generated_at,
                       footer=f"{report.archive}: {title}", attachments=attachments)


def _table_blocks(table: ReportTable, say: Say) -> list[Block]:
    blocks: list[Block] = [Heading(say(table.name))]
    if table.note:
        blocks.append(Paragraph(say(table.note)))
    if not table.rows:
        return [*blocks, Paragraph(say("no rows"))]
    rows: list[Sequence[str]] = [[_shown(v, say) for v in row] for row in table.rows]
    if table.totals is not None:
        rows.append([say("total") if n == 0 else "" if v is None else _shown(v, say)
                     for n, v in enumerate(table.totals)])
    columns = [Column(say(c.name), c.width, c.align) for c in table.columns]
    return [*blocks, Table(columns, rows)]


def _period(report: Report, say: Say) -> str:
    if report.period_from is None and report.period_to is None:
        return say("whole history")
    return f"{_json(report.period_from) or '…'} – {_json(report.period_to) or '…'}"


def _shown(value: Value, say: Say) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return say("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}".replace(",", " ")
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d %H:%M}"
    return str(_json(value))


def _json(value: Value) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


Say = Callable[[str], str]


def _words(lang: str, more: dict[str, tuple[str, str]]) -> Say:
    index, words = LANGS.index(lang), LABELS | more

    def say(key: str) -> str:
        return words[key][index] if key in words else key

    return say


# key: (Slovenian, English)
LABELS: dict[str, tuple[str, str]] = {
    "report": ("Poročilo", "Report"),
    "kind": ("Vrsta", "Kind"),
    "tenants": ("Proračunski uporabniki", "Tenants"),
    "all tenants": ("vsi", "all"),
    "period": ("Obdobje", "Period"),
    "whole history": ("celotno obdobje", "whole history"),
    "generated_at": ("Izdelano", "Generated"),
    "generated_by": ("Izdelal", "Generated by"),
    "archive": ("Arhiv", "Archive"),
    "summary": ("Povzetek", "Summary"),
    "codes": ("Uporabljene kode", "Codes used"),
    "no data": ("V izbranem obdobju ni podatkov.", "There is no data for this period."),
    "no rows": ("Ni vrstic.", "No rows."),
    "total": ("Skupaj", "Total"),
    "yes": ("da", "yes"),
    "no": ("ne", "no"),
    # kinds
    "holdings": ("Hramba", "Holdings"),
    "integrity": ("Celovitost", "Integrity"),
    "evidence": ("Dokazila", "Evidence"),
    "retention": ("Roki hrambe in izločanje", "Retention and disposal"),
    "holds": ("Pravna zadržanja", "Legal holds"),
    "migrations": ("Migracije", "Migrations"),
    "access": ("Dostopi", "Access"),
    "quarantine": ("Karantena", "Quarantine"),
    # columns and tables shared by several kinds
    "tenant": ("PU", "Tenant"),
    "year": ("Leto", "Year"),
    "format": ("Format", "Format"),
    "document_type": ("Vrsta dokumenta", "Document type"),
    "units": ("Enote", "Units"),
    "files": ("Datoteke", "Files"),
    "bytes": ("Bajti", "Bytes"),
    "sealed": ("Zapečatene", "Sealed"),
    "pending": ("Nezapečatene", "Pending"),
    "held": ("Zadržane", "Held"),
    "disposed": ("Izločene", "Disposed"),
    "holdings_by_year": ("Enote po letu, formatu in vrsti dokumenta",
                         "Units by year, format and document type"),
    "holdings_note": ("Enote, prejete v obdobju. Leto je leto izdaje računa, brez datuma "
                      "izdaje leto prejema. Izločene enote (ostane le zapis o izločitvi) so "
                      "štete posebej, v povzetku.",
                      "Units received in the period. The year is the invoice's issue year, "
                      "or without an issue date the year of receipt. Disposed units (only "
                      "their tombstones remain) are counted apart, in the summary."),
}
