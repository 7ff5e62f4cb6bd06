"""The rule book in the write and operate services, on both profiles (SQLite and
PostgreSQL): roles refuse what they do not grant, a tenant's records do not exist for an
account of another tenant, four eyes are two accounts, a test tenant stays out of the
production plans, and an operator runs the scheduler's jobs.

Accounts are real: added by the fixture's admin and signed in by API token."""

from __future__ import annotations

import dataclasses
import io
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import pytest
from conftest import NOW
from sqlalchemy import select

from hramba.config import Settings
from hramba.core.errors import Conflict, NotFound, NotPermitted
from hramba.db.engine import transaction
from hramba.db.models import AuditEvent, Migration, Tenant
from hramba.domain.access import Principal, Role
from hramba.jobs.runs import run_now
from hramba.jobs.scheduler import describe_jobs
from hramba.services import (
    accounts,
    disposal,
    export,
    fixity,
    holds,
    migrate,
    purge,
    quarantine,
    retention,
)
from hramba.services.accounts import Credentials, NewAccount
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.context import Archive
from hramba.services.corpus import invoice, write_corpus
from hramba.services.feed import FeedReport, pull_inbox
from hramba.services.ingest import ingest_directory
from hramba.services.migrate import Medium, Remote
from hramba.services.renewal import renew
from hramba.services.seal import seal
from hramba.services.search import SearchCriteria
from hramba.services.tenants import NewTenant, add_tenant
from ingest.sftp import Endpoint

from .principals import acting_as

A, B, TEST = "OBCINA1", "OBCINA2", "OBCINA1-TEST"
DUE = datetime(2037, 1, 2, tzinfo=UTC)  # past the ten years of an invoice issued in 2026
NOBODY_THERE = Remote(Endpoint("127.0.0.1", 9, "u", Path("/nonexistent"),
                               Path("/nonexistent")), "/export")


# How a record of each kind that does not exist is named.
ABSENT: dict[str, Any] = {"unit": "0" * 32, "disposal": 999_999, "hold": 999_999,
                          "migration": 999_999, "quarantine": "0" * 32, "tenant": "NOPE"}


@dataclass
class Records:
    """Tenant A's and B's records of every kind, by kind (as ABSENT's); an inbox with
    an invoice addressed to B; the settings the archive was opened with."""

    a: dict[str, Any]
    b: dict[str, Any]
    folder: Path
    settings: Settings


def sign_in(archive: Archive, login: str, *roles: Role,
            tenants: tuple[str, ...] = ()) -> Principal:
    """A new account (added by the fixture's admin), signed in by its API token."""
    accounts.add_account(archive, NewAccount(login, login.title(), tuple(roles), tenants))
    token = accounts.issue_token(archive, login)
    return accounts.authenticate(archive, Credentials(token=token), sleep=lambda _s: None)


def tenant_records(archive: Archive, code: str) -> dict[str, Any]:
    unit_id = archive_unit(archive, code, [IncomingFile(
        "racun.xml", "invoice", "application/xml",
        lambda: io.BytesIO(f"<Invoice of='{code}'/>".encode()))],
        metadata={"issue_date": "2026-02-01", "document_type": "380"}).unit_id
    seal(archive)
    proposal = disposal.propose(archive, code, instruction="N-1", as_of=DUE)["id"]
    hold = holds.add_hold(archive, tenant=code, reason="inquiry")["id"]
    with transaction(archive.db) as session:
        tenant_id = session.scalars(select(Tenant.id).where(Tenant.code == code)).one()
        row = Migration(tenant_id=tenant_id, remote=f"u@h:22/{code}", started_at=NOW)
        session.add(row)
        session.flush()
        migration = row.id
        session.get_one(Tenant, tenant_id).exports_need_approval = True
    qid = quarantine.quarantine(archive, source="inbox/empty.xml", code="HRB-I001",
                                reason="empty file", tenant=code, data=b"")
    asked = export.request_export(archive, SearchCriteria(tenant=code), "rule book")
    return {"unit": unit_id, "disposal": proposal, "hold": hold, "migration": migration,
            "quarantine": qid, "tenant": code, "export": asked.export_id}


@pytest.fixture
def records(archive: Archive, profile_settings: Settings, tmp_path: Path) -> Records:
    add_tenant(archive, NewTenant(B, "SI39705684", "Občina Druga", "production",
                                  address="Glavni trg 2, 2000 Maribor",
                                  responsible="Bojan Drugi"))
    folder = tmp_path / "in"
    list(write_corpus(folder, 1, ("Občina Druga", "SI39705684")))  # addressed to B
    return Records(tenant_records(archive, A), tenant_records(archive, B), folder,
                   profile_settings)


Call = Callable[[Archive, Records], object]
# Every command of the write and operate services, on tenant A's records.
COMMANDS: dict[str, Call] = {
    "ingest dir": lambda a, r: list(ingest_directory(a, r.folder, A)),
    "ingest feed": lambda a, r: pull_inbox(a, r.folder, FeedReport()),
    "migrate sftp start": lambda a, r: migrate.stage_and_import(a, A, NOBODY_THERE),
    "migrate sftp stage": lambda a, r: migrate.stage(a, A, NOBODY_THERE),
    "migrate dir": lambda a, r: migrate.stage(a, A, Medium(r.folder)),
    "quarantine ls": lambda a, r: quarantine.list_quarantine(a),
    "quarantine release": lambda a, r: quarantine.release(a, r.a["quarantine"]),
    "quarantine discard": lambda a, r: quarantine.discard(a, r.a["quarantine"], "no"),
    "hold add": lambda a, r: holds.add_hold(a, reason="r", tenant=A),
    "hold release": lambda a, r: holds.release_hold(a, r.a["hold"], reason="r"),
    "hold ls": lambda a, r: holds.list_holds(a),
    "retention plan": lambda a, r: retention.plan(a, A),
    "retention policies": lambda a, r: retention.policies(a),
    "retention purges": lambda a, r: purge.list_purges(a),
    "retention classify": lambda a, r: retention.classify(a, r.a["unit"], "invoice-10y"),
    "dispose propose": lambda a, r: disposal.propose(a, A, instruction="N-2", as_of=DUE),
    "dispose approve": lambda a, r: disposal.approve(a, r.a["disposal"]),
    "dispose cancel": lambda a, r: disposal.cancel(a, r.a["disposal"], reason="r"),
    "dispose execute": lambda a, r: disposal.execute(a, r.a["disposal"]),
    "dispose show": lambda a, r: disposal.show(a, r.a["disposal"]),
    "dispose ls": lambda a, r: disposal.list_disposals(a),
    "dispose certificate": lambda a, r: disposal.certificate_files(a, r.a["disposal"],
                                                                 Path(mkdtemp())),
    "fixity": lambda a, r: fixity.run_fixity(a, A),
    "fixity sweep": lambda a, r: fixity.sweep(a),
    "evidence renew": lambda a, r: renew(a),
    "retention sweep": lambda a, r: retention.sweep(a),
    "scheduler run-job": lambda a, r: run_now(a, r.settings, "fixity"),
    "scheduler jobs": lambda a, r: describe_jobs(a, r.settings),
}
BUDGET_USER_MAY = {"migrate confirm", "migrate status", "migrate report"}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_budget_user_runs_none_of_them(archive: Archive, records: Records,
                                         command: str) -> None:
    budget_user = sign_in(archive, "bu", Role.BUDGET_USER, tenants=(A,))
    with acting_as(archive, budget_user), pytest.raises(NotPermitted, match="bu \\(budget"):
        COMMANDS[command](archive, records)
    assert _denied(archive)[-1] == ("bu", "role")


# Each command that names a record: the kind of record, and the call on one (`key`).
OnRecord = Callable[[Archive, Any, Records], object]
BY_RECORD: dict[str, tuple[str, OnRecord]] = {
    "ingest dir --tenant": ("tenant", lambda a, t, r: list(ingest_directory(a, r.folder, t))),
    "migrate sftp start": ("tenant", lambda a, t, r: migrate.stage_and_import(
        a, t, NOBODY_THERE)),
    "migrate sftp stage": ("tenant", lambda a, t, r: migrate.stage(a, t, NOBODY_THERE)),
    "migrate dir": ("tenant", lambda a, t, r: migrate.stage(a, t, Medium(r.folder))),
    "migrate import": ("migration", lambda a, m, r: migrate.import_staged(a, m)),
    "migrate status": ("migration", lambda a, m, r: migrate.status(a, m)),
    "migrate report": ("migration", lambda a, m, r: migrate.report(a, m)),
    "migrate confirm": ("migration", lambda a, m, r: migrate.confirm(a, m)),
    "quarantine release": ("quarantine", lambda a, q, r: quarantine.release(a, q)),
    "quarantine discard": ("quarantine", lambda a, q, r: quarantine.discard(a, q, "no")),
    "quarantine release --tenant": (
        "tenant", lambda a, t, r: quarantine.release(a, r.a["quarantine"], t)),
    "hold add --unit": ("unit", lambda a, u, r: holds.add_hold(a, reason="r", unit_id=u)),
    "hold add --tenant": ("tenant", lambda a, t, r: holds.add_hold(a, reason="r", tenant=t)),
    "hold release": ("hold", lambda a, h, r: holds.release_hold(a, h, reason="r")),
    "retention plan --tenant": ("tenant", lambda a, t, r: retention.plan(a, t)),
    "retention classify": ("unit", lambda a, u, r: retention.classify(a, u, "invoice-10y")),
    "dispose propose": ("tenant", lambda a, t, r: disposal.propose(a, t, instruction="N")),
    "dispose approve": ("disposal", lambda a, d, r: disposal.approve(a, d)),
    "dispose cancel": ("disposal", lambda a, d, r: disposal.cancel(a, d, reason="r")),
    "dispose execute": ("disposal", lambda a, d, r: disposal.execute(a, d)),
    "dispose show": ("disposal", lambda a, d, r: disposal.show(a, d)),
    "dispose certificate": ("disposal", lambda a, d, r: disposal.certificate_files(
        a, d, Path(mkdtemp()))),
    "fixity --tenant": ("tenant", lambda a, t, r: fixity.run_fixity(a, t)),
}


@pytest.mark.parametrize("command", sorted(BY_RECORD))
def test_tenant_b_records_do_not_exist_for_an_account_of_tenant_a(
        archive: Archive, records: Records, command: str) -> None:
    """An account with every role but admin, serving tenant A only, is told B's records
    do not exist, word for word as a record that is not there; the attempt is audited."""
    every_role = [r for r in Role if r is not Role.ADMIN]
    ana = sign_in(archive, "ana", *every_role, tenants=(A,))
    kind, call = BY_RECORD[command]
    with acting_as(archive, ana):
        with pytest.raises(NotFound) as absent:
            call(archive, ABSENT[kind], records)
        with pytest.raises(NotFound) as of_b:
            call(archive, records.b[kind], records)
    assert str(of_b.value) == str(absent.value).replace(str(ABSENT[kind]),
                                                        str(records.b[kind]))
    assert _denied(archive)[-1] == ("ana", "tenant scope")


def test_listings_show_an_account_only_its_tenants(archive: Archive,
                                                   records: Records) -> None:
    ana = sign_in(archive, "ana", Role.ARCHIVIST, Role.APPROVER, Role.AUDITOR,
                  tenants=(A,))
    assert {h["tenant"] for h in holds.list_holds(archive)} == {A, B}
    own_objects = fixity.run_fixity(archive, A).counts["objects checked"]
    with acting_as(archive, ana):
        assert {h["tenant"] for h in holds.list_holds(archive)} == {A}
        assert {d["tenant"] for d in disposal.list_disposals(archive)} == {A}
        assert {q["tenant"] for q in quarantine.list_quarantine(archive)} == {A}
        plan = retention.plan(archive, as_of=DUE)
        assert {u["tenant"] for u in plan["units"]["held"]} == {A}
        assert {s["tenant"] for s in plan["staging"]} == {A}
        checked = fixity.run_fixity(archive)  # no orphans from B's objects either
        assert checked.ok, checked.as_dict()
        assert checked.counts["objects checked"] == own_objects
        # Intake routes only to A: an invoice addressed to B has no tenant for ana.
        [routed] = ingest_directory(archive, records.folder)
        assert routed.codes == ["HRB-I026"]


def test_a_budget_user_confirms_its_own_tenants_migration_only(archive: Archive,
                                                               records: Records) -> None:
    budget_user = sign_in(archive, "bu", Role.BUDGET_USER, tenants=(A,))
    with acting_as(archive, budget_user):
        with pytest.raises(NotFound, match="does not exist"):
            migrate.confirm(archive, records.b["migration"])
        with pytest.raises(NotFound, match="does not exist"):
            migrate.report(archive, records.b["migration"])
        assert migrate.report(archive, records.a["migration"]) is not None  # it reviews it
        confirmed = migrate.confirm(archive, records.a["migration"])
        with pytest.raises(NotPermitted):
            migrate.stage_and_import(archive, A, NOBODY_THERE)  # migrating is an archivist's
    assert confirmed["confirmed_at"] == NOW.isoformat()
    with transaction(archive.db) as session:
        row = session.get_one(Migration, records.a["migration"])
        assert row.confirmed_by == "bu"


def test_four_eyes_are_two_accounts(archive: Archive, records: Records) -> None:
    """An archivist proposes; the same account approving is refused even with the
    approver role and however it signs in; an approver account approves."""
    ana = sign_in(archive, "ana", Role.ARCHIVIST, Role.APPROVER)
    accounts.set_password(archive, "ana", "correct horse battery staple")
    ana_by_password = accounts.authenticate(archive, Credentials(
        login="ana", password="correct horse battery staple"), sleep=lambda _s: None)
    archivist = sign_in(archive, "cene", Role.ARCHIVIST)
    boris = sign_in(archive, "boris", Role.APPROVER)
    disposal.cancel(archive, records.a["disposal"], reason="ana proposes again")
    holds.release_hold(archive, records.a["hold"], reason="inquiry closed")
    with acting_as(archive, ana):
        proposal = disposal.propose(archive, A, instruction="N-7", as_of=DUE)
    assert proposal["proposed_by"] == "ana"
    for same in (ana, ana_by_password):
        with acting_as(archive, same), pytest.raises(Conflict, match="another account"):
            disposal.approve(archive, proposal["id"])
    with acting_as(archive, archivist), pytest.raises(NotPermitted):
        disposal.approve(archive, proposal["id"])  # another account, but no approver
    with acting_as(archive, boris):
        approved = disposal.approve(archive, proposal["id"])
    assert (approved["status"], approved["approved_by"]) == ("approved", "boris")
    with transaction(archive.db) as session:
        actors = list(session.execute(select(AuditEvent.action, AuditEvent.actor).where(
            AuditEvent.subject == f"disposal {proposal['id']}").order_by(AuditEvent.seq)))
    assert [tuple(a) for a in actors] == [("disposal.proposed", "ana"),
                                          ("disposal.approved", "boris")]


def test_an_auditor_reads_retention_but_places_no_hold(archive: Archive,
                                                       records: Records) -> None:
    auditor = sign_in(archive, "revizor", Role.AUDITOR)
    with acting_as(archive, auditor):
        assert len(retention.plan(archive, as_of=DUE)["units"]["held"]) == 2
        assert len(holds.list_holds(archive)) == 2
        assert retention.policies(archive)
        assert purge.list_purges(archive) == []
        assert disposal.show(archive, records.b["disposal"])["status"] == "proposed"
        assert fixity.run_fixity(archive).ok
        with pytest.raises(NotPermitted):
            holds.add_hold(archive, reason="r", tenant=A)
        with pytest.raises(NotPermitted):
            holds.release_hold(archive, records.a["hold"], reason="r")
        with pytest.raises(NotPermitted):
            retention.classify(archive, records.a["unit"], "invoice-10y")


def test_an_operator_runs_fixity_renewal_and_every_scheduled_job(
        archive: Archive, records: Records, tmp_path: Path) -> None:
    operator = sign_in(archive, "cron", Role.OPERATOR)
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in (1, 2):
        (inbox / f"racun-{n}.xml").write_bytes(
            invoice(n, random.Random(n), ("Občina Primer", "SI21423512"), 5_000, 8_000))
    settings = dataclasses.replace(records.settings, feed=dataclasses.replace(
        records.settings.feed, inbox=inbox))
    with acting_as(archive, operator):
        assert fixity.run_fixity(archive).ok
        assert renew(archive).checked == 2
        runs = {name: run_now(archive, settings, name)
                for name in ("feed", "seal", "fixity", "retention", "renewal")}
        # The jobs' work, and no more: no holds, classification, quarantine, disposal.
        refused: list[Callable[[], object]] = [
            lambda: holds.add_hold(archive, reason="r", tenant=A),
            lambda: retention.classify(archive, records.a["unit"], "invoice-10y"),
            lambda: quarantine.list_quarantine(archive),
            lambda: disposal.list_disposals(archive)]
        for call in refused:
            with pytest.raises(NotPermitted):
                call()
    assert {n: (r.outcome, r.error) for n, r in runs.items()} == {
        n: ("ok", None) for n in runs}
    assert runs["feed"].counts["archived"] == 2
    assert runs["seal"].counts["sealed"] == 2


def test_an_archivist_may_not_run_the_scheduler(archive: Archive,
                                                profile_settings: Settings) -> None:
    archivist = sign_in(archive, "ana", Role.ARCHIVIST)
    with acting_as(archive, archivist):
        for job in ("retention", "feed"):
            with pytest.raises(NotPermitted):
                run_now(archive, profile_settings, job)


def test_a_test_tenant_stays_out_of_production_plans(archive: Archive,
                                                     records: Records) -> None:
    """Its units never appear in a plan for no tenant in particular; naming it works,
    and so does proposing its disposal."""
    add_tenant(archive, NewTenant(TEST, "SI12345678", "Občina Primer (test)", "test",
                                  address="Trg svobode 1, 1000 Ljubljana",
                                  responsible="Ana Župan"))
    of_test = tenant_records(archive, TEST)  # proposed by naming it, too
    everything = retention.plan(archive, as_of=DUE)
    assert {u["tenant"] for u in everything["units"]["held"]} == {A, B}
    assert {s["tenant"] for s in everything["staging"]} == {A, B}
    assert everything["units"]["total"] == 2
    named = retention.plan(archive, TEST, as_of=DUE)
    assert [u["unit_id"] for u in named["units"]["held"]] == [of_test["unit"]]
    assert [s["tenant"] for s in named["staging"]] == [TEST]
    assert disposal.show(archive, of_test["disposal"])["tenant"] == TEST


def _denied(archive: Archive) -> list[tuple[str, str]]:
    with transaction(archive.db) as session:
        return [(actor, details["why"]) for actor, details in session.execute(
            select(AuditEvent.actor, AuditEvent.details).where(
                AuditEvent.action == "access.denied").order_by(AuditEvent.seq))]
