"""Approved disposal: propose under a written instruction, approve by another account,
execute once storage allows it, and certify what was destroyed.

A proposal lists the tenant's units whose retention ran out, that are sealed, classified
and not held. Execution deletes every object of each unit (every version, in S3) only
when storage itself no longer retains it and no hold covers it: held and still-locked
units are skipped and named in the certificate. A disposed unit keeps its row, its files'
digests and its Evidence Records (the tombstone), so its existence and integrity up to
disposal stay provable. The destruction certificate is stored twice: as JSON, whose hash
is sealed with the next timestamp batch (hramba.services.seal), and as the signed PDF of
the zapisnik and popis (hramba.domain.certificate) that carries that JSON. Both name the
creator's address and responsible person, so a proposal needs them recorded.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, NotFound, RejectedInput, RetentionLocked
from hramba.core.progress import NO_PROGRESS, Progress
from hramba.core.types import Digest, ObjectKey, StoredObject, iso
from hramba.db.engine import transaction
from hramba.db.models import Disposal, DisposalUnit, Evidence, File, Tenant, Unit
from hramba.domain.access import Action
from hramba.domain.certificate import destruction_document, to_bytes
from hramba.domain.document import PdfDocument
from hramba.domain.retention import policy_ref
from hramba.services import access, audit
from hramba.services.certify import creator, store_signed
from hramba.services.context import Archive
from hramba.services.holds import held, units_objects
from hramba.services.locks import exclusive
from hramba.services.units import write_checked
from storage.keys import disposal_key, disposal_pdf_key

CERTIFICATE_FORMAT = "e-hramba-destruction-certificate/2"  # /2: creator, archive
OPEN = ("proposed", "approved")
DELETING = "deleting"  # its objects are being deleted; see fixity
PAGE = 200
DOCUMENT_FIELDS = ("document_type", "invoice_number", "issue_date", "seller_vat", "buyer_vat")


def propose(archive: Archive, tenant: str, *, instruction: str,
            as_of: datetime | None = None) -> dict[str, Any]:
    """A numbered proposal of every unit of `tenant` due by `as_of` (default now),
    proposed by the principal."""
    ref = access.tenant(archive, tenant, Action.DISPOSE_PROPOSE)
    if not instruction.strip():
        raise RejectedInput("a disposal proposal needs the archive's written instruction "
                            "that allows destruction (--instruction REF)")
    as_of = as_of or archive.clock.now()
    with transaction(archive.db) as session:
        _check_creator(session, ref.id, tenant)
        listed, left_out = _candidates(session, ref.id, as_of)
        if not listed:
            raise Conflict(f"nothing of {tenant} is due for disposal by {as_of:%Y-%m-%d}"
                           + (f" ({_describe(left_out)})" if left_out else ""))
        row = Disposal(tenant_id=ref.id, status="proposed", as_of=as_of,
                       instruction=instruction, proposed_by=archive.actor,
                       proposed_at=archive.clock.now())
        session.add(row)
        session.flush()
        session.add_all(DisposalUnit(disposal_id=row.id, unit_id=u, state="listed")
                        for u in listed)
        audit.record(session, archive, "disposal.proposed", f"disposal {row.id}",
                     tenant=ref.code, details={"instruction": instruction,
                                               "as_of": as_of.isoformat(),
                                               "units": len(listed), "left_out": left_out})
        disposal_id = row.id
    return _show(archive, disposal_id) | {"left_out": left_out}


def _check_creator(session: Session, tenant_id: int, code: str) -> None:
    """The zapisnik names the creator's address and responsible person: both recorded."""
    named = creator(session, tenant_id)
    lacking = [what for what, key in (("address", "address"),
                                      ("responsible person", "responsible")) if not named[key]]
    if lacking:
        raise RejectedInput(f"tenant {code} has no {' or '.join(lacking)} recorded; the "
                            "destruction certificate names them (hramba tenant update "
                            f"{code} --address ... --responsible ...)")


def _candidates(session: Session, tenant_id: int, as_of: datetime
                ) -> tuple[list[str], dict[str, int]]:
    """Units due by `as_of`; and how many due ones are left out, and why."""
    listed_open = select(DisposalUnit.unit_id).join(Disposal).where(
        Disposal.status.in_(OPEN), DisposalUnit.unit_id == Unit.id).exists()
    has_evidence = select(Evidence.id).where(Evidence.unit_id == Unit.id).exists()
    rows = session.execute(select(Unit.id, held(), Unit.needs_classification, has_evidence,
                                  listed_open)
                           .where(Unit.tenant_id == tenant_id, Unit.disposed_at.is_(None),
                                  Unit.retain_until <= as_of).order_by(Unit.id)).all()
    left_out: dict[str, int] = {}
    listed = []
    for unit_id, is_held, unclassified, is_sealed, in_open in rows:
        why = ("held" if is_held else "needs classification" if unclassified
               else "not sealed" if not is_sealed else "in an open disposal" if in_open
               else None)
        if why:
            left_out[why] = left_out.get(why, 0) + 1
        else:
            listed.append(unit_id)
    return listed, left_out


def approve(archive: Archive, disposal_id: int) -> dict[str, Any]:
    """Four eyes: the approving account must not be the proposing one. Logins are unique
    and never change, so the same account is refused whatever name it goes by."""
    _check(archive, disposal_id, Action.DISPOSE_APPROVE)
    with transaction(archive.db) as session:
        row = _get(session, disposal_id)
        if row.status != "proposed":
            raise Conflict(f"disposal {disposal_id} is {row.status}, not proposed")
        if row.proposed_by == archive.actor:
            raise Conflict(f"disposal {disposal_id} was proposed by {row.proposed_by}; "
                           "another account must approve it")
        row.status, row.approved_at = "approved", archive.clock.now()
        row.approved_by = archive.actor
        audit.record(session, archive, "disposal.approved", f"disposal {disposal_id}",
                     tenant=_code(session, row))
    return _show(archive, disposal_id)


def cancel(archive: Archive, disposal_id: int, *, reason: str) -> dict[str, Any]:
    """Withdraw or refuse an open proposal; its units may be proposed again."""
    _check(archive, disposal_id, Action.DISPOSE_PROPOSE)
    if not reason.strip():
        raise RejectedInput("cancelling a disposal needs a reason (--reason)")
    with exclusive(archive, f"disposal:{disposal_id}") as mine:
        if not mine:
            raise Conflict(f"disposal {disposal_id} is being executed by another process")
        with transaction(archive.db) as session:
            row = _get(session, disposal_id)
            if row.status not in OPEN:
                raise Conflict(f"disposal {disposal_id} is {row.status}; only an open "
                               "proposal can be cancelled")
            row.status, row.cancelled_at = "cancelled", archive.clock.now()
            row.cancelled_by, row.cancel_reason = archive.actor, reason
            audit.record(session, archive, "disposal.cancelled", f"disposal {disposal_id}",
                         tenant=_code(session, row), details={"reason": reason})
    return _show(archive, disposal_id)


def execute(archive: Archive, disposal_id: int, *,
            progress: Progress = NO_PROGRESS) -> dict[str, Any]:
    """Dispose of every listed unit that storage and holds allow; then certify. One
    process at a time per disposal (a second gets Conflict), so one certificate.
    `progress` counts the units not yet disposed of, as each is decided."""
    _check(archive, disposal_id, Action.DISPOSE_PROPOSE)
    with exclusive(archive, f"disposal:{disposal_id}") as mine:
        if not mine:
            raise Conflict(f"disposal {disposal_id} is being executed by another process")
        return _execute(archive, disposal_id, progress)


def _execute(archive: Archive, disposal_id: int, progress: Progress) -> dict[str, Any]:
    with transaction(archive.db) as session:
        row = _get(session, disposal_id)
        if row.status != "approved":
            raise Conflict(f"disposal {disposal_id} is {row.status}; only an approved "
                           "disposal can be executed")
        pending = list(session.scalars(select(DisposalUnit.unit_id).where(
            DisposalUnit.disposal_id == disposal_id, DisposalUnit.state != "disposed")
            .order_by(DisposalUnit.unit_id)))
    if pending:
        _can_sign(archive)
    progress.total(len(pending))
    for start in range(0, len(pending), PAGE):
        _dispose_page(archive, disposal_id, pending[start:start + PAGE], progress)
    _certify(archive, disposal_id)
    return _show(archive, disposal_id)


def _can_sign(archive: Archive) -> None:
    """Sign a blank page first: a key expired or a TSA refused stops the disposal before
    anything is destroyed, not after, with a certificate owed."""
    from hramba.trust.pdf import render

    archive.signing.sign(render(PdfDocument("e-hramba: signing check", [])))


def _dispose_page(archive: Archive, disposal_id: int, unit_ids: list[str],
                  progress: Progress) -> None:
    """Judge a page of units; mark those that may go `deleting`, delete their objects, then
    record every state in one transaction. A crash in between leaves `deleting` units
    (fixity then reports their missing objects as going, not as lost) whose objects a
    re-run deletes or finds gone."""
    now = archive.clock.now()
    with transaction(archive.db) as session:
        units = session.execute(select(Unit.id, held(), Unit.retain_until, Tenant.code)
                                .join(Tenant).where(Unit.id.in_(unit_ids))).all()
    objects = units_objects(archive, unit_ids)
    outcomes = {unit_id: _judge(archive, is_held, until, objects.get(unit_id, []), now)
                for unit_id, is_held, until, _ in units}
    going = [u for u, (state, _) in outcomes.items() if state == DELETING]
    progress.advance(len(unit_ids) - len(going))  # kept: decided without deleting
    with transaction(archive.db) as session:
        _set_states(session, disposal_id, {u: outcomes[u] for u in going})
    for unit_id in going:
        outcomes[unit_id] = _delete(archive, objects.get(unit_id, []))
        progress.advance()
    disposed = [(u, code) for u, _, _, code in units if outcomes[u][0] == "disposed"]
    with transaction(archive.db) as session:
        _set_states(session, disposal_id, outcomes)
        session.execute(update(Unit).where(Unit.id.in_([u for u, _ in disposed]))
                        .values(disposed_at=now, disposal_id=disposal_id))
        audit.record_all(session, archive, [audit.Event(
            "unit.disposed", u, code, {"disposal": disposal_id}) for u, code in disposed])


def _judge(archive: Archive, is_held: bool, until: datetime, keys: list[ObjectKey],
           now: datetime) -> tuple[str, str | None]:
    """May the unit go now? Holds first, then the policy, then storage, which has the last
    word (asked before anything is deleted, so a unit is not left half deleted)."""
    if is_held:
        return "held", "a legal hold covers it"
    if until > now:  # proposed ahead of time (--as-of): not yet
        return "retained", f"its policy keeps it until {until:%Y-%m-%d}"
    for key in keys:
        stored = _stat(archive, key)
        if stored and stored.legal_hold:
            return "locked", f"storage holds {key} (legal hold)"
        if stored and stored.retain_until and stored.retain_until > now:
            return "locked", f"storage keeps {key} until {stored.retain_until:%Y-%m-%d %H:%M}"
    return DELETING, None


def _delete(archive: Archive, keys: list[ObjectKey]) -> tuple[str, str | None]:
    for key in keys:
        try:
            archive.store.delete(key)
        except NotFound:
            continue  # deleted by a run that stopped before recording it
        except RetentionLocked as exc:  # storage said no after all
            return "locked", f"refused by storage: {exc}"
    return "disposed", None


def _set_states(session: Session, disposal_id: int,
                states: dict[str, tuple[str, str | None]]) -> None:
    for unit_id, (state, detail) in states.items():
        session.execute(update(DisposalUnit).where(
            DisposalUnit.disposal_id == disposal_id, DisposalUnit.unit_id == unit_id)
            .values(state=state, detail=detail))


def _stat(archive: Archive, key: ObjectKey) -> StoredObject | None:
    try:
        return archive.store.stat(key)
    except NotFound:
        return None


def _certify(archive: Archive, disposal_id: int) -> None:
    """Record the destruction certificate, store it as JSON and as the signed zapisnik,
    then mark the disposal executed; a re-run after a crash stores the certificate
    already recorded, and keeps the zapisnik already stored, not a second one."""
    with transaction(archive.db) as session:
        row = _get(session, disposal_id)
        tenant = _code(session, row)
        if row.certificate is None:
            row.certificate = to_bytes(certificate(session, row, archive.clock.now(),
                                                        archive.name))
        data = row.certificate
    sha256 = Digest.of_bytes(data)
    key = disposal_key(tenant, disposal_id, sha256.hex)
    keep = archive.policies.for_kind("unit").due(archive.clock.now())
    if not archive.store.exists(key):
        archive.store.put(key, io.BytesIO(data), size=len(data), sha256=sha256,
                          retain_until=keep)
        archive.store.sync()
    body = json.loads(data)
    pdf_key = disposal_pdf_key(tenant, disposal_id)
    document = destruction_document(body, json_name(disposal_id), sha256.hex)
    pdf_sha256 = store_signed(archive, pdf_key, document, keep).hex
    with transaction(archive.db) as session:
        row = _get(session, disposal_id)
        row.status, row.executed_at = "executed", archive.clock.now()
        row.certificate_sha256, row.certificate_key = sha256.hex, key
        row.certificate_pdf_sha256, row.certificate_pdf_key = pdf_sha256, pdf_key
        audit.record(session, archive, "disposal.executed", f"disposal {disposal_id}",
                     tenant=tenant, details={"certificate_sha256": sha256.hex,
                                             "certificate": key,
                                             "certificate_pdf_sha256": pdf_sha256,
                                             "certificate_pdf": pdf_key,
                                             "counts": body["counts"]})


def json_name(disposal_id: int) -> str:
    return f"disposal-{disposal_id}.json"


def certificate(session: Session, row: Disposal, now: datetime,
                archive_name: str) -> dict[str, Any]:
    """The destruction certificate: who decided what under which instruction, and a
    tombstone of every disposed unit (metadata, digests, its Evidence Record's hash)."""
    listed = session.execute(select(DisposalUnit, Unit).join(Unit).where(
        DisposalUnit.disposal_id == row.id).order_by(Unit.id)).all()
    disposed = [_tombstone(session, unit) for d, unit in listed if d.state == "disposed"]
    skipped = [{"unit_id": d.unit_id, "state": d.state, "detail": d.detail}
               for d, _ in listed if d.state != "disposed"]
    return {"format": CERTIFICATE_FORMAT, "disposal": row.id, "tenant": _code(session, row),
            "creator": creator(session, row.tenant_id), "archive": archive_name,
            "instruction": row.instruction, "as_of": row.as_of.isoformat(),
            "proposed": {"by": row.proposed_by, "at": row.proposed_at.isoformat()},
            "approved": {"by": row.approved_by, "at": iso(row.approved_at)},
            "executed_at": now.isoformat(),
            "counts": {"listed": len(listed), "disposed": len(disposed),
                       "skipped": len(skipped)},
            "disposed": disposed, "skipped": skipped}


def _tombstone(session: Session, unit: Unit) -> dict[str, Any]:
    files = session.execute(select(File.name, File.role, File.size, File.sha256).where(
        File.unit_id == unit.id).order_by(File.position)).all()
    records = session.scalars(select(Evidence.record_sha256).where(
        Evidence.unit_id == unit.id, Evidence.superseded_at.is_(None)))
    meta = unit.unit_metadata
    return {"unit_id": unit.id, "content_sha256": unit.content_sha256,
            "received_at": unit.received_at.isoformat(),
            "policy": policy_ref(unit.policy_id, unit.policy_version),
            "retain_until": unit.retain_until.isoformat(),
            "document": {k: meta.get(k) for k in DOCUMENT_FIELDS},
            "files": [{"name": n, "role": r, "size": s, "sha256": h} for n, r, s, h in files],
            "evidence_record_sha256": list(records)}


def show(archive: Archive, disposal_id: int) -> dict[str, Any]:
    """One disposal: its decisions, units and certificate."""
    _check(archive, disposal_id, Action.DISPOSE_READ)
    return _show(archive, disposal_id)


def _show(archive: Archive, disposal_id: int) -> dict[str, Any]:
    with transaction(archive.db) as session:
        row = _get(session, disposal_id)
        units = session.execute(select(DisposalUnit.unit_id, DisposalUnit.state,
                                       DisposalUnit.detail, Unit).join(Unit).where(
            DisposalUnit.disposal_id == disposal_id).order_by(DisposalUnit.unit_id)).all()
        return {"id": row.id, "tenant": _code(session, row), "status": row.status,
                "instruction": row.instruction, "as_of": row.as_of.isoformat(),
                "proposed_by": row.proposed_by, "proposed_at": row.proposed_at.isoformat(),
                "approved_by": row.approved_by, "approved_at": iso(row.approved_at),
                "executed_at": iso(row.executed_at),
                "cancelled": {"by": row.cancelled_by, "at": iso(row.cancelled_at),
                              "reason": row.cancel_reason} if row.cancelled_by else None,
                "certificate_sha256": row.certificate_sha256,
                "certificate_key": row.certificate_key,
                "certificate_pdf_sha256": row.certificate_pdf_sha256,
                "certificate_pdf_key": row.certificate_pdf_key,
                "sealed_in_batch": row.batch_id,
                "units": [{"unit_id": u, "state": s, "detail": d, **_reviewed(unit)}
                          for u, s, d, unit in units]}


def _reviewed(unit: Unit) -> dict[str, Any]:
    """What a reviewer needs to see of a listed unit."""
    meta = unit.unit_metadata
    return {"policy": policy_ref(unit.policy_id, unit.policy_version),
            "retain_until": unit.retain_until.isoformat(),
            "document": {k: meta.get(k) for k in DOCUMENT_FIELDS}}


def list_disposals(archive: Archive) -> list[dict[str, Any]]:
    """Every disposal of the tenants the principal serves."""
    access.authorize(archive, Action.DISPOSE_READ)
    with transaction(archive.db) as session:
        ids = list(session.scalars(access.scoped(select(Disposal.id).order_by(Disposal.id),
                                                 archive, Disposal.tenant_id)))
    return [_show(archive, i) for i in ids]


def certificate_files(archive: Archive, disposal_id: int, out: Path) -> list[Path]:
    """Write into `out` the certificate's JSON, once sealed its Evidence Record (DER), and
    the signed zapisnik (its digest checked as it is written); a read, so an event."""
    _check(archive, disposal_id, Action.DISPOSE_READ)
    with transaction(archive.db) as session:
        row = _get(session, disposal_id)
        if row.certificate is None:
            raise NotFound(f"disposal {disposal_id} has no certificate yet (execute it)")
        data, record, tenant = row.certificate, row.evidence, _code(session, row)
        pdf = (row.certificate_pdf_key, row.certificate_pdf_sha256)
    stem = out / f"disposal-{disposal_id}"
    targets = [stem.with_suffix(".json"), *([stem.with_suffix(".ers")] if record else []),
               *([stem.with_suffix(".pdf")] if pdf[0] else [])]
    if taken := [p for p in targets if p.exists()]:
        raise Conflict(f"{taken[0]} already exists; choose another --out directory")
    out.mkdir(parents=True, exist_ok=True)
    targets[0].write_bytes(data)
    if record:
        targets[1].write_bytes(record)
    if pdf[0] and pdf[1]:
        write_checked(archive, ObjectKey(pdf[0]), Digest.sha256(pdf[1]), targets[-1])
    with transaction(archive.db) as session:
        audit.record(session, archive, "disposal.certificate_read", f"disposal {disposal_id}",
                     tenant=tenant, details={"out": str(out),
                                             "files": [p.name for p in targets]})
    return targets


def _check(archive: Archive, disposal_id: int, action: Action) -> None:
    """Refuse the disposal unless the principal may do `action` on its tenant."""
    access.check_owner(archive, action, Disposal, disposal_id, f"disposal {disposal_id}")


def _get(session: Session, disposal_id: int) -> Disposal:
    row = session.get(Disposal, disposal_id)
    if row is None:
        raise NotFound(f"disposal {disposal_id} does not exist")
    return row


def _code(session: Session, row: Disposal) -> str:
    return session.get_one(Tenant, row.tenant_id).code


def _describe(left_out: dict[str, int]) -> str:
    return ", ".join(f"{n} {why}" for why, n in left_out.items())
