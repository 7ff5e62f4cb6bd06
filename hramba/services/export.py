"""Retrieval exports: a budget user (or an archivist) asks for the units meeting search
criteria, with a reason; a second person approves where the tenant's rules require it;
the package is built (by the scheduler, or at once) and stored until the delivery
policy purges it; it is downloaded, or handed on by a link that expires.

Each step is an audit event carrying the criteria, the principal and, once built, the
package's SHA-256. A build reads the units in one consistent read into a spool, then
writes the package (hramba.services.package) beside it; only a complete package is
stored, and only a stored one is recorded, so a failure (disk full, storage down) leaves
the export "failed" with its reason and nothing to download, and the next run builds it
again. Two workers never build the same export: each claims it first.
"""

from __future__ import annotations

import base64
import json
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, TypeVar

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, HrambaError, NotFound, RejectedInput, ServiceUnavailable
from hramba.core.types import Digest, ObjectKey, iso
from hramba.db.engine import snapshot, transaction
from hramba.db.models import Batch, Evidence, Export, File, Tenant, Unit
from hramba.domain.access import Action
from hramba.domain.export import ExportState, bag_name, needs_approval
from hramba.domain.retention import policy_ref
from hramba.domain.search import TYPE_NAMES, Direction
from hramba.services import access, audit
from hramba.services.context import Archive
from hramba.services.package import Request, Validation, write_package
from hramba.services.search import SearchCriteria, count_matches, each_match
from hramba.services.units import checked_stream, write_checked
from hramba.trust.certs import load_pem_text, to_pem
from storage.keys import export_key

PAGE = 500
STALE_BUILD = timedelta(hours=6)  # a claim this old is a crashed build: claim it again
MAX_LINK = timedelta(days=7)  # S3 signature version 4 allows no longer
BUILDABLE = (ExportState.QUEUED, ExportState.FAILED)
T = TypeVar("T")


@dataclass(frozen=True)
class ExportView:
    """What is recorded of an export."""

    export_id: int
    tenant: str
    state: str
    criteria: dict[str, Any]
    reason: str
    requested_by: str
    requested_at: datetime
    matched: int
    needs_approval: bool
    approved_by: str | None
    approved_at: datetime | None
    built_at: datetime | None
    units: int | None
    size: int | None
    sha256: str | None
    failure: str | None
    purged_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {f.name: iso(v) if isinstance(v := getattr(self, f.name), datetime) else v
                for f in fields(self)}


def request_export(archive: Archive, criteria: SearchCriteria, reason: str) -> ExportView:
    """Ask for the tenant's units meeting `criteria`; none matching is NotFound (no empty
    package), too many is refused or waits for approval (hramba.domain.export)."""
    if not criteria.tenant:
        raise RejectedInput("an export is of one tenant: give --tenant")
    ref = access.tenant(archive, criteria.tenant, Action.EXPORT_REQUEST)
    if not reason.strip():
        raise RejectedInput("an export needs the reason it is asked for (--reason)")
    asked = {k: v for k, v in criteria.as_dict().items() if k not in ("after", "limit")}
    with transaction(archive.db) as session:
        matched = count_matches(session, criteria, ref.id)
        if matched == 0:
            raise NotFound(f"no unit of {ref.code} meets the criteria: nothing to export")
        tenant = session.get_one(Tenant, ref.id)
        approval = needs_approval(matched, tenant.exports_need_approval, archive.exports)
        row = Export(tenant_id=ref.id, criteria=asked, reason=reason.strip(),
                     state=ExportState.AWAITING_APPROVAL if approval else ExportState.QUEUED,
                     requested_by=archive.actor,
                     requested_by_account=archive.principal.account_id,
                     requested_at=archive.clock.now(), matched=matched,
                     needs_approval=approval)
        session.add(row)
        session.flush()
        audit.record(session, archive, "export.requested", _subject(row.id), tenant=ref.code,
                     details={"criteria": asked, "reason": row.reason, "matched": matched,
                              "needs_approval": approval})
        return _view(row, ref.code)


def approve_export(archive: Archive, export_id: int) -> ExportView:
    """Let a request that waits for approval be built; never by whoever asked for it."""
    code = _check(archive, export_id, Action.EXPORT_APPROVE)
    with transaction(archive.db) as session:
        row = session.get_one(Export, export_id, with_for_update=True)
        if row.state != ExportState.AWAITING_APPROVAL:
            raise Conflict(f"export {export_id} is {row.state}, not awaiting approval")
        if row.requested_by == archive.actor:
            raise Conflict(f"export {export_id} was requested by {row.requested_by}; "
                           "another person must approve it")
        row.state, row.approved_by = ExportState.QUEUED, archive.actor
        row.approved_at = archive.clock.now()
        audit.record(session, archive, "export.approved", _subject(export_id), tenant=code,
                     details={"criteria": row.criteria, "matched": row.matched})
        return _view(row, code)


def list_exports(archive: Archive, tenant: str | None = None) -> list[ExportView]:
    """The exports of the tenants the principal serves, newest first."""
    access.authorize(archive, Action.EXPORT_READ)
    query = access.scoped(select(Export, Tenant.code).join(Tenant)
                          .order_by(Export.id.desc()), archive, Export.tenant_id)
    if tenant:
        query = query.where(Export.tenant_id == access.tenant(
            archive, tenant, Action.EXPORT_READ).id)
    with transaction(archive.db) as session:
        return [_view(row, code) for row, code in session.execute(query)]


def show_export(archive: Archive, export_id: int) -> ExportView:
    code = _check(archive, export_id, Action.EXPORT_READ)
    with transaction(archive.db) as session:
        return _view(session.get_one(Export, export_id), code)


def build_export(archive: Archive, export_id: int) -> ExportView:
    """Build the package now (whoever may request exports of its tenant; the scheduler's
    job builds the others); one already built is returned as it is."""
    code = _check(archive, export_id, Action.EXPORT_REQUEST)
    if not _claim(archive, export_id):
        current = show_export(archive, export_id)
        if current.state == ExportState.READY:
            return current
        raise Conflict(f"export {export_id} is {current.state}"
                       + (": an approver must approve it first (hramba export approve)"
                          if current.state == ExportState.AWAITING_APPROVAL else ""))
    _build(archive, export_id, code)
    return show_export(archive, export_id)


def build_queued(archive: Archive) -> dict[str, int]:
    """The scheduled job: build every export that is queued, failed before, or whose
    build crashed, of the tenants the principal serves."""
    access.authorize(archive, Action.SCHEDULE)
    with transaction(archive.db) as session:
        waiting = list(session.execute(access.scoped(
            select(Export.id, Tenant.code).join(Tenant).where(_buildable(archive))
            .order_by(Export.id), archive, Export.tenant_id)))
    built = failed = 0
    for export_id, code in waiting:
        if not _claim(archive, export_id):
            continue  # another worker took it
        try:
            _build(archive, export_id, code)
            built += 1
        except HrambaError:
            failed += 1  # recorded on the export, with its reason
    return {"exports built": built, "exports failed": failed}


def download_export(archive: Archive, export_id: int, out: Path) -> Path:
    """The package into `out` as export-<id>.zip, its SHA-256 checked as it is written."""
    code, key, sha256, criteria = _package(archive, export_id)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{bag_name(export_id)}.zip"
    if target.exists():
        raise Conflict(f"{target} already exists; choose another --out directory")
    write_checked(archive, key, Digest.sha256(sha256), target)
    with transaction(archive.db) as session:
        audit.record(session, archive, "export.downloaded", _subject(export_id), tenant=code,
                     details={"criteria": criteria, "sha256": sha256, "out": str(out)})
    return target


def stream_export(archive: Archive, export_id: int) -> tuple[ExportView, Iterator[bytes]]:
    """The package's bytes, its SHA-256 checked after the last, for a front end that
    sends it on (the portal); a download, so an event."""
    code, key, sha256, criteria = _package(archive, export_id)
    with transaction(archive.db) as session:
        audit.record(session, archive, "export.downloaded", _subject(export_id), tenant=code,
                     details={"criteria": criteria, "sha256": sha256, "out": "web"})
    return show_export(archive, export_id), checked_stream(archive, key, Digest.sha256(sha256))


def link_export(archive: Archive, export_id: int, days: int | None = None
                ) -> tuple[str, datetime]:
    """A link to the package for someone without an account, and when it stops working
    (S3: a presigned GET; the embedded store: the file in its delivery folder, there
    until the purge). The link itself is a credential: it is not logged."""
    valid = timedelta(days=days or archive.exports.link_days)
    if not timedelta(0) < valid <= MAX_LINK:
        raise RejectedInput(f"a link lasts 1 to {MAX_LINK.days} days, not {valid.days}")
    code, key, sha256, criteria = _package(archive, export_id)
    url = archive.store.link(key, valid)
    expires = archive.clock.now() + valid
    with transaction(archive.db) as session:
        audit.record(session, archive, "export.linked", _subject(export_id), tenant=code,
                     details={"criteria": criteria, "sha256": sha256,
                              "expires_at": expires.isoformat()})
    return url, expires


# --- internals -------------------------------------------------------------------------

def _subject(export_id: int) -> str:
    return f"export {export_id}"


def _check(archive: Archive, export_id: int, action: Action) -> str:
    """The export's tenant code, if the principal may do `action` there."""
    return access.check_owner(archive, action, Export, export_id, f"export {export_id}").code


def _package(archive: Archive, export_id: int
             ) -> tuple[str, ObjectKey, str, dict[str, Any]]:
    code = _check(archive, export_id, Action.EXPORT_READ)
    view = show_export(archive, export_id)
    with transaction(archive.db) as session:
        key = session.get_one(Export, export_id).object_key
    if view.state != ExportState.READY or key is None or view.sha256 is None:
        raise NotFound(f"export {export_id} has no package to download: it is {view.state}"
                       + (f" ({view.failure})" if view.failure else ""))
    return code, ObjectKey(key), view.sha256, view.criteria


def _view(row: Export, code: str) -> ExportView:
    return ExportView(row.id, code, row.state, row.criteria, row.reason, row.requested_by,
                      row.requested_at, row.matched, row.needs_approval, row.approved_by,
                      row.approved_at, row.built_at, row.units, row.size, row.sha256,
                      row.failure, row.purged_at)


def _buildable(archive: Archive) -> Any:
    stale = archive.clock.now() - STALE_BUILD
    return or_(Export.state.in_(BUILDABLE),
               and_(Export.state == ExportState.BUILDING, Export.claimed_at < stale))


def _claim(archive: Archive, export_id: int) -> bool:
    """Mark the export as being built by this process; False if another has it."""
    with transaction(archive.db) as session:
        claimed = session.execute(update(Export).where(
            Export.id == export_id, _buildable(archive)).values(
            state=ExportState.BUILDING, claimed_at=archive.clock.now()))
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _build(archive: Archive, export_id: int, code: str) -> None:
    """Spool, write, store, record; on failure the reason is recorded and raised."""
    scratch = archive.home / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"export-{export_id}-", dir=scratch))
    try:
        request, batch_ids = _spool(archive, export_id, code, work / "units.jsonl")
        package = write_package(work / "package.zip", work, request, work / "units.jsonl",
                                archive.store, _validation(archive, batch_ids),
                                archive.signing)
        key = export_key(code, export_id, package.sha256)
        with package.path.open("rb") as stream:
            archive.store.put(key, stream, size=package.size,
                              sha256=Digest.sha256(package.sha256),
                              retain_until=archive.policies.for_kind("export").due(
                                  request.created_at))
        archive.store.sync()
        _record_built(archive, export_id, code, key, package.size, package.sha256,
                      package.totals.units)
    except (HrambaError, OSError) as exc:
        reason = _reason(exc)
        _record_failed(archive, export_id, code, reason)
        if isinstance(exc, HrambaError):
            raise
        raise ServiceUnavailable(f"export {export_id}: {reason}") from exc
    except Exception as exc:  # a bug: recorded all the same, not left "building"
        _record_failed(archive, export_id, code, _reason(exc))
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror} ({exc.filename or 'package'})"
    return str(exc) or type(exc).__name__


def _record_built(archive: Archive, export_id: int, code: str, key: ObjectKey, size: int,
                  sha256: str, units: int) -> None:
    with transaction(archive.db) as session:
        row = session.get_one(Export, export_id)
        row.state, row.built_at, row.object_key = ExportState.READY, archive.clock.now(), key
        row.size, row.sha256, row.units, row.failure = size, sha256, units, None
        audit.record(session, archive, "export.built", _subject(export_id), tenant=code,
                     details={"criteria": row.criteria, "units": units, "size": size,
                              "sha256": sha256, "object_key": key})


def _record_failed(archive: Archive, export_id: int, code: str, reason: str) -> None:
    with transaction(archive.db) as session:
        row = session.get_one(Export, export_id)
        row.state, row.failure = ExportState.FAILED, reason
        audit.record(session, archive, "export.failed", _subject(export_id), tenant=code,
                     details={"reason": reason})


# --- the consistent read ---------------------------------------------------------------

def _spool(archive: Archive, export_id: int, code: str, spool: Path
           ) -> tuple[Request, set[int]]:
    """Every unit the export takes, one JSON line each, in one consistent read; the
    request as the package states it, and the batches whose tokens the records hold."""
    batch_ids: set[int] = set()
    with snapshot(archive.db) as session, spool.open("w", encoding="utf-8") as sink:
        row = session.get_one(Export, export_id)
        tenant = session.get_one(Tenant, row.tenant_id)
        criteria = criteria_from(row.criteria, code)
        for page in _pages(each_match(session, criteria, row.tenant_id, PAGE), PAGE):
            batch_ids |= _spool_page(session, page, sink)
        request = Request(export_id, bag_name(export_id), code, tenant.name, row.criteria,
                          row.reason, row.requested_by, row.requested_at, row.approved_by,
                          archive.name, archive.clock.now())
    return request, batch_ids


def _pages(rows: Iterable[T], size: int) -> Iterator[list[T]]:
    page: list[T] = []
    for row in rows:
        page.append(row)
        if len(page) == size:
            yield page
            page = []
    if page:
        yield page


def _spool_page(session: Session, hits: list[Any], sink: IO[str]) -> set[int]:
    """One page of units, with their files, retention and current Evidence Record."""
    ids = [h.id for h in hits]
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    files: dict[str, list[dict[str, Any]]] = {i: [] for i in ids}
    for f in session.scalars(select(File).where(File.unit_id.in_(ids))
                             .order_by(File.unit_id, File.position)):
        files[f.unit_id].append({"name": f.name, "role": f.role, "media_type": f.media_type,
                                 "size": f.size, "sha256": f.sha256,
                                 "object_key": f.object_key,
                                 "object_version": f.object_version})
    records: dict[str, bytes] = {unit_id: record for unit_id, record in session.execute(
        select(Evidence.unit_id, Evidence.record).where(
            Evidence.unit_id.in_(ids), Evidence.superseded_at.is_(None)))}
    for hit in hits:
        line = _spooled(hit, units[hit.id], files[hit.id], records.get(hit.id))
        sink.write(json.dumps(line, ensure_ascii=False) + "\n")
    return set(session.scalars(select(Evidence.batch_id).where(Evidence.unit_id.in_(ids))))


def _spooled(hit: Any, unit: Unit, files: list[dict[str, Any]], record: bytes | None
             ) -> dict[str, Any]:
    return {
        "unit_id": unit.id, "issue_date": iso(unit.issue_date),
        "type": TYPE_NAMES.get(unit.document_type or "", unit.document_type),
        "invoice_number": unit.invoice_number, "direction": unit.direction,
        "seller_tax_id": unit.seller_tax_id, "seller_name": unit.seller_name,
        "buyer_tax_id": unit.buyer_tax_id, "buyer_name": unit.buyer_name,
        "payable_amount": None if unit.payable_amount is None else str(unit.payable_amount),
        "currency": unit.currency, "format": unit.format,
        "received_at": iso(unit.received_at), "sealed_at": iso(unit.sealed_at),
        "retain_until": iso(unit.retain_until),
        "policy": policy_ref(unit.policy_id, unit.policy_version),
        "legal_hold": unit.legal_hold, "disposed_at": iso(unit.disposed_at),
        "disposal": unit.disposal_id, "files": files,
        "evidence": base64.b64encode(record).decode("ascii") if record else None,
    }


def criteria_from(stored: dict[str, Any], tenant: str) -> SearchCriteria:
    """The search criteria an export recorded (JSON values) as search takes them."""
    kinds: dict[str, Callable[[Any], Any]] = {
        "date_from": date.fromisoformat, "date_to": date.fromisoformat,
        "amount_min": Decimal, "amount_max": Decimal, "direction": Direction}
    values = {k: kinds[k](v) if k in kinds and v is not None else v
              for k, v in stored.items() if k in SearchCriteria.__dataclass_fields__}
    return replace(SearchCriteria(**values), tenant=tenant)


def _validation(archive: Archive, batch_ids: set[int]) -> Validation:
    """The TSAs' certificates (each once), the anchors, the batches' revocation data."""
    with transaction(archive.db) as session:
        batches = list(session.scalars(select(Batch).where(Batch.id.in_(sorted(batch_ids)))
                                       .order_by(Batch.id)))
    chain = {c.dump(): c for b in batches for c in load_pem_text(b.certificates)}
    crls = {base64.b64decode(x): None for b in batches for x in b.revocation.get("crls", [])}
    ocsps = {base64.b64decode(x): None for b in batches for x in b.revocation.get("ocsps", [])}
    return Validation(to_pem(list(chain.values())), to_pem(archive.sealing.trust.anchors),
                      list(crls), list(ocsps))
