"""The append-only audit log: record events, list them, verify the hash chain, and keep
the head a seal anchored in a WORM object beside the database.

A log cut back at its end (the newest events deleted, perhaps re-grown from there) still
chains; what catches it is the stored head: the log must reach it, with the same hash.
Events after the last anchored one are reported as unanchored until the next seal, which
anchors the head at least daily even with nothing to seal (hramba.services.seal).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, insert, select, text
from sqlalchemy.orm import Session

from hramba.core.errors import IntegrityViolation, ServiceUnavailable
from hramba.core.findings import Report
from hramba.core.redact import redact_text
from hramba.core.types import Digest, ObjectKey, iso
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Batch
from hramba.domain.access import Action
from hramba.domain.audit import GENESIS, HEADS, AuditHead, EventBody, premis_type
from hramba.domain.hashtree import root_of
from hramba.services import access
from hramba.services.context import Archive

PAGE = 1000
# Any constant: serialises appenders on PostgreSQL so the chain never forks.
_PG_LOCK_KEY = 0x68726D62
# A stored head is locked at least this long: as long as the events it vouches for.
HEAD_LOCK = timedelta(days=3653)


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


@contextmanager
def violations_audited(archive: Archive, job: str) -> Iterator[None]:
    """Integrity violations are always audited: one that `job` meets is recorded, in a
    transaction of its own (the job's rolled back), before it goes on to the caller. A
    database that cannot take the event does not hide the violation."""
    try:
        yield
    except IntegrityViolation as exc:
        with contextlib.suppress(ServiceUnavailable), transaction(archive.db) as session:
            record(session, archive, "integrity.violation", job,
                   details={"error": redact_text(str(exc))})
        raise


@dataclass(frozen=True)
class LoggedEvent:
    """One event as `audit log` shows it, with its PREMIS event type."""

    seq: int
    occurred_at: datetime
    actor: str
    action: str
    subject: str
    tenant: str | None
    details: dict[str, Any]

    @property
    def premis_type(self) -> str | None:
        return premis_type(self.action)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"occurred_at": self.occurred_at.isoformat(),
                               "premis_type": self.premis_type}


@dataclass(frozen=True)
class EventCriteria:
    """Which events to list: all given criteria hold; `after` is the keyset cursor."""

    unit: str | None = None
    actor: str | None = None
    tenant: str | None = None
    since: datetime | None = None
    after: int = 0
    limit: int = 100

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"since": iso(self.since)}


@dataclass(frozen=True)
class EventPage:
    events: tuple[LoggedEvent, ...]
    next_after: int | None  # pass as `after` for the next page; None: this was the last

    def as_dict(self) -> dict[str, Any]:
        return {"events": [e.as_dict() for e in self.events], "next_after": self.next_after}


def list_events(archive: Archive, criteria: EventCriteria) -> EventPage:
    """Events in sequence order, one page at a time; a principal with a tenant scope sees
    only the events of its tenants. Reading the log is itself an event."""
    access.authorize(archive, Action.AUDIT_LOG)
    tenant_id = (access.tenant(archive, criteria.tenant, Action.AUDIT_LOG).id
                 if criteria.tenant is not None else None)  # in scope, or NotFound
    with transaction(archive.db) as session:
        codes = access.codes_in_view(session, archive, tenant_id)
        rows = list(session.scalars(_events_query(criteria, codes)))
        shown = rows[:criteria.limit]
        page = EventPage(tuple(_logged(row) for row in shown),
                         shown[-1].seq if len(rows) > criteria.limit else None)
        record(session, archive, "audit.read", "audit log", tenant=criteria.tenant,
               details=criteria.as_dict() | {"count": len(shown)})
    return page


def _events_query(criteria: EventCriteria, codes: set[str] | None) -> Select[AuditEvent]:
    # Each criterion is an equality on an indexed (column, seq) pair: keyset pages stay
    # cheap however long the log grows (migration 0008).
    query = (select(AuditEvent).where(AuditEvent.seq > criteria.after)
             .order_by(AuditEvent.seq).limit(criteria.limit + 1))
    for column, value in ((AuditEvent.subject, criteria.unit),
                          (AuditEvent.actor, criteria.actor)):
        if value is not None:
            query = query.where(column == value)
    if criteria.since is not None:
        query = query.where(AuditEvent.occurred_at >= criteria.since)
    if codes is not None:
        query = query.where(AuditEvent.tenant.in_(sorted(codes)))
    return query


def _logged(row: AuditEvent) -> LoggedEvent:
    return LoggedEvent(row.seq, row.occurred_at, row.actor, row.action, row.subject,
                       row.tenant, row.details)


def store_head(archive: Archive, batch_id: int) -> AuditHead:
    """Keep the log's newest event as a WORM object (after a seal's own events, so it
    covers them); the newest stored head is what a truncated log falls short of."""
    with transaction(archive.db) as session:
        seq, hash_, occurred_at = session.execute(
            select(AuditEvent.seq, AuditEvent.hash, AuditEvent.occurred_at)
            .order_by(AuditEvent.seq.desc()).limit(1)).one()
    head = AuditHead(seq, hash_, occurred_at, batch_id)
    key = ObjectKey(head.key)
    if not archive.store.exists(key):  # stored already: nothing was recorded since
        data = head.to_json()
        archive.store.put(key, io.BytesIO(data), size=len(data), sha256=Digest.of_bytes(data),
                          retain_until=archive.clock.now() + max(archive.minimum_lock,
                                                                 HEAD_LOCK))
        archive.store.sync()
    return head


def stored_head(archive: Archive) -> AuditHead | None:
    """The newest head kept in storage, if any seal stored one."""
    key = max(archive.store.keys(HEADS), default=None)
    if key is None:
        return None
    with archive.store.open(key) as stream:
        data = stream.read()
    try:
        return AuditHead.from_json(data)
    except ValueError as exc:
        raise IntegrityViolation(f"{key} is not a readable audit head: {exc}") from exc


def verify_chain(archive: Archive) -> Report:
    """Recompute every event's hash and link, in one pass, page by page; then check each
    batch's anchor, the events not yet anchored and the stored head."""
    access.authorize(archive, Action.AUDIT_VERIFY)
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
            last = expected_seq - 1
            _check_unanchored(archive, report, _check_anchors(archive, report), last)
            _check_head(archive, report, last)
            return report


def _check_anchors(archive: Archive, report: Report) -> int:
    """Each sealed batch took the audit head as a leaf: that event must still carry that
    hash, and its hash path must lead to the batch's timestamped root. Returns the
    newest anchored event's seq (0 for none)."""
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
    return max((row[3] for row in rows), default=0)


def _check_unanchored(archive: Archive, report: Report, anchored: int, last: int) -> None:
    """Events after the newest anchored one: no timestamp covers them yet (expected
    between seals; the next seal anchors them, at least daily)."""
    if last <= anchored:
        return
    with transaction(archive.db) as session:
        count = session.scalar(select(func.count()).select_from(AuditEvent)
                               .where(AuditEvent.seq > anchored)) or 0
    report.add("HRB-A006", f"audit events {anchored + 1}-{last}",
               (f"{count} after event {anchored}, the last anchored" if anchored else
                f"{count}, none anchored yet") + "; the next seal anchors them")


def _check_head(archive: Archive, report: Report, last: int) -> None:
    """The log must reach the newest stored head, and hold the same event there."""
    head = stored_head(archive)
    if head is None:
        return
    report.count("stored heads")
    with transaction(archive.db) as session:
        current = session.scalar(select(AuditEvent.hash).where(AuditEvent.seq == head.seq))
    stored = (f"the head stored after batch {head.batch} is event {head.seq} of "
              f"{head.occurred_at.isoformat()}")
    if last < head.seq:
        report.add("HRB-A005", f"audit event {head.seq}", f"the log ends at event {last}; "
                                                           + stored)
    elif current != head.hash:
        report.add("HRB-A005", f"audit event {head.seq}",
                   f"its hash is {(current or 'none')[:16]}…, {stored} with hash "
                   f"{head.hash[:16]}…")


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
