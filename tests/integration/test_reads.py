"""Reads: limited to the principal's tenants (another tenant's unit does not exist for it,
and the attempt is audited), each one an audit event; `audit log` lists events page by
page, scoped the same way, with their PREMIS event types."""

from __future__ import annotations

import ast
import io
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from plugins.cli import Cli, clean_env

from hramba.core.errors import NotFound, NotPermitted
from hramba.core.types import FixedClock
from hramba.domain.access import Action, Principal, Role
from hramba.domain.audit import EVENT_TYPES
from hramba.services import access
from hramba.services.archive import IncomingFile, archive_unit
from hramba.services.audit import EventCriteria, LoggedEvent, list_events, verify_chain
from hramba.services.context import Archive
from hramba.services.evidence import export_evidence, verify_unit
from hramba.services.seal import seal
from hramba.services.tenants import NewTenant, TenantChange, add_tenant, update_tenant
from hramba.services.units import get_unit, list_units, show_unit

from .principals import acting_as

HRAMBA = Path(__file__).resolve().parents[2] / "hramba"
INVOICE = b"\xef\xbb\xbf<?xml version='1.0'?><Invoice xmlns='urn:eslog:2.00'/>\n"
UNKNOWN = "0" * 32


def archive_invoice(archive: Archive, tenant: str, n: int) -> str:
    return archive_unit(archive, tenant, [IncomingFile(
        f"racun{n}.xml", "invoice", "application/xml",
        lambda: io.BytesIO(f"<Invoice n='{n}'/>".encode()))]).unit_id


@pytest.fixture
def units(archive: Archive) -> tuple[str, str]:
    """A sealed unit of OBCINA1 and one of OBCINA2, archived and sealed as admin."""
    add_tenant(archive, NewTenant("OBCINA2", "SI56251009", "Občina Druga", "production"))
    mine, theirs = archive_invoice(archive, "OBCINA1", 1), archive_invoice(archive, "OBCINA2", 2)
    assert seal(archive).sealed == 2
    return mine, theirs


def scoped_to(archive: Archive, login: str, role: Role, code: str) -> Principal:
    return Principal(login, frozenset({role}),
                     frozenset({access.tenant(archive, code, Action.TENANT_READ).id}))


def events(archive: Archive, **criteria: Any) -> list[LoggedEvent]:
    """Every matching event, as the archive's principal reads them (itself an event)."""
    return list(list_events(archive, EventCriteria(limit=10_000, **criteria)).events)


def test_another_tenants_unit_does_not_exist_for_a_budget_user(
        archive: Archive, units: tuple[str, str], tmp_path: Path) -> None:
    mine, theirs = units
    reads: dict[str, Callable[[str], object]] = {
        "show": lambda u: show_unit(archive, u),
        "get": lambda u: get_unit(archive, u, tmp_path / "get" / u),
        "export": lambda u: export_evidence(archive, u, tmp_path / "export" / u),
        "verify": lambda u: verify_unit(archive, u)}
    with acting_as(archive, scoped_to(archive, "bu", Role.BUDGET_USER, "OBCINA1")):
        assert [r["unit_id"] for r in list_units(archive)] == [mine]
        with pytest.raises(NotFound, match=r"^tenant OBCINA2 is not registered"):
            list_units(archive, "OBCINA2")
        for name, read in reads.items():
            for unit_id in (theirs, UNKNOWN):  # the same answer for "not yours", "not there"
                with pytest.raises(NotFound) as refused:
                    read(unit_id)
                assert str(refused.value) == f"unit {unit_id} does not exist", name
            read(mine)
    denied = [(e.subject, e.tenant, e.details) for e in events(archive, actor="bu")
              if e.action == "access.denied"]
    why = "tenant scope"
    assert denied == [("OBCINA2", "OBCINA2", {"action": "read", "why": why})] + [
        (theirs, "OBCINA2", {"action": action, "why": why})
        for action in ("read", "read", "read", "verify")]


def test_every_read_is_an_event_naming_the_reader(archive: Archive, units: tuple[str, str],
                                                  tmp_path: Path) -> None:
    mine, _ = units
    with acting_as(archive, scoped_to(archive, "bu", Role.BUDGET_USER, "OBCINA1")):
        list_units(archive, "OBCINA1", limit=5)
        list_units(archive)
        show_unit(archive, mine)
        get_unit(archive, mine, tmp_path / "out")
        export_evidence(archive, mine, tmp_path / "export")  # one event, not a get as well
        verify_unit(archive, mine)
    read = [(e.action, e.subject, e.tenant, e.details, e.premis_type)
            for e in events(archive, actor="bu")]
    assert read == [
        ("units.listed", "units", "OBCINA1", {"tenant": "OBCINA1", "limit": 5, "count": 1},
         None),
        ("units.listed", "units", None, {"tenant": None, "limit": None, "count": 1}, None),
        ("unit.shown", mine, "OBCINA1", {}, None),
        ("unit.read", mine, "OBCINA1", {"out": str(tmp_path / "out"), "files": 2},
         "dissemination"),
        ("unit.exported", mine, "OBCINA1", {"out": str(tmp_path / "export"),
                                            "tombstone": False}, "dissemination"),
        ("unit.verified", mine, "OBCINA1", {"result": "PASSED"}, "fixity check")]


def test_roles_the_rule_book_does_not_name_are_refused(archive: Archive,
                                                       units: tuple[str, str]) -> None:
    mine, _ = units
    operator = Principal("op", frozenset({Role.OPERATOR}))
    with acting_as(archive, operator):
        assert verify_unit(archive, mine).passed  # an operator verifies ...
        for refused in (lambda: show_unit(archive, mine), lambda: list_units(archive),
                        lambda: list_events(archive, EventCriteria())):
            with pytest.raises(NotPermitted, match=r"^not permitted: op \(operator\)"):
                refused()  # ... but reads neither units nor the log
    with acting_as(archive, Principal("au", frozenset({Role.AUDITOR}))):
        with pytest.raises(NotPermitted):
            seal(archive)
        assert verify_chain(archive).ok
    with (acting_as(archive, scoped_to(archive, "bu", Role.BUDGET_USER, "OBCINA1")),
          pytest.raises(NotPermitted)):
        verify_chain(archive)
    assert [(e.actor, e.details["why"]) for e in events(archive)
            if e.action == "access.denied"] == [("op", "role")] * 3 + [("au", "role"),
                                                                     ("bu", "role")]


def test_show_says_whether_and_when_the_unit_was_sealed(archive: Archive,
                                                         clock: FixedClock) -> None:
    unit_id = archive_invoice(archive, "OBCINA1", 1)
    assert show_unit(archive, unit_id)["sealed"] is None
    clock.at += timedelta(hours=1)
    seal(archive)
    assert show_unit(archive, unit_id)["sealed"] == {"batch": 1,
                                                     "sealed_at": clock.now().isoformat()}


def test_the_audit_log_pages_by_seq_and_filters(archive: Archive, units: tuple[str, str],
                                                clock: FixedClock) -> None:
    mine, theirs = units
    pages, after = [], 0
    while True:
        page = list_events(archive, EventCriteria(after=after, limit=3))
        pages.append([e.seq for e in page.events])
        if page.next_after is None:
            break
        assert page.next_after == page.events[-1].seq
        after = page.next_after
    seen = [seq for page in pages for seq in page]
    assert seen == list(range(1, len(seen) + 1))  # every event once, in order
    assert all(len(page) == 3 for page in pages[:-1])

    archived = events(archive, unit=mine)
    assert [(e.action, e.premis_type, e.actor) for e in archived] == [
        ("unit.archived", "ingestion", "root")]
    assert {e.tenant for e in events(archive, tenant="OBCINA2")} == {"OBCINA2"}
    assert theirs in {e.subject for e in events(archive, tenant="OBCINA2")}
    clock.at += timedelta(days=1)
    list_units(archive)
    assert [e.action for e in events(archive, since=clock.now())] == ["units.listed"]
    [read] = [e for e in events(archive) if e.action == "audit.read"][:1]
    assert read.details == {"unit": None, "actor": None, "tenant": None, "since": None,
                            "after": 0, "limit": 3, "count": 3}
    assert read.as_dict()["premis_type"] is None


def test_a_scoped_principal_sees_only_its_tenants_events(archive: Archive,
                                                         units: tuple[str, str]) -> None:
    mine, theirs = units
    with acting_as(archive, scoped_to(archive, "bu", Role.BUDGET_USER, "OBCINA1")):
        seen = list_events(archive, EventCriteria(limit=10_000)).events
        assert {e.tenant for e in seen} == {"OBCINA1"}
        assert mine in {e.subject for e in seen}
        assert list_events(archive, EventCriteria(unit=theirs)).events == ()
        with pytest.raises(NotFound, match=r"^tenant OBCINA2 is not registered"):
            list_events(archive, EventCriteria(tenant="OBCINA2"))
    with acting_as(archive, scoped_to(archive, "au", Role.AUDITOR, "OBCINA2")):
        seen = list_events(archive, EventCriteria(limit=10_000)).events
        assert {e.tenant for e in seen} == {"OBCINA2"}


def test_a_tenants_events_under_its_former_code_stay_in_its_view(
        archive: Archive, units: tuple[str, str]) -> None:
    mine, _ = units
    update_tenant(archive, "OBCINA1", TenantChange(code="OBCINA9"))
    show_unit(archive, mine)  # recorded under the new code
    bu = scoped_to(archive, "bu", Role.BUDGET_USER, "OBCINA9")
    for criteria in (EventCriteria(unit=mine), EventCriteria(unit=mine, tenant="OBCINA9")):
        with acting_as(archive, bu):
            seen = list_events(archive, criteria).events
        assert [(e.action, e.tenant) for e in seen] == [
            ("unit.archived", "OBCINA1"), ("unit.shown", "OBCINA9")]


def recorded_actions() -> tuple[set[str], set[str]]:
    """Every action name passed to audit.record, audit.Event, Event or record_read anywhere
    in hramba/: the literals, and the f-strings as patterns."""
    literals, patterns = set(), set()
    for path in sorted(HRAMBA.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            action = _action_argument(node)
            if isinstance(action, ast.Constant) and isinstance(action.value, str):
                literals.add(action.value)
            elif isinstance(action, ast.JoinedStr):
                patterns.add("".join(re.escape(str(v.value)) if isinstance(v, ast.Constant)
                                     else "[a-z_]+" for v in action.values))
            elif action is not None and not _passed_on(action):
                raise AssertionError(f"{path}:{action.lineno}: name the action with a literal")
    return literals, patterns


def _passed_on(action: ast.expr) -> bool:
    """A helper handing on its caller's `action` (its callers are checked instead)."""
    return isinstance(action, ast.Name) and action.id == "action"


def _action_argument(node: ast.AST) -> ast.expr | None:
    if not isinstance(node, ast.Call):
        return None
    func, args = node.func, node.args
    audit_record = (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                    and func.value.id == "audit" and func.attr == "record")
    if audit_record or (isinstance(func, ast.Name) and func.id == "record"):
        return args[2] if len(args) > 2 else None  # record(session, archive, ACTION, ...)
    if isinstance(func, ast.Name | ast.Attribute) and getattr(
            func, "id", getattr(func, "attr", None)) == "record_read":
        return args[1]  # units.record_read(archive, ACTION, unit, ...)
    audit_event = (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name)
                   and func.value.id == "audit" and func.attr == "Event")
    if audit_event or (isinstance(func, ast.Name) and func.id == "Event"):
        return args[0] if args else None
    return None


def test_every_recorded_action_has_its_premis_type() -> None:
    literals, patterns = recorded_actions()
    assert {"unit.archived", "unit.disposed", "access.denied", "units.listed"} <= literals
    assert sorted(literals - EVENT_TYPES.keys()) == []
    for pattern in patterns:  # e.g. quarantine.{status}: its outcomes are in the table
        assert any(re.fullmatch(pattern, action) for action in EVENT_TYPES), pattern
    stale = [action for action in EVENT_TYPES if action not in literals
             and not any(re.fullmatch(pattern, action) for pattern in patterns)]
    assert stale == []  # no longer recorded anywhere


def test_reads_and_the_audit_log_on_the_command_line(tmp_path: Path) -> None:
    cli = Cli(tmp_path / "home", clean_env())
    cli("init")
    cli("tenant", "add", "OBCINA1", "--tax-number", "SI21423512", "--name", "Občina Primer")
    cli("user", "add", "bu", "--name", "Budget User", "--role", "budget-user",
        "--tenant", "OBCINA1")
    token = cli("user", "token", "bu", "--json").json()["token"]
    (tmp_path / "inbox").mkdir()
    (tmp_path / "inbox" / "a.xml").write_bytes(INVOICE)
    cli("ingest", "dir", str(tmp_path / "inbox"), "--tenant", "OBCINA1")
    [unit] = cli("ls", "--json").json()
    assert "  not sealed yet (hramba seal)" in cli("show", unit["unit_id"]).out.splitlines()
    sealed = cli("seal", "--json").json()
    assert (sealed["sealed"], sealed["batches"]) == (1, 1)
    anchored = re.fullmatch(r"sealed 0 units in 1 batch \(1 TSA request, [\d.]+ s\); "
                            r"0 pending; audit log anchored, head event (\d+)\n",
                            cli("seal", "--anchor").out)
    assert anchored, "seal --anchor did not say it anchored"
    assert int(anchored[1]) > sealed["audit_head"]

    first = cli("audit", "log", "--limit", "2").out.splitlines()
    assert first[0].split()[0] == "1"
    assert " UTC " in first[0]
    assert first[-1] == "next page: hramba audit log --after 2 --limit 2"
    second = cli("audit", "log", "--after", "2", "--limit", "2", "--json").json()
    assert [e["seq"] for e in second["events"]] == [3, 4]
    assert second["next_after"] == 4
    assert {"seq", "occurred_at", "actor", "action", "premis_type", "subject", "tenant",
            "details"} == second["events"][0].keys()

    as_bu = Cli(cli.home, cli.env | {"HRAMBA_TOKEN": token})
    shown = as_bu("show", unit["unit_id"]).out.splitlines()
    assert re.fullmatch(r"  sealed in batch 1 at 20\d\d-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                        shown[1]), shown
    scoped = as_bu("audit", "log", "--json").json()
    assert {e["tenant"] for e in scoped["events"]} == {"OBCINA1"}
    assert "unit.shown" in {e["action"] for e in scoped["events"]}
    refused = as_bu("audit", "log", "--tenant", "NOBODY", check=False)
    assert (refused.code, refused.err.strip()) == (
        4, "hramba: error: tenant NOBODY is not registered (hramba tenant add)")
    cli("tenant", "add", "OBCINA2", "--tax-number", "SI56251009", "--name", "Občina Druga")
    cli("ingest", "dir", str(tmp_path / "inbox"), "--tenant", "OBCINA2")
    cli("seal")
    theirs = next(u["unit_id"] for u in cli("ls", "--json").json() if u["tenant"] == "OBCINA2")
    assert [u["unit_id"] for u in as_bu("ls", "--json").json()] == [unit["unit_id"]]
    assert as_bu("ls", "--tenant", "OBCINA2", check=False).code == 4
    routes = [(UNKNOWN, ["show"]), (theirs, ["show"]),  # theirs: as if it did not exist
              (theirs, ["get", "--out", str(tmp_path / "get")]),
              (theirs, ["evidence", "export", "--out", str(tmp_path / "export")]),
              (theirs, ["verify"])]
    for unit_id, command in routes:
        refused = as_bu(*command, unit_id, check=False)
        assert (refused.code, refused.err.strip()) == (
            4, f"hramba: error: unit {unit_id} does not exist"), command
    assert not (tmp_path / "get").exists()
    assert not (tmp_path / "export").exists()
