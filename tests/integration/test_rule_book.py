"""The permission matrix: role x command x own/other tenant, against the one rule book
(hramba.domain.access.RULES), on both profiles (SQLite and PostgreSQL).

For each role, an account serving tenant A runs every command the services offer, on A's
records (allowed exactly where the rule book grants the role the command's action, else
NotPermitted) and on B's (NotPermitted without the action, else NotFound: B's records do
not exist for it)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hramba.core.errors import NotFound, NotPermitted
from hramba.domain.access import RULES, Action, Role
from hramba.domain.report import ReportKind
from hramba.services import accounts, audit, export, reports, tenants
from hramba.services.accounts import Credentials, NewAccount
from hramba.services.audit import EventCriteria
from hramba.services.context import Archive
from hramba.services.evidence import export_evidence, verify_unit
from hramba.services.seal import seal
from hramba.services.search import SearchCriteria, search_units
from hramba.services.units import get_unit, list_units, show_unit
from hramba.wiring import init_archive

from .principals import acting_as
from .test_permissions import BY_RECORD, COMMANDS, A, Records, records  # noqa: F401 - fixture

Call = Callable[[Archive, Records], object]


def _out(r: Records, name: str) -> Path:
    return r.folder.parent / name


# Commands beyond the write and operate ones of test_permissions, on A's records.
MORE: dict[str, Call] = {
    "ls": lambda a, r: list_units(a, A),
    "search": lambda a, r: search_units(a, SearchCriteria(tenant=A, party="x")),
    "show": lambda a, r: show_unit(a, r.a["unit"]),
    "get": lambda a, r: get_unit(a, r.a["unit"], _out(r, "get")),
    "evidence export": lambda a, r: export_evidence(a, r.a["unit"], _out(r, "export")),
    "verify": lambda a, r: verify_unit(a, r.a["unit"]),
    "seal": lambda a, r: seal(a),
    "audit log": lambda a, r: audit.list_events(a, EventCriteria()),
    "audit verify": lambda a, r: audit.verify_chain(a),
    "tenant list": lambda a, r: tenants.list_tenants(a),
    "tenant show": lambda a, r: tenants.show_tenant(a, A),
    "tenant add": lambda a, r: tenants.add_tenant(a, tenants.NewTenant(
        "NOVI", "SI12345679", "Novi", "production")),
    "tenant update": lambda a, r: tenants.update_tenant(a, A, tenants.TenantChange(
        name="Občina Primer d.o.o.")),
    "user list": lambda a, r: accounts.list_accounts(a),
    "migrate confirm": lambda a, r: BY_RECORD["migrate confirm"][1](a, r.a["migration"], r),
    "export request": lambda a, r: export.request_export(a, SearchCriteria(tenant=A), "r"),
    "export approve": lambda a, r: export.approve_export(a, r.a["export"]),
    "export build": lambda a, r: export.build_export(a, r.a["export"]),
    "export ls": lambda a, r: export.list_exports(a),
    "export show": lambda a, r: export.show_export(a, r.a["export"]),
    "export download": lambda a, r: export.download_export(a, r.a["export"], _out(r, "x")),
    "export link": lambda a, r: export.link_export(a, r.a["export"]),
    "exports job": lambda a, r: export.build_queued(a),
    "report holdings": lambda a, r: reports.make_report(a, ReportKind.HOLDINGS, A),
    "report ls": lambda a, r: reports.list_reports(a),
    "tenant offboard": lambda a, r: tenants.offboard_tenant(a, A, "leaves"),  # the last
}
# The same reads on B's records.
MORE_BY_RECORD: dict[str, tuple[str, Callable[[Archive, Any, Records], object]]] = {
    "ls --tenant": ("tenant", lambda a, t, r: list_units(a, t)),
    "search --tenant": ("tenant", lambda a, t, r: search_units(a, SearchCriteria(tenant=t))),
    "show": ("unit", lambda a, u, r: show_unit(a, u)),
    "get": ("unit", lambda a, u, r: get_unit(a, u, _out(r, "get-b"))),
    "evidence export": ("unit", lambda a, u, r: export_evidence(a, u, _out(r, "export-b"))),
    "verify": ("unit", lambda a, u, r: verify_unit(a, u)),
    "audit log --tenant": ("tenant", lambda a, t, r: audit.list_events(
        a, EventCriteria(tenant=t))),
    "tenant show": ("tenant", lambda a, t, r: tenants.show_tenant(a, t)),
    "tenant update": ("tenant", lambda a, t, r: tenants.update_tenant(
        a, t, tenants.TenantChange(name="x"))),
    "tenant offboard": ("tenant", lambda a, t, r: tenants.offboard_tenant(a, t, "x")),
    "export request --tenant": ("tenant", lambda a, t, r: export.request_export(
        a, SearchCriteria(tenant=t), "r")),
    "export ls --tenant": ("tenant", lambda a, t, r: export.list_exports(a, t)),
    "export approve": ("export", lambda a, e, r: export.approve_export(a, e)),
    "export build": ("export", lambda a, e, r: export.build_export(a, e)),
    "export show": ("export", lambda a, e, r: export.show_export(a, e)),
    "export download": ("export", lambda a, e, r: export.download_export(
        a, e, _out(r, "x-b"))),
    "export link": ("export", lambda a, e, r: export.link_export(a, e)),
}
ACTION: dict[str, Action] = {
    "ingest dir": Action.INGEST, "ingest dir --tenant": Action.INGEST,
    "ingest feed": Action.INGEST,
    "migrate sftp start": Action.MIGRATE, "migrate sftp stage": Action.MIGRATE,
    "migrate dir": Action.MIGRATE, "migrate import": Action.MIGRATE,
    "migrate status": Action.MIGRATE_CONFIRM,
    "migrate report": Action.MIGRATE_CONFIRM, "migrate confirm": Action.MIGRATE_CONFIRM,
    "quarantine ls": Action.QUARANTINE, "quarantine release": Action.QUARANTINE,
    "quarantine release --tenant": Action.QUARANTINE,
    "quarantine discard": Action.QUARANTINE,
    "hold add": Action.HOLD, "hold add --unit": Action.HOLD, "hold add --tenant": Action.HOLD,
    "hold release": Action.HOLD, "hold ls": Action.RETENTION_READ,
    "retention plan": Action.RETENTION_READ, "retention plan --tenant": Action.RETENTION_READ,
    "retention policies": Action.RETENTION_READ, "retention purges": Action.RETENTION_READ,
    "retention classify": Action.CLASSIFY,
    "dispose propose": Action.DISPOSE_PROPOSE, "dispose cancel": Action.DISPOSE_PROPOSE,
    "dispose execute": Action.DISPOSE_PROPOSE, "dispose approve": Action.DISPOSE_APPROVE,
    "dispose show": Action.DISPOSE_READ, "dispose ls": Action.DISPOSE_READ,
    "dispose certificate": Action.DISPOSE_READ,
    "fixity": Action.FIXITY, "fixity --tenant": Action.FIXITY,
    "fixity sweep": Action.FIXITY, "retention sweep": Action.SCHEDULE,
    "evidence renew": Action.RENEW,
    "scheduler run-job": Action.SCHEDULE, "scheduler jobs": Action.SCHEDULE,
    "ls": Action.READ, "ls --tenant": Action.READ, "show": Action.READ, "get": Action.READ,
    "search": Action.READ, "search --tenant": Action.READ,
    "evidence export": Action.READ, "verify": Action.VERIFY, "seal": Action.SEAL,
    "audit log": Action.AUDIT_LOG, "audit log --tenant": Action.AUDIT_LOG,
    "audit verify": Action.AUDIT_VERIFY,
    "tenant list": Action.TENANT_READ, "tenant show": Action.TENANT_READ,
    "tenant add": Action.TENANT_MANAGE, "tenant update": Action.TENANT_MANAGE,
    "tenant offboard": Action.TENANT_MANAGE,
    "user list": Action.ACCOUNTS, "init": Action.CONFIGURE,
    "export request": Action.EXPORT_REQUEST, "export request --tenant": Action.EXPORT_REQUEST,
    "export build": Action.EXPORT_REQUEST, "export approve": Action.EXPORT_APPROVE,
    "export ls": Action.EXPORT_READ, "export ls --tenant": Action.EXPORT_READ,
    "export show": Action.EXPORT_READ, "export download": Action.EXPORT_READ,
    "export link": Action.EXPORT_READ, "exports job": Action.SCHEDULE,
    "report holdings": Action.REPORT, "report ls": Action.REPORT,
}


def test_every_action_is_tried_by_some_command() -> None:
    assert set(ACTION.values()) == set(RULES)
    assert set(ACTION) == set(COMMANDS) | set(MORE) | set(BY_RECORD) | set(MORE_BY_RECORD) \
        | {"init"}


SCOPE_WORDS = ("does not exist", "is not registered (hramba tenant add)")


def outcome(call: Callable[[], object]) -> str:
    """refused (by role), absent (the record does not exist for the principal), or
    allowed: done, or stopped past the rule book for a reason of its own (a conflict, a
    failed check, a certificate not made yet)."""
    try:
        call()
    except NotPermitted:
        return "refused"
    except NotFound as exc:
        return f"absent: {exc}" if str(exc).endswith(SCOPE_WORDS) else "allowed"
    except Exception:  # noqa: BLE001 - see the docstring
        return "allowed"
    return "allowed"


@pytest.mark.parametrize("role", list(Role))
def test_the_permission_matrix(archive: Archive, records: Records,  # noqa: F811
                               role: Role) -> None:
    login = f"matrix-{role.value}"
    accounts.add_account(archive, NewAccount(login, login, (role.value,), (A,)))
    token = accounts.issue_token(archive, login)
    principal = accounts.authenticate(archive, Credentials(token=token), sleep=lambda _s: None)

    own, other, want_own, want_other = {}, {}, {}, {}
    with acting_as(archive, principal):
        for name, (kind, on) in (BY_RECORD | MORE_BY_RECORD).items():
            other[name] = outcome(lambda on=on, kind=kind: on(  # type: ignore[misc]
                archive, records.b[kind], records))
            absent = f"absent: {_absent_message(kind, records.b[kind])}"
            want_other[name] = absent if role in RULES[ACTION[name]] else "refused"
        for name, call in (COMMANDS | MORE).items():  # after: these change A's records
            own[name] = outcome(lambda call=call: call(archive, records))  # type: ignore[misc]
            want_own[name] = "allowed" if role in RULES[ACTION[name]] else "refused"
    configured = outcome(lambda: init_archive(records.settings, archive.clock,
                                              Credentials(token=token)).close())
    assert own == want_own
    assert other == want_other
    assert configured == ("allowed" if role is Role.ADMIN else "refused")


def _absent_message(kind: str, key: Any) -> str:
    return {"unit": f"unit {key} does not exist", "tenant":
            f"tenant {key} is not registered (hramba tenant add)",
            "disposal": f"disposal {key} does not exist", "hold": f"hold {key} does not exist",
            "migration": f"migration {key} does not exist",
            "export": f"export {key} does not exist",
            "quarantine": f"quarantine {key} does not exist"}[kind]
