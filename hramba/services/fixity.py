"""Fixity: re-hash every stored object against its recorded digest, find orphans.

Of one tenant, or of every tenant the principal serves (an auditor limited to some
tenants checks theirs, and looks for orphans under their prefixes only). A test tenant's
objects are locked briefly or not at all by design (storage.environments): their
retention is not compared with the recorded retain-until.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, select, update

from hramba.core.errors import NotFound
from hramba.core.findings import Report
from hramba.core.progress import NO_PROGRESS, Progress
from hramba.core.types import Digest, ObjectKey, StoredObject, hash_stream, retained_until
from hramba.db.engine import transaction
from hramba.db.models import DisposalUnit, Evidence, File, Tenant, Unit
from hramba.domain.access import Action
from hramba.domain.tenant import TEST
from hramba.services import access, audit
from hramba.services.context import Archive
from hramba.services.disposal import DELETING
from storage.keys import UNITS, tenant_prefix

PAGE = 500
S = TypeVar("S", bound=Select[*tuple[Any, ...]])


@dataclass(frozen=True)
class _Recorded:
    id: int
    key: ObjectKey
    size: int
    sha256: Digest
    retain_until: datetime
    tenant: str
    unit_id: str
    environment: str
    version: str | None  # the store's version id recorded at put (StoredObject.version)


def run_fixity(archive: Archive, tenant: str | None = None, *,
               progress: Progress = NO_PROGRESS) -> Report:
    """Check every object of `tenant` (or of all tenants) in one pass; audit the run.
    `progress` counts the recorded objects checked (the orphan listing is not counted)."""
    access.authorize(archive, Action.FIXITY)
    if tenant:  # an unknown code is an error, not "OK ()"
        access.tenant(archive, tenant, Action.FIXITY)
    report = Report("fixity")
    referenced: set[str] = set()
    progress.total(_count_recorded(archive, tenant))
    for table in (File, Evidence):
        for recorded in _recorded(archive, table, tenant):
            referenced.add(recorded.key)
            _check_object(archive, report, recorded)
            progress.advance()
    for prefix in _prefixes(archive, tenant):
        for key in archive.store.keys(prefix):
            report.count("objects listed")
            if key not in referenced:
                report.add("HRB-F003", key, "no unit references this object")
    with transaction(archive.db) as session:
        audit.record(session, archive, "fixity.run", tenant or "*", tenant=tenant,
                     details={"ok": report.ok, "counts": report.counts,
                              "findings": [f"{f.code} {f.subject}" for f in report.findings]})
    return report


def _prefixes(archive: Archive, tenant: str | None) -> list[str]:
    """Where to look for orphans: under the tenant's prefix, or all units' when the
    principal serves every tenant, else under each of its tenants' prefixes."""
    if tenant:
        return [tenant_prefix(tenant)]
    if archive.principal.tenant_ids is None:
        return [UNITS]
    with transaction(archive.db) as session:
        codes = session.scalars(access.scoped(select(Tenant.code), archive, Tenant.id))
        return [tenant_prefix(code) for code in codes]


def _recorded(archive: Archive, table: type[File] | type[Evidence], tenant: str | None,
              unit_ids: Sequence[str] | None = None) -> Iterator[_Recorded]:
    """Recorded objects (files, or stored evidence records) of units not disposed of,
    page by page in short transactions, so no lock is held while hashing."""
    last_id = 0
    columns = ((File.id, File.object_key, File.size, File.sha256) if table is File else
               (Evidence.id, Evidence.object_key, func.length(Evidence.record),
                Evidence.record_sha256))
    while True:
        query = (select(*columns, Unit.retain_until, Tenant.code, Unit.id, Tenant.environment,
                        table.object_version)
                 .join(Unit, table.unit_id == Unit.id)
                 .join(Tenant, Unit.tenant_id == Tenant.id)
                 .where(table.id > last_id, *_checked(table, tenant, unit_ids))
                 .order_by(table.id).limit(PAGE))
        with transaction(archive.db) as session:
            page = [_Recorded(r[0], ObjectKey(r[1]), r[2], Digest.sha256(r[3]), r[4], r[5],
                              r[6], r[7], r[8]) for r in session.execute(
                access.scoped(query, archive, Unit.tenant_id))]
        yield from page
        if len(page) < PAGE:
            return
        last_id = page[-1].id


def _checked(table: type[File] | type[Evidence], tenant: str | None,
             unit_ids: Sequence[str] | None = None) -> list[ColumnElement[bool]]:
    """Which recorded objects are checked: those of units not disposed of (evidence
    records once stored), of `tenant` and `unit_ids` when given."""
    conditions: list[ColumnElement[bool]] = [Unit.disposed_at.is_(None)]
    if unit_ids is not None:
        conditions.append(Unit.id.in_(unit_ids))
    if table is Evidence:
        conditions.append(Evidence.stored_at.is_not(None))
    if tenant:
        conditions.append(Tenant.code == tenant)
    return conditions


def _count_recorded(archive: Archive, tenant: str | None) -> int:
    """How many objects `_recorded` yields for files and evidence records together."""
    with transaction(archive.db) as session:
        return sum(int(session.scalar(access.scoped(
            select(func.count()).select_from(table).join(Unit, table.unit_id == Unit.id)
            .join(Tenant, Unit.tenant_id == Tenant.id).where(*_checked(table, tenant)),
            archive, Unit.tenant_id)) or 0) for table in (File, Evidence))


def _check_object(archive: Archive, report: Report, recorded: _Recorded) -> None:
    report.count("objects checked")
    try:
        stored = _stored(archive, report, recorded)
        with archive.store.open(recorded.key, recorded.version) as stream:
            hashed = hash_stream(stream)
    except NotFound:
        if _being_disposed(archive, recorded.unit_id):
            report.count("objects gone with a disposal in progress")
        else:
            report.add("HRB-F002", recorded.key)
        return
    report.count("bytes read", hashed.size)
    if hashed.size != recorded.size:
        report.add("HRB-F004", recorded.key, f"{hashed.size} bytes, recorded {recorded.size}")
    if hashed.sha256 != recorded.sha256:
        report.add("HRB-F001", recorded.key, f"is {hashed.sha256}, recorded {recorded.sha256}")
    if recorded.environment != TEST and not retained_until(stored, recorded.retain_until):
        report.add("HRB-F005", recorded.key, f"storage keeps it until {stored.retain_until}, "
                                             f"recorded {recorded.retain_until}")


def _stored(archive: Archive, report: Report, recorded: _Recorded) -> StoredObject:
    """What storage holds of the recorded version; HRB-F006 when the key's current object
    is another (a new version or a delete marker over a locked one, which Object Lock
    allows), since a read by key alone would get that one."""
    if recorded.version is None:  # a store without versions, or recorded before them
        return archive.store.stat(recorded.key)
    try:
        current: StoredObject | None = archive.store.stat(recorded.key)
    except NotFound:
        current = None
    if current is not None and current.version == recorded.version:
        return current  # the usual case: one request, as without versions
    stored = archive.store.stat(recorded.key, recorded.version)  # NotFound: HRB-F002
    over = "a delete marker" if current is None else f"version {current.version}"
    report.add("HRB-F006", recorded.key,
               f"{over} is current, recorded version {recorded.version}")
    return stored


def _being_disposed(archive: Archive, unit_id: str) -> bool:
    """An approved disposal is deleting the unit's objects (or stopped while doing so)."""
    with transaction(archive.db) as session:
        return session.scalar(select(DisposalUnit.id).where(
            DisposalUnit.unit_id == unit_id, DisposalUnit.state == DELETING)) is not None


def sweep(archive: Archive, period_days: int = 90) -> Report:
    """One daily slice of the rolling sweep: re-hash the units checked longest ago.

    A slice is 1/period_days of the units, or more when more would otherwise go
    unchecked for longer than `period_days` (a unit never swept counts from its
    receipt); run daily, every unit is re-hashed at least
    once per period. Units are marked checked whatever was found: findings are reported
    and audited, not retried.
    """
    access.authorize(archive, Action.FIXITY)
    report, now = Report("fixity sweep"), archive.clock.now()
    ids = _slice(archive, period_days, now)
    for start in range(0, len(ids), PAGE):
        page = ids[start:start + PAGE]
        for table in (File, Evidence):
            for recorded in _recorded(archive, table, None, page):
                _check_object(archive, report, recorded)
        with transaction(archive.db) as session:
            session.execute(update(Unit).where(Unit.id.in_(page))
                            .values(fixity_checked_at=now))
    report.count("units checked", len(ids))
    with transaction(archive.db) as session:
        audit.record(session, archive, "fixity.sweep", "*", details={
            "ok": report.ok, "counts": report.counts, "period_days": period_days,
            "findings": [f"{f.code} {f.subject}" for f in report.findings]})
    return report


def _slice(archive: Archive, period_days: int, now: datetime) -> list[str]:
    # A unit never swept counts from its receipt: archiving it hashed it.
    last = func.coalesce(Unit.fixity_checked_at, Unit.received_at)

    def kept(query: S) -> S:  # of the tenants the principal serves
        return access.scoped(query.where(Unit.disposed_at.is_(None)), archive, Unit.tenant_id)

    with transaction(archive.db) as session:
        total = int(session.scalar(kept(select(func.count()).select_from(Unit))) or 0)
        overdue = int(session.scalar(kept(select(func.count()).select_from(Unit).where(
            last < now - timedelta(days=period_days - 1)))) or 0)
        size = max(math.ceil(total / period_days), overdue)
        return list(session.scalars(kept(select(Unit.id)).order_by(
            last, Unit.fixity_checked_at.is_not(None), Unit.id).limit(size)))
