"""The audit log: every action recorded, chained, append-only, tampering detected."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from hramba.services import audit
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.fixity import run_fixity


def actions(archive: Archive) -> list[str]:
    with archive.db.begin() as session:
        return list(session.scalars(text("SELECT action FROM audit_events ORDER BY seq")))


def test_each_action_is_an_event_and_the_chain_verifies(archive: Archive) -> None:
    archive_unit(archive, "OBCINA1", [IncomingFile("a.xml", "invoice", "application/xml",
                                                   lambda: io.BytesIO(b"<a/>"))])
    run_fixity(archive)
    assert actions(archive) == ["config.changed", "tenant.added", "unit.archived",
                                "fixity.run"]
    report = audit.verify_chain(archive)
    assert report.ok
    assert report.counts["events"] == 4


def test_the_database_refuses_to_change_or_delete_events(archive: Archive) -> None:
    for statement in ("UPDATE audit_events SET actor = 'mallory'", "DELETE FROM audit_events"):
        with pytest.raises(DBAPIError, match="append-only"), archive.db.begin() as session:
            session.execute(text(statement))


def test_an_edited_event_breaks_the_chain(archive: Archive) -> None:
    archive_unit(archive, "OBCINA1", [IncomingFile("a.xml", "invoice", "application/xml",
                                                   lambda: io.BytesIO(b"<a/>"))])
    bind = archive.db.kw["bind"]
    with bind.begin() as conn:  # an administrator who drops the guard first
        if bind.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        else:
            conn.execute(text("DROP TRIGGER audit_events_no_update"))
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2"))
    report = audit.verify_chain(archive)
    assert [(f.code, f.subject) for f in report.findings] == [("HRB-A001", "audit event 2")]
