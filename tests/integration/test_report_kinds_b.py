"""Reports of issue #13, second part: retention and disposal, legal holds, migrations and
access, on both profiles. Each test makes known facts with the services (units, holds, a
disposal proposed, approved and executed, migrations with files in every state, reads by
two accounts and refused attempts), makes the report and compares every number with a
count made here another way (the services' own listings, or what the test did); totals
equal the sum of the rows, the stored JSON holds the same rows, and a period without
data gives a report with no rows."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import pytest
from conftest import NOW
from sqlalchemy import insert, select

from hramba.core.errors import NotFound, NotPermitted
from hramba.core.types import FixedClock
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Migration, MigrationFile, TrafficRecord
from hramba.domain.access import Action, Principal, Role
from hramba.domain.report import LABELS as SHARED
from hramba.domain.report import LANGS, Report, ReportKind, ReportTable
from hramba.domain.retention import LEGAL_ZONE
from hramba.services import access, disposal, holds, migrate, retention
from hramba.services.audit import EventCriteria, list_events
from hramba.services.context import Archive
from hramba.services.export import (
    approve_export,
    build_export,
    download_export,
    request_export,
)
from hramba.services.purge import list_purges, purge_staging, purge_traffic
from hramba.services.reports import collector, get_report, make_report
from hramba.services.seal import seal
from hramba.services.search import SearchCriteria, search_units
from hramba.services.tenants import NewTenant, TenantChange, add_tenant, update_tenant
from hramba.services.units import get_unit, list_units, show_unit

from .principals import acting_as, approve, principal
from .test_search import OTHER_TAX, archive_invoice

KINDS = (ReportKind.RETENTION, ReportKind.HOLDS, ReportKind.MIGRATIONS, ReportKind.ACCESS)


def second_tenant(archive: Archive) -> None:
    add_tenant(archive, NewTenant("OBCINA2", OTHER_TAX, "Občina Druga", "production",
                                  address="Glavni trg 2, 2000 Maribor",
                                  responsible="Bojan Drugi"))


def invoice(archive: Archive, tenant: str, issued: str, n: int) -> str:
    return archive_invoice(archive, tenant, "eslog20", {"issue_date": issued,
                                                        "invoice_number": f"R-{n}"},
                           f"<Invoice t='{tenant}' n='{n}'/>")


def at(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def period(first: date, last: date) -> tuple[datetime, datetime]:
    """The moments a period of Ljubljana days covers: [start, end)."""
    return (datetime(first.year, first.month, first.day, tzinfo=LEGAL_ZONE),
            datetime.combine(last + timedelta(days=1), datetime.min.time(), LEGAL_ZONE))


def table(report: Report, name: str) -> ReportTable:
    (found,) = [t for t in report.tables if t.name == name]
    return found


def check_totals(found: ReportTable) -> None:
    """The totals row is the sum of the rows, column by column, where the column totals."""
    assert found.totals == tuple(
        sum(r[n] for r in found.rows) if c.total else None  # type: ignore[misc]
        for n, c in enumerate(found.columns))


def stored_rows(archive: Archive, report_id: int, out: Path) -> dict[str, Any]:
    """The stored JSON's tables, fetched back with their digests checked."""
    (path,) = get_report(archive, report_id, out, ("json",))
    return {name: t["rows"] for name, t in json.loads(path.read_text("utf-8"))["tables"]
            .items()}


def check_stored(archive: Archive, kind: ReportKind, out: Path, **scope: Any) -> Report:
    """Make the report; its stored JSON has the same rows as the Report."""
    stored, report = make_report(archive, kind, **scope)
    assert stored_rows(archive, stored.report_id, out) == {
        t.name: t.as_dicts() for t in report.tables}
    return report


def check_empty(archive: Archive, kind: ReportKind, **scope: Any) -> None:
    _, report = make_report(archive, kind, **scope)
    assert report.empty
    assert all(t.rows == [] for t in report.tables)
    assert all(not value for _, value in report.summary)


def labelled(report: Report) -> None:
    words = SHARED | report.labels
    keys = {t.name for t in report.tables} | {t.note for t in report.tables if t.note} | {
        c.name for t in report.tables for c in t.columns} | {k for k, _ in report.summary}
    assert {k for k in keys if k not in words} == set()
    assert all(len(words[k]) == len(LANGS) and all(words[k]) for k in keys)


# Retention and disposal -----------------------------------------------------------------

def test_retention_report(archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    """OBCINA1: three invoices of 2026 (retention to the end of 2036, one of them held),
    one of 2025 and one reclassified to twenty years; OBCINA2: one of 2026. Eleven years on,
    a disposal of OBCINA1 is proposed, approved and executed (storage decides what goes:
    the local store follows the clock, the S3 server keeps real time), and the confirmed
    migration's staging area is purged."""
    second_tenant(archive)
    ours = [invoice(archive, "OBCINA1", d, n) for n, d in enumerate(
        ("2026-01-10", "2026-02-01", "2026-02-15", "2025-05-01", "2026-01-20"))]
    theirs = invoice(archive, "OBCINA2", "2026-01-10", 9)  # proposed, then cancelled
    retention.classify(archive, ours[4], "immovable-property-20y")
    seal(archive)
    holds.add_hold(archive, unit_id=ours[1], reason="pending appeal")
    staging = staged(archive, "OBCINA1", {"archived": 1}, NOW, imported=True)
    migrate.confirm(archive, staging, written_word="e-mail of 2026-03-05")
    traffic(archive, {"OBCINA1": 2, "OBCINA2": 1})

    clock.at = datetime(2037, 1, 2, 9, tzinfo=UTC)
    proposal = disposal.propose(archive, "OBCINA1", instruction="NAVODILO-2036/7")
    approve(archive, proposal["id"])
    done = disposal.execute(archive, proposal["id"])
    withdrawn = disposal.propose(archive, "OBCINA2", instruction="N-9")["id"]
    disposal.cancel(archive, withdrawn, reason="instruction withdrawn")
    assert purge_staging(archive) == {"staging areas purged": 1,
                                      "staging purges certified": 1}
    assert purge_traffic(archive) == {"traffic records purged": 3}
    # Back to real time to sign the reports: the development signing key of NOW has
    # expired by 2037 (and S3 takes no lock already past in real time).
    clock.at = datetime.now(UTC)

    first, last = date(2036, 6, 1), date(2037, 1, 31)
    report = check_stored(archive, ReportKind.RETENTION, tmp_path / "r", tenant="OBCINA1",
                          period_from=first, period_to=last)
    labelled(report)
    start, end = period(first, last)
    units = {u["unit_id"]: u for u in list_units(archive)}
    due = [u for u in units.values()
           if start <= datetime.fromisoformat(u["retain_until"]) < end]
    assert {u["unit_id"] for u in due} == {ours[0], ours[1], ours[2], theirs}
    mine = [u for u in due if u["tenant"] == "OBCINA1"]
    gone = {u["unit_id"] for u in mine if u["disposed"]}
    assert table(report, "due").rows == [("OBCINA1", "invoice-10y@v1", len(mine), 1,
                                          len(gone))]
    check_totals(table(report, "due"))

    shown = disposal.show(archive, proposal["id"])
    disposed = [u["unit_id"] for u in shown["units"] if u["state"] == "disposed"]
    assert disposed == [u["unit_id"] for u in done["units"] if u["state"] == "disposed"]
    assert sorted(u["unit_id"] for u in shown["units"]) == sorted(
        [ours[0], ours[2], ours[3]])  # due and not held: the 2025 one is due earlier
    certificate = disposal.certificate_files(archive, proposal["id"], Path(mkdtemp()))[0]
    decided = datetime.fromisoformat(shown["proposed_at"])
    assert table(report, "disposals").rows == [(
        "OBCINA1", proposal["id"], "executed", "NAVODILO-2036/7", len(shown["units"]),
        len(disposed), hashlib.sha256(certificate.read_bytes()).hexdigest())]
    check_totals(table(report, "disposals"))
    assert table(report, "disposal_decisions").rows == [(
        "OBCINA1", proposal["id"], archive.actor, decided, "boris",
        datetime.fromisoformat(shown["approved_at"]),
        datetime.fromisoformat(shown["executed_at"]), None, None)]
    assert decided == datetime(2037, 1, 2, 9, tzinfo=UTC)

    with acting_as(archive, principal("revizor", Role.AUDITOR, tenants=frozenset(
            {access.tenant(archive, "OBCINA1", Action.TENANT_READ).id}))):
        theirs_seen = list_purges(archive)  # as `retention purges` shows them to OBCINA1
    assert table(report, "purges").rows == purge_rows(theirs_seen)
    assert [r[5] for r in table(report, "purges").rows] == [
        "files: 0, bytes: 0, staged files: 1", "records: 2"]
    assert dict(report.summary) == {"units_due": 3, "units_held": 1,
                                    "disposed_in_period": len(disposed)}

    _, everyone = make_report(archive, ReportKind.RETENTION, period_from=first,
                              period_to=last)
    assert table(everyone, "due").rows == [
        ("OBCINA1", "invoice-10y@v1", 3, 1, len(gone)), ("OBCINA2", "invoice-10y@v1", 1, 0, 0)]
    check_totals(table(everyone, "due"))
    assert dict(everyone.summary)["units_due"] == len(due)
    cancelled = disposal.show(archive, withdrawn)
    assert [r[:6] for r in table(everyone, "disposals").rows] == [
        ("OBCINA1", proposal["id"], "executed", "NAVODILO-2036/7", 3, len(disposed)),
        ("OBCINA2", withdrawn, "cancelled", "N-9", len(cancelled["units"]), 0)]
    assert table(everyone, "disposal_decisions").rows[1][-2:] == (
        archive.actor, datetime.fromisoformat(cancelled["cancelled"]["at"]))
    check_totals(table(everyone, "disposals"))
    assert table(everyone, "purges").rows == purge_rows(list_purges(archive))
    assert table(everyone, "purges").rows[1][5] == "records: 3"
    _, whole = make_report(archive, ReportKind.RETENTION, tenant="OBCINA1",
                           period_to=last)
    assert table(whole, "due").rows == [  # from the beginning: the 2025 invoice too
        ("OBCINA1", "invoice-10y@v1", 4, 1, len(disposed))]
    check_empty(archive, ReportKind.RETENTION, period_from=date(2030, 1, 1),
                period_to=date(2030, 12, 31))


def traffic(archive: Archive, records: dict[str, int]) -> None:
    """Traffic records received now, of no unit (as a feed leaves them)."""
    with transaction(archive.db) as session:
        session.add_all(TrafficRecord(
            tenant_id=access.tenant(archive, code, Action.TENANT_READ).id, unit_id=None,
            doc_id=f"{code}-{n}", received_at=NOW, status="received", source="feed")
            for code, count in records.items() for n in range(count))


def purge_rows(purges: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [(p["id"], p["kind"], p["subject"], p["policy"],
             datetime.fromisoformat(p["executed_at"]),
             ", ".join(f"{k}: {v}" for k, v in p["counts"].items()), p["sha256"])
            for p in purges]


# Legal holds ----------------------------------------------------------------------------

def test_holds_report(archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    """March: a unit hold (released on the 20th) and a tenant hold over 2025 on OBCINA1;
    April: a tenant hold on OBCINA2 and one on OBCINA1 released two days later."""
    second_tenant(archive)
    unit = invoice(archive, "OBCINA1", "2026-01-10", 1)
    invoice(archive, "OBCINA2", "2026-01-10", 2)
    one = holds.add_hold(archive, unit_id=unit, reason="inquiry")["id"]
    year = holds.add_hold(archive, tenant="OBCINA1", reason="audit of 2025",
                          from_date=date(2025, 1, 1), to_date=date(2025, 12, 31))["id"]
    clock.at = at(date(2026, 3, 20))
    holds.release_hold(archive, one, reason="inquiry closed")
    clock.at = at(date(2026, 4, 10))
    holds.add_hold(archive, tenant="OBCINA2", reason="court order")
    brief = holds.add_hold(archive, tenant="OBCINA1", reason="review")["id"]
    clock.at = at(date(2026, 4, 12))
    holds.release_hold(archive, brief, reason="reviewed")
    clock.at = at(date(2026, 5, 1))

    every = holds.list_holds(archive, include_released=True)
    expected_ids = {h["id"] for h in every}
    assert len(expected_ids) == 4
    for scope, (first, last) in ((None, (date(2026, 3, 1), date(2026, 3, 31))),
                                 ("OBCINA1", (date(2026, 4, 1), date(2026, 4, 30))),
                                 ("OBCINA2", (date(2026, 4, 1), date(2026, 4, 30)))):
        report = check_stored(archive, ReportKind.HOLDS, tmp_path / f"h{scope}{first}",
                              tenant=scope, period_from=first, period_to=last)
        labelled(report)
        start, end = period(first, last)
        mine = [h for h in every if scope in (None, h["tenant"])]
        listed = sorted(h["id"] for h in mine if _placed(h) < end
                        and (h["released_at"] is None or _released(h) >= start))
        assert [r[1] for r in table(report, "holds").rows] == listed
        assert [r[1] for r in table(report, "hold_releases").rows] == [
            i for i in listed if next(h for h in mine if h["id"] == i)["released_at"]]
        assert dict(report.summary) == {
            "active_at_end": sum(1 for h in mine if _placed(h) < end and (
                h["released_at"] is None or _released(h) >= end)),
            "placed": sum(1 for h in mine if start <= _placed(h) < end),
            "released": sum(1 for h in mine if h["released_at"] and start <= _released(h) < end)}
    assert [r[:2] for r in table(report, "holds").rows] == [
        ("OBCINA2", h["id"]) for h in every if h["tenant"] == "OBCINA2"]
    _, march = make_report(archive, ReportKind.HOLDS, period_from=date(2026, 3, 1),
                           period_to=date(2026, 3, 31))
    assert dict(march.summary) == {"active_at_end": 1, "placed": 2, "released": 1}
    assert table(march, "holds").rows == [
        ("OBCINA1", one, unit, None, None, "inquiry", archive.actor, NOW),
        ("OBCINA1", year, None, date(2025, 1, 1), date(2025, 12, 31), "audit of 2025",
         archive.actor, NOW)]
    assert table(march, "hold_releases").rows == [
        ("OBCINA1", one, archive.actor, at(date(2026, 3, 20)), "inquiry closed")]
    _, whole = make_report(archive, ReportKind.HOLDS)
    assert [r[1] for r in table(whole, "holds").rows] == sorted(expected_ids)
    assert dict(whole.summary) == {"active_at_end": 2, "placed": 4, "released": 2}
    check_empty(archive, ReportKind.HOLDS, period_from=date(2026, 1, 1),
                period_to=date(2026, 1, 31))


def _placed(hold: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(hold["created_at"])


def _released(hold: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(hold["released_at"])


# Migrations -----------------------------------------------------------------------------

STATES = {"archived": 3, "duplicate": 1, "mismatched": 1, "missing": 2, "quarantined": 1,
          "transferred": 2}


def staged(archive: Archive, code: str, states: dict[str, int], started_at: datetime,
           imported: bool = False) -> int:
    """A migration of `code` with so many remote files in each state (rows as a run
    leaves them; no SFTP server needed for a report), staged (and imported) as it
    started."""
    tenant_id = access.tenant(archive, code, Action.TENANT_READ).id
    with transaction(archive.db) as session:
        row = Migration(tenant_id=tenant_id, remote=f"prev@sftp.example:22/{code.lower()}",
                        started_at=started_at, staged_at=started_at,
                        imported_at=started_at if imported else None)
        session.add(row)
        session.flush()
        files = [{"migration_id": row.id, "path": f"{state}/{n}.xml", "state": state,
                  "size": 10 + n, "sha256": hashlib.sha256(f"{state}{n}".encode()).hexdigest()}
                 for state, count in states.items() for n in range(count)]
        if files:
            session.execute(insert(MigrationFile), files)
        return row.id


def test_migrations_report(archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    """March: OBCINA1's migration with files in every state, confirmed with its gaps
    accepted (its staging purged in May), and OBCINA2's, not confirmed; May: another of
    OBCINA1."""
    second_tenant(archive)
    first = staged(archive, "OBCINA1", STATES, NOW, imported=True)
    migrate.confirm(archive, first, accept_gaps="the provider lost five files",
                    written_word="letter of 2026-03-06")
    other = staged(archive, "OBCINA2", {"archived": 2}, NOW + timedelta(days=1))
    clock.at = at(date(2026, 5, 10))
    assert purge_staging(archive) == {"staging areas purged": 1,
                                      "staging purges certified": 1}
    later = staged(archive, "OBCINA1", {"archived": 1, "pending": 4}, clock.now())

    march = check_stored(archive, ReportKind.MIGRATIONS, tmp_path / "m",
                         period_from=date(2026, 3, 1), period_to=date(2026, 3, 31))
    labelled(march)
    (purged,) = list_purges(archive)
    (confirmed,) = [e for e in list_events(archive, EventCriteria(limit=1000)).events
                    if e.action == "migration.confirmed"]
    rows = {r[1]: r for r in table(march, "migrations").rows}
    closing = {r[1]: r for r in table(march, "migration_confirmations").rows}
    assert list(rows) == list(closing) == [first, other]
    for mid, code, states, confirmation, purge in (
            (first, "OBCINA1", STATES, (confirmed.actor, confirmed.occurred_at, NOW),
             (at(date(2026, 5, 10)), purged["id"], purged["sha256"])),
            (other, "OBCINA2", {"archived": 2}, (None, None, None), (None, None, None))):
        status = migrate.status(archive, mid)
        assert status["expected"] == sum(states.values())
        assert rows[mid][:3] == (code, mid, NOW if mid == first else NOW + timedelta(days=1))
        assert rows[mid][3:] == (
            sum(states.values()), *(states.get(s, 0) for s in (
                "archived", "duplicate", "mismatched", "missing", "quarantined")),
            states.get("pending", 0) + states.get("transferred", 0))
        assert rows[mid][3:9] == tuple(status[k] for k in (
            "expected", "archived", "duplicate", "mismatched", "missing", "quarantined"))
        assert closing[mid] == (code, mid, status["remote"], *confirmation, *purge)
        assert status["purged_at"] == (purge[0].isoformat() if purge[0] else None)
    assert purged["subject"] == f"migration {first}"
    check_totals(table(march, "migrations"))
    assert dict(march.summary) == {"migrations": 2, "expected": 12, "archived": 5,
                                   "confirmed": 1, "imported": 1, "purged": 1}

    _, ours = make_report(archive, ReportKind.MIGRATIONS, tenant="OBCINA1")
    assert [(r[1], r[3], r[4], r[9]) for r in table(ours, "migrations").rows] == [
        (first, 10, 3, 2), (later, 5, 1, 4)]
    check_totals(table(ours, "migrations"))
    check_empty(archive, ReportKind.MIGRATIONS, period_from=date(2025, 1, 1),
                period_to=date(2025, 12, 31))


# Access ---------------------------------------------------------------------------------

def test_access_report(archive: Archive, clock: FixedClock, tmp_path: Path) -> None:
    """Two accounts read (an archivist everywhere, a budget user of OBCINA1), an export of
    OBCINA1 is requested, approved, built and downloaded, refused attempts on both sides;
    a later read falls outside the period; OBCINA2 is renamed, its events stay its own.
    On a day ahead of real time: S3 takes no export package locked until a past day."""
    second_tenant(archive)
    own = invoice(archive, "OBCINA1", "2026-01-10", 1)
    theirs = invoice(archive, "OBCINA2", "2026-01-10", 2)
    update_tenant(archive, "OBCINA1", TenantChange(exports_need_approval=True))
    ana = principal("ana", Role.ARCHIVIST)
    bu = Principal("bu", frozenset({Role.BUDGET_USER}),
                   frozenset({access.tenant(archive, "OBCINA1", Action.TENANT_READ).id}))
    bu2 = Principal("bu2", frozenset({Role.BUDGET_USER}),
                    frozenset({access.tenant(archive, "OBCINA2", Action.TENANT_READ).id}))
    day = datetime.now(UTC).date() + timedelta(days=40)
    clock.at = start = at(day)
    with acting_as(archive, ana):
        list_units(archive, "OBCINA1")
        show_unit(archive, own)
        show_unit(archive, theirs)
        get_unit(archive, own, tmp_path / "ana")
        search_units(archive, SearchCriteria(tenant="OBCINA1"))
    with acting_as(archive, bu):
        show_unit(archive, own)
        clock.at = start + timedelta(hours=1)
        show_unit(archive, own)
        list_events(archive, EventCriteria(tenant="OBCINA1"))
        export_id = request_export(archive, SearchCriteria(tenant="OBCINA1"), "audit").export_id
        with pytest.raises(NotFound):
            show_unit(archive, theirs)  # refused: recorded under OBCINA2
    with acting_as(archive, ana):
        approve_export(archive, export_id)
    build_export(archive, export_id)
    with acting_as(archive, bu):
        download_export(archive, export_id, tmp_path / "bu")
        with pytest.raises(NotPermitted):
            make_report(archive, ReportKind.ACCESS, tenant="OBCINA2")
    with acting_as(archive, bu2), pytest.raises(NotFound):
        show_unit(archive, own)  # refused: recorded under OBCINA1
    later = clock.at = at(day + timedelta(days=10))
    with acting_as(archive, ana):
        show_unit(archive, own)
    update_tenant(archive, "OBCINA2", TenantChange(code="OBCINA3"))

    logged = events(archive)  # before the reports: making them reads nothing logged
    first, last = day - timedelta(days=1), day + timedelta(days=1)
    moments = period(first, last)
    for code, codes in (("OBCINA1", {"OBCINA1"}), ("OBCINA3", {"OBCINA2", "OBCINA3"}),
                        (None, None)):
        report = check_stored(archive, ReportKind.ACCESS, tmp_path / f"a{code}",
                              tenant=code, period_from=first, period_to=last)
        labelled(report)
        seen = [e for e in logged if moments[0] <= e["occurred_at"] < moments[1]
                and (codes is None or e["tenant"] in codes)]
        assert seen
        assert_access(report, seen)
        check_totals(table(report, "reads"))
    reads = {(r[0], r[1]): r[2:] for r in table(report, "reads").rows}
    shown_at = [e["occurred_at"] for e in logged
                if (e["actor"], e["action"]) == ("bu", "unit.shown")]
    assert reads[("bu", "unit.shown")] == (2, start, start + timedelta(hours=1)) == (
        len(shown_at), min(shown_at), max(shown_at))
    assert reads[("ana", "unit.shown")][0] == 2  # its later read is not in the period
    assert [r[2] for r in table(report, "exports").rows] == [
        "export.requested", "export.approved", "export.built", "export.downloaded"]
    download = table(report, "exports").rows[-1]
    zip_sha256 = hashlib.sha256((tmp_path / "bu" / f"export-{export_id}.zip").read_bytes())
    assert download[1:5] == ("bu", "export.downloaded", f"export {export_id}",
                             zip_sha256.hexdigest())
    assert {(r[1], r[2], r[4]) for r in table(report, "denied").rows} >= {
        ("bu", theirs, "tenant scope"), ("bu2", own, "tenant scope")}
    _, after = make_report(archive, ReportKind.ACCESS, tenant="OBCINA1",
                           period_from=last + timedelta(days=1))
    assert table(after, "reads").rows == [("ana", "unit.shown", 1, later, later)]
    check_empty(archive, ReportKind.ACCESS, period_from=date(2026, 1, 1),
                period_to=date(2026, 1, 31))


def events(archive: Archive) -> list[dict[str, Any]]:
    with transaction(archive.db) as session:
        return [{"occurred_at": e.occurred_at, "actor": e.actor, "action": e.action,
                 "subject": e.subject, "tenant": e.tenant, "details": e.details}
                for e in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))]


READ_ACTIONS = {"units.listed", "units.searched", "unit.shown", "unit.read",
                "unit.exported", "unit.verified", "audit.read", "export.downloaded",
                "export.linked", "report.read"}
EXPORT_ACTIONS = ["export.requested", "export.approved", "export.built", "export.downloaded"]


def assert_access(report: Report, seen: list[dict[str, Any]]) -> None:
    """The report's tables against the events counted here."""
    counted: dict[tuple[str, str], list[datetime]] = {}
    for e in seen:
        if e["action"] in READ_ACTIONS:
            counted.setdefault((e["actor"], e["action"]), []).append(e["occurred_at"])
    assert table(report, "reads").rows == [(actor, action, len(times), min(times), max(times))
                                           for (actor, action), times in sorted(counted.items())]
    assert table(report, "exports").rows == [
        (e["occurred_at"], e["actor"], e["action"], e["subject"], e["details"].get("sha256"))
        for e in seen if e["action"] in EXPORT_ACTIONS]
    denied = [e for e in seen if e["action"] == "access.denied"]
    assert table(report, "denied").rows == [
        (e["occurred_at"], e["actor"], e["subject"], e["details"]["action"],
         e["details"]["why"]) for e in denied]
    covered = [e for e in seen if e["action"] in READ_ACTIONS | set(EXPORT_ACTIONS)
               | {"access.denied"}]
    assert dict(report.summary) == {"events": len(covered),
                                    "actors": len({e["actor"] for e in covered}),
                                    "denied": len(denied)}


def test_every_kind_here_is_found() -> None:
    assert all(callable(collector(kind)) for kind in KINDS)
