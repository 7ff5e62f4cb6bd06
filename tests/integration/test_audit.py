"""The audit log: every action recorded, chained, append-only, tampering detected, and a
log cut back at its end detected by the head the last seal stored beside the database."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from hramba.core.findings import Report, Severity
from hramba.core.types import FixedClock, ObjectKey
from hramba.db.models import AuditEvent, Batch
from hramba.domain.audit import HEADS
from hramba.services import audit
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.fixity import run_fixity
from hramba.services.seal import seal
from hramba.services.units import list_units


def actions(archive: Archive) -> list[str]:
    with archive.db.begin() as session:
        return list(session.scalars(text("SELECT action FROM audit_events ORDER BY seq")))


def head_seq(archive: Archive) -> int:
    with archive.db.begin() as session:
        return int(session.scalar(text("SELECT max(seq) FROM audit_events")))


def archive_one(archive: Archive, content: bytes = b"<a/>") -> str:
    return archive_unit(archive, "OBCINA1", [IncomingFile(
        "a.xml", "invoice", "application/xml", lambda: io.BytesIO(content))]).unit_id


def errors(report: Report) -> list[tuple[str, str]]:
    return [(f.code, f.subject) for f in report.findings if f.severity is Severity.ERROR]


def unguarded(archive: Archive, statement: str) -> None:
    """What an administrator who drops the append-only guard first can do."""
    bind = archive.db.kw["bind"]
    with bind.begin() as conn:
        if bind.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
        conn.execute(text(statement))


def test_each_action_is_an_event_and_the_chain_verifies(archive: Archive) -> None:
    archive_one(archive)
    run_fixity(archive)
    assert actions(archive) == ["account.added", "config.changed", "tenant.added",
                                "unit.archived", "fixity.run"]
    report = audit.verify_chain(archive)
    assert report.ok
    assert report.counts["events"] == 5
    # Never sealed: nothing is anchored yet, which is worth knowing but not an error.
    assert [(f.code, f.subject, f.severity) for f in report.findings] == [
        ("HRB-A006", "audit events 1-5", Severity.INFO)]


def test_the_database_refuses_to_change_or_delete_events(archive: Archive) -> None:
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), archive.db.begin() as session:
            session.execute(text(statement))


def test_an_edited_event_breaks_the_chain(archive: Archive) -> None:
    archive_one(archive)
    unguarded(archive, "UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    assert errors(audit.verify_chain(archive)) == [("HRB-A001", "audit event 2")]


def test_a_seal_stores_the_head_after_its_own_events(archive: Archive,
                                                     clock: FixedClock) -> None:
    archive_one(archive)
    report = seal(archive)
    assert (report.batches, report.sealed) == (1, 1)
    assert report.audit_head == head_seq(archive)  # the batch.sealed event included
    [key] = list(archive.store.keys(HEADS))
    assert key == f"audit/heads/{report.audit_head:016d}.json"
    with archive.store.open(ObjectKey(key)) as stream:
        stored = json.loads(stream.read())
    with archive.db.begin() as session:
        event = session.get(AuditEvent, report.audit_head)
        assert event is not None
        batch_id = session.scalar(select(Batch.id))
    assert stored == {"seq": event.seq, "hash": event.hash, "batch": batch_id,
                      "occurred_at": event.occurred_at.isoformat()}
    assert event.action == "batch.sealed"
    retained = archive.store.stat(ObjectKey(key)).retain_until
    assert retained is not None
    assert retained >= clock.now() + timedelta(days=3652)
    verified = audit.verify_chain(archive)
    assert verified.ok
    assert verified.counts["stored heads"] == 1


def test_deleting_the_newest_events_is_truncation(archive: Archive) -> None:
    archive_one(archive)
    head = seal(archive).audit_head
    assert head is not None
    list_units(archive)  # a read after the seal: unanchored, not yet in any stored head
    assert errors(audit.verify_chain(archive)) == []

    unguarded(archive, f"DELETE FROM audit_events WHERE seq >= {head}")
    report = audit.verify_chain(archive)
    assert errors(report) == [("HRB-A005", f"audit event {head}")]  # the chain itself holds
    assert f"the log ends at event {head - 1}" in next(
        f.detail for f in report.findings if f.code == "HRB-A005")


def test_a_tail_deleted_and_written_again_is_truncation(archive: Archive) -> None:
    """Chained anew from the cut, the log passes the stored head's seq: it holds another
    event there, so the head's hash is what gives it away."""
    archive_one(archive)
    head = seal(archive).audit_head
    assert head is not None
    unguarded(archive, f"DELETE FROM audit_events WHERE seq >= {head - 1}")
    for content in (b"<b/>", b"<c/>", b"<d/>"):
        archive_one(archive, content)
    assert head_seq(archive) > head
    report = audit.verify_chain(archive)
    assert [code for code, _ in errors(report)] == ["HRB-A004", "HRB-A005"]
    assert "the head stored after batch 1" in next(
        f.detail for f in report.findings if f.code == "HRB-A005")


def test_events_after_the_last_anchor_are_reported_with_their_range(archive: Archive
                                                                    ) -> None:
    archive_one(archive)
    seal(archive)
    with archive.db.begin() as session:
        anchored = session.scalars(select(Batch.audit_seq)).one()
    list_units(archive)
    list_units(archive)
    last = head_seq(archive)
    report = audit.verify_chain(archive)
    assert report.ok
    [finding] = report.findings
    assert (finding.code, finding.severity) == ("HRB-A006", Severity.INFO)
    assert finding.subject == f"audit events {anchored + 1}-{last}"
    assert finding.detail == (f"{last - anchored} after event {anchored}, the last anchored; "
                              "the next seal anchors them")


def test_with_nothing_pending_the_head_is_anchored_once_a_day(archive: Archive,
                                                              clock: FixedClock) -> None:
    archive_one(archive)
    first = seal(archive)
    assert first.batches == 1
    again = seal(archive)  # the same day: nothing to seal, the anchor is fresh
    assert (again.batches, again.tsa_requests, again.audit_head) == (0, 0, None)

    clock.at += timedelta(days=1)
    daily = seal(archive)
    assert (daily.batches, daily.sealed, daily.tsa_requests) == (1, 0, 1)
    assert daily.audit_head == head_seq(archive)
    with archive.db.begin() as session:
        batch = session.scalars(select(Batch).order_by(Batch.id.desc())).first()
        assert batch is not None
        anchored = session.get(AuditEvent, batch.audit_seq)
        assert anchored is not None
    assert batch.units == 0
    assert batch.root == batch.audit_hash == anchored.hash  # the head is the one leaf
    assert anchored.action == "batch.sealed"  # the previous seal's event, anchored now
    assert len(list(archive.store.keys(HEADS))) == 2
    assert audit.stored_head(archive) is not None
    report = audit.verify_chain(archive)
    assert report.ok, report.as_dict()
    assert report.counts["batch anchors"] == 2  # the one-leaf path reaches its root

    forced = seal(archive, anchor=True)  # --anchor: now, however fresh the last anchor
    assert (forced.batches, forced.sealed) == (1, 0)
    assert forced.audit_head == head_seq(archive)
