"""The rule book says what the issue's roles mean (the services follow it: see
tests/integration/test_rule_book.py)."""

from __future__ import annotations

import pytest

from hramba.domain.access import RULES, Action, Principal, Role, parse_roles

READS = {Action.TENANT_READ, Action.RETENTION_READ, Action.DISPOSE_READ, Action.READ,
         Action.VERIFY, Action.FIXITY, Action.AUDIT_LOG, Action.AUDIT_VERIFY,
         Action.EXPORT_READ, Action.REPORT}


def granted(role: Role) -> set[Action]:
    return {action for action, roles in RULES.items() if role in roles}


def test_what_each_role_may_do() -> None:
    assert granted(Role.ADMIN) == set(Action)
    assert granted(Role.AUDITOR) <= READS
    assert granted(Role.BUDGET_USER) == {Action.TENANT_READ, Action.READ, Action.VERIFY,
                                         Action.MIGRATE_CONFIRM, Action.AUDIT_LOG,
                                         Action.EXPORT_REQUEST, Action.EXPORT_READ,
                                         Action.REPORT}
    assert granted(Role.OPERATOR) - READS == {Action.INGEST, Action.SEAL, Action.RENEW,
                                              Action.SCHEDULE}
    assert Action.DISPOSE_APPROVE in granted(Role.APPROVER)
    assert Action.DISPOSE_PROPOSE not in granted(Role.APPROVER)
    assert Action.DISPOSE_APPROVE not in granted(Role.ARCHIVIST)
    assert Action.EXPORT_APPROVE in granted(Role.ARCHIVIST) & granted(Role.APPROVER)
    assert Action.EXPORT_REQUEST not in granted(Role.AUDITOR) | granted(Role.OPERATOR)
    assert Action.ACCOUNTS not in set().union(*(granted(r) for r in Role if r is not Role.ADMIN))


def test_a_principal_serves_its_tenants_or_all() -> None:
    scoped = Principal("bu", frozenset({Role.BUDGET_USER}), frozenset({1}))
    assert scoped.serves(1)
    assert not scoped.serves(2)
    assert Principal("a", frozenset({Role.AUDITOR})).serves(2)
    assert scoped.may(Action.READ)
    assert not scoped.may(Action.INGEST)


def test_roles_by_name() -> None:
    assert parse_roles(["Auditor", " budget-user"]) == {Role.AUDITOR, Role.BUDGET_USER}
    with pytest.raises(ValueError, match="unknown role 'clerk'"):
        parse_roles(["clerk"])
