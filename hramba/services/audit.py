"""The append-only audit log: record events, verify the hash chain."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from hramba.core.findings import Report
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Batch
from hramba.domain.audit import GENESIS, EventBody
from hramba.domain.hashtree import root_of
from hramba.services.context import Archive

PAGE = 1000
# Any constant: serialises appenders on PostgreSQL so the chain never forks.
_PG_LOCK_KEY = 0x68726D62


@dataclass(frozen=True)
class Event:
    """What to record: the action, its subject and the tenant it concerns."""

    action: str
    subject: str
    tenant: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def record(session: Session, archive: Archive, action: str, subject: str, *,
           tenant: str | None = None, details: dict[str, Any] | None = None) -> str:
    """Append one event in the caller's transaction; returns its hash."""
    return record_all(session, archive, [Event(action, subject, tenant, details or {})])


def record_all(session: Session, archive: Archive, events: list[Event]) -> str:
    """Append events in order in the caller's transaction, each chained to the one before;
    returns the hash of the last (the new head)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
    last = session.execute(select(AuditEvent.seq, AuditEvent.hash)
                           .order_by(AuditEvent.seq.desc()).limit(1)).first()
    seq, prev_hash = (last[0], last[1]) if last else (0, GENESIS)
    rows = []
    for event in events:
        seq += 1
        body = EventBody(seq=seq, occurred_at=archive.clock.now(), actor=archive.actor,
                         action=event.action, subject=event.subject, tenant=event.tenant,
                         details=event.details, prev_hash=prev_hash)
        prev_hash = body.event_hash()
        rows.append(asdict(body) | {"hash": prev_hash})
    if rows:
        session.execute(insert(AuditEvent), rows)
    return prev_hash


def verify_chain(archive: Archive) -> Report:
    """Recompute every event's hash and link, in one pass, page by page."""
    report = Report("audit")
    expected_prev, expected_seq = GENESIS, 1
    while True:
        with transaction(archive.db) as session:
            page = list(session.scalars(select(AuditEvent).where(
                AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(PAGE)))
        for event in page:
            _check_event(report, event, expected_prev, expected_seq)
            expected_prev, expected_seq = event.hash, event.seq + 1
        if len(page) < PAGE:
            _check_anchors(archive, report)
            return report


def _check_anchors(archive: Archive, report: Report) -> None:
    """Each sealed batch took the audit head as a leaf: that event must still carry that
    hash, and its hash path must lead to the batch's timestamped root."""
    with transaction(archive.db) as session:
        rows = session.execute(select(Batch.id, Batch.root, Batch.algorithm, Batch.audit_seq,
                                      Batch.audit_hash, Batch.audit_path, AuditEvent.hash)
                               .outerjoin(AuditEvent, AuditEvent.seq == Batch.audit_seq)
                               .order_by(Batch.id)).all()
    for batch_id, root, algorithm, seq, anchored, path, current in rows:
        report.count("batch anchors")
        reduced = [[bytes.fromhex(h) for h in level] for level in path["reduced"]]
        try:
            reaches_root = root_of([bytes.fromhex(anchored)], reduced, algorithm).hex() == root
        except ValueError:
            reaches_root = False
        if current != anchored or not reaches_root:
            report.add("HRB-A004", f"batch {batch_id}",
                       f"audit event {seq} is not the one the batch timestamped")


def _check_event(report: Report, event: AuditEvent, prev: str, seq: int) -> None:
    subject = f"audit event {event.seq}"
    report.count("events")
    if event.seq != seq:
        report.add("HRB-A003", subject, f"expected sequence {seq}")
    if event.prev_hash != prev:
        report.add("HRB-A002", subject, f"prev_hash {event.prev_hash[:16]}… "
                                        f"but previous hash is {prev[:16]}…")
    body = EventBody(event.seq, event.occurred_at, event.actor, event.action, event.subject,
                     event.tenant, event.details, event.prev_hash)
    if body.event_hash() != event.hash:
        report.add("HRB-A001", subject, "content changed after it was recorded")
