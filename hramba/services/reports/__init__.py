"""Audit reports from the same data: make one (computed in one consistent read, rendered
as a signed PDF with its CSV and JSON, stored WORM, recorded with its SHA-256), list
them, fetch one.

Each kind is a module of this package with `collect(session, scope) -> Collected`: the
tables, the cover's figures and the codes it uses, read in the caller's snapshot. Scope
is applied here, once: a report covers the tenants the principal serves, or the one it
names; another tenant is refused (exit 8), whether it exists or not.
"""

from __future__ import annotations

import hashlib
import importlib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, NotFound, NotPermitted, RejectedInput
from hramba.core.types import Digest, ObjectKey, iso
from hramba.db.engine import snapshot, transaction
from hramba.db.models import Report as ReportRow
from hramba.db.models import Tenant
from hramba.domain.access import Action
from hramba.domain.report import (
    FORMATS,
    LANGS,
    Report,
    ReportKind,
    ReportTable,
    Value,
    to_document,
)
from hramba.domain.retention import LEGAL_ZONE
from hramba.services import access as rules
from hramba.services import audit
from hramba.services.context import Archive
from hramba.services.locks import exclusive
from hramba.services.units import checked_stream, write_checked
from storage.keys import report_key


@dataclass(frozen=True)
class Scope:
    """Which tenants and which days a report covers; `now` is when it is made."""

    tenant_ids: tuple[int, ...] | None  # None: every tenant
    codes: tuple[str, ...]  # their codes, for the cover (empty: every tenant)
    period_from: date | None
    period_to: date | None
    now: datetime
    renew_margin: timedelta = timedelta(days=365)  # renew.margin_days: when proofs weaken

    @property
    def start(self) -> datetime | None:
        """The first moment of the period (days are Ljubljana days)."""
        return _day_start(self.period_from) if self.period_from else None

    @property
    def end(self) -> datetime:
        """The moment after the period (without one: now, which `within` includes)."""
        return _day_start(self.period_to + timedelta(days=1)) if self.period_to else self.now

    def tenants(self, column: Any) -> list[ColumnElement[bool]]:
        return [] if self.tenant_ids is None else [column.in_(self.tenant_ids)]

    def within(self, column: Any) -> list[ColumnElement[bool]]:
        """`column` in the period: from its start (if any) to its end, or up to now."""
        until = column < self.end if self.period_to else column <= self.now
        return [*([column >= self.start] if self.start else []), until]


@dataclass(frozen=True)
class Collected:
    tables: tuple[ReportTable, ...]
    summary: tuple[tuple[str, Value], ...] = ()
    codes: dict[str, str] = field(default_factory=dict)
    labels: dict[str, tuple[str, str]] = field(default_factory=dict)  # (sl, en) by key


Collector = Callable[[Session, Scope], Collected]


def as_of(scope: Scope) -> datetime:
    """The moment a state is read at: the period's end, or now if that is sooner."""
    return min(scope.end, scope.now)


def by_end(scope: Scope, column: Any) -> ColumnElement[bool]:
    """`column` is no later than the period's end (or now), as `Scope.within` reads it."""
    until: ColumnElement[bool] = column < scope.end if scope.period_to else column <= scope.now
    return until


def codes_in_scope(session: Session, scope: Scope) -> list[str] | None:
    """The codes, current and former, the scope's tenants were recorded under (None: every
    tenant): audit events and quarantined items keep the code a tenant had then."""
    if scope.tenant_ids is None:
        return None
    return sorted({c for code, former in session.execute(
        select(Tenant.code, Tenant.former_codes).where(Tenant.id.in_(scope.tenant_ids)))
        for c in (code, *(former or []))})



@dataclass(frozen=True)
class StoredReport:
    report_id: int
    kind: str
    tenants: tuple[str, ...]
    period_from: date | None
    period_to: date | None
    lang: str
    generated_at: datetime
    generated_by: str
    sha256: str  # of the PDF
    files: dict[str, dict[str, Any]]  # name -> key, size, sha256

    def as_dict(self) -> dict[str, Any]:
        return {"report_id": self.report_id, "kind": self.kind, "tenants": list(self.tenants),
                "period_from": iso(self.period_from), "period_to": iso(self.period_to),
                "lang": self.lang, "generated_at": iso(self.generated_at),
                "generated_by": self.generated_by, "sha256": self.sha256,
                "files": self.files}


def collector(kind: ReportKind) -> Collector:
    module = importlib.import_module(f"hramba.services.reports.{kind.value}")
    found: Collector = module.collect
    return found


def make_report(archive: Archive, kind: ReportKind, tenant: str | None = None,
                period_from: date | None = None, period_to: date | None = None,
                lang: str = "sl") -> tuple[StoredReport, Report]:
    """Compute, render, sign and store a report; its record and event come last."""
    rules.authorize(archive, Action.REPORT)
    if lang not in LANGS:
        raise RejectedInput(f"--lang is one of {', '.join(LANGS)}, not {lang!r}")
    if period_from and period_to and period_from > period_to:
        raise RejectedInput(f"the period ends ({period_to}) before it starts ({period_from})")
    scope = replace(_scope(archive, tenant, period_from, period_to),
                    renew_margin=archive.sealing.renew_margin)
    with snapshot(archive.db) as session:
        collected = collector(kind)(session, scope)
    report = Report(kind, scope.codes, period_from, period_to, scope.now, archive.actor,
                    archive.name, collected.tables, collected.summary, collected.codes,
                    collected.labels)
    return _store(archive, report, scope, lang), report


def _scope(archive: Archive, code: str | None, period_from: date | None,
           period_to: date | None) -> Scope:
    now, ids = archive.clock.now(), archive.principal.tenant_ids
    with transaction(archive.db) as session:
        if code is None:
            query = select(Tenant.code).order_by(Tenant.code)
            codes = tuple(session.scalars(query.where(*([] if ids is None else
                                                        [Tenant.id.in_(ids)]))))
            return Scope(None if ids is None else tuple(sorted(ids)),
                         () if ids is None else codes, period_from, period_to, now)
        found = session.scalars(select(Tenant).where(Tenant.code == code)).first()
        tenant_id = found.id if found else None
    if tenant_id is None or not archive.principal.serves(tenant_id):
        if ids is None:
            raise NotFound(f"tenant {code} is not registered (hramba tenant add)")
        rules.deny(archive, Action.REPORT, code, code, why="tenant scope")
        raise NotPermitted(f"{archive.principal.describe()} may not see reports of "
                           f"tenant {code}")
    return Scope((tenant_id,), (code,), period_from, period_to, now)


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(), LEGAL_ZONE)


def _store(archive: Archive, report: Report, scope: Scope, lang: str) -> StoredReport:
    """PDF (signed), JSON, a CSV per table: each stored WORM, then one record and event."""
    from hramba.trust.pdf import render

    stamp = f"{report.kind.value}-{scope.now:%Y%m%dT%H%M%S}"
    document = to_document(report, stamp, lang)  # the CSV and JSON are its attachments
    contents = {f"{stamp}.pdf": archive.signing.sign(render(document)),
                **{a.name: a.data for a in document.attachments}}
    retain_until = archive.policies.for_kind("report").due(scope.now)
    single = scope.tenant_ids if scope.tenant_ids and len(scope.tenant_ids) == 1 else None
    tenant = scope.codes[0] if single else None
    files = {}
    for name, data in contents.items():
        sha256 = hashlib.sha256(data).hexdigest()
        key = report_key(tenant, name, sha256)
        _put_once(archive, key, data, Digest.sha256(sha256), retain_until)
        files[name] = {"key": key, "size": len(data), "sha256": sha256}
    archive.store.sync()
    with transaction(archive.db) as session:
        row = ReportRow(kind=report.kind.value, tenant_id=single[0] if single else None,
                        tenants=list(scope.codes),
                        period_from=report.period_from, period_to=report.period_to,
                        lang=lang, generated_at=scope.now, generated_by=archive.actor,
                        sha256=files[f"{stamp}.pdf"]["sha256"], files=files,
                        retain_until=retain_until)
        session.add(row)
        session.flush()
        audit.record(session, archive, "report.generated", f"report {row.id}", tenant=tenant,
                     details={"kind": row.kind, "tenants": row.tenants,
                              "period": [iso(row.period_from), iso(row.period_to)],
                              "sha256": {n: f["sha256"] for n, f in files.items()}})
        return _view(row)


def _put_once(archive: Archive, key: ObjectKey, data: bytes, sha256: Digest,
              retain_until: datetime) -> None:
    """Keys are named by content: the same bytes made again (a CSV of the same rows in
    the same second) are the object already stored."""
    try:
        archive.store.put(key, io.BytesIO(data), size=len(data), sha256=sha256,
                          retain_until=retain_until)
    except Conflict:
        if archive.store.stat(key).sha256 != sha256:
            raise


MONTHLY = (ReportKind.INTEGRITY, ReportKind.EVIDENCE, ReportKind.ACCESS)
YEARLY = (ReportKind.HOLDINGS,)


def make_periodic(archive: Archive) -> dict[str, int]:
    """The scheduled job: per tenant, last month's integrity, evidence and access reports
    and last year's holdings report, each made once (a run that finds it made skips it,
    so a missed day is made up by the next). One run at a time, whoever runs it: a second
    would find the same reports missing and make them twice."""
    rules.authorize(archive, Action.SCHEDULE)
    with exclusive(archive, "reports") as mine:
        if not mine:
            return {"already running": True}
        return {"reports made": _make_missing(archive)}


def _make_missing(archive: Archive) -> int:
    today = archive.clock.now().astimezone(LEGAL_ZONE).date()
    month_end = today.replace(day=1) - timedelta(days=1)
    periods = [(kind, month_end.replace(day=1), month_end) for kind in MONTHLY]
    periods += [(kind, date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
                for kind in YEARLY]
    with transaction(archive.db) as session:
        tenants = list(session.execute(rules.scoped(
            select(Tenant.id, Tenant.code).where(Tenant.offboarded_at.is_(None))
            .order_by(Tenant.code), archive, Tenant.id)))
        made = {(r.kind, r.tenant_id, r.period_from, r.period_to) for r in session.execute(
            select(ReportRow.kind, ReportRow.tenant_id, ReportRow.period_from,
                   ReportRow.period_to))}
    count = 0
    for tenant_id, code in tenants:
        for kind, start, end in periods:
            if (kind.value, tenant_id, start, end) not in made:
                make_report(archive, kind, code, start, end)
                count += 1
    return count


def list_reports(archive: Archive, kind: ReportKind | None = None) -> list[StoredReport]:
    """The reports the principal may read (those of its tenants only), newest first."""
    rules.authorize(archive, Action.REPORT)
    query = select(ReportRow).order_by(ReportRow.id.desc())
    if kind is not None:
        query = query.where(ReportRow.kind == kind.value)
    with transaction(archive.db) as session:
        codes = rules.codes_in_view(session, archive)
        return [_view(r) for r in session.scalars(query) if _visible(r, codes)]


def get_report(archive: Archive, report_id: int, out: Path,
               formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """The report's files of `formats` into `out`, each digest checked as it is written."""
    view = _readable(archive, report_id)
    out.mkdir(parents=True, exist_ok=True)
    wanted = [(name, f) for name, f in view.files.items() if name.rpartition(".")[2] in formats]
    targets = []
    for name, f in wanted:
        target = out / name
        if target.exists():
            raise Conflict(f"{target} already exists; choose another --out directory")
        write_checked(archive, ObjectKey(f["key"]), Digest.sha256(f["sha256"]), target)
        targets.append(target)
    _read(archive, report_id, {"out": str(out), "files": [p.name for p in targets]})
    return targets


def stream_report(archive: Archive, report_id: int, name: str
                  ) -> tuple[dict[str, Any], Iterator[bytes]]:
    """One file of the report (its key, size and SHA-256) and its bytes, the digest
    checked after the last, for a front end that sends it on."""
    view = _readable(archive, report_id)
    if name not in view.files:
        raise NotFound(f"report {report_id} has no file {name!r} (it has "
                       f"{', '.join(sorted(view.files))})")
    f = view.files[name]
    _read(archive, report_id, {"out": "web", "files": [name]})
    return f, checked_stream(archive, ObjectKey(f["key"]), Digest.sha256(f["sha256"]))


def _readable(archive: Archive, report_id: int) -> StoredReport:
    """The report, if the principal may read it; another tenant's is NotFound (audited)."""
    rules.authorize(archive, Action.REPORT)
    with transaction(archive.db) as session:
        row = session.get(ReportRow, report_id)
        visible = row is not None and _visible(row, rules.codes_in_view(session, archive))
        view = _view(row) if row is not None else None
    if view is None or not visible:
        if view is not None:
            rules.deny(archive, Action.REPORT, f"report {report_id}", None, why="scope")
        raise NotFound(f"report {report_id} does not exist")
    return view


def _read(archive: Archive, report_id: int, details: dict[str, Any]) -> None:
    with transaction(archive.db) as session:
        audit.record(session, archive, "report.read", f"report {report_id}", details=details)


def _visible(row: ReportRow, codes: set[str] | None) -> bool:
    """Every tenant it covers is one the principal serves; an archive-wide report only
    for whoever serves every tenant."""
    if codes is None:
        return True
    return bool(row.tenants) and set(row.tenants) <= codes


def _view(row: ReportRow) -> StoredReport:
    return StoredReport(row.id, row.kind, tuple(row.tenants), row.period_from, row.period_to,
                        row.lang, row.generated_at, row.generated_by, row.sha256, row.files)
