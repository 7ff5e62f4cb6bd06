"""Accounts: who may act, how they sign in, and that failing says nothing and slows down.
On both profiles (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib

import pytest
from sqlalchemy import select

from hramba.core.errors import Conflict, NotPermitted, RejectedInput
from hramba.db.engine import transaction
from hramba.db.models import Account, ApiToken, AuditEvent, Tenant
from hramba.domain.access import Principal, Role
from hramba.services import accounts
from hramba.services.accounts import Credentials, NewAccount
from hramba.services.context import Archive

PASSWORD = "correct horse battery staple"


def add(archive: Archive, login: str, *roles: str, tenants: tuple[str, ...] = (),
        os_user: str | None = None) -> dict[str, object]:
    return accounts.add_account(archive, NewAccount(login, login.title(), roles, tenants,
                                                    os_user))


def sign_in(archive: Archive, credentials: Credentials) -> Principal:
    return accounts.authenticate(archive, credentials, sleep=lambda _s: None)


def test_init_made_the_os_user_an_admin_and_only_once(archive: Archive) -> None:
    assert archive.principal.roles == {Role.ADMIN}
    assert archive.principal.login == accounts.current_os_user()
    assert not accounts.bootstrap_admin(archive, "someone-else")
    assert [a["login"] for a in accounts.list_accounts(archive)] == [archive.principal.login]


def test_an_account_signs_in_by_os_user_token_or_password(archive: Archive) -> None:
    add(archive, "ana", "budget-user", tenants=("OBCINA1",), os_user="ana")
    token = accounts.issue_token(archive, "ana")
    accounts.set_password(archive, "ana", PASSWORD)
    with transaction(archive.db) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.code == "OBCINA1"))
    expected = Principal("ana", frozenset({Role.BUDGET_USER}), frozenset({tenant_id}))
    for credentials in (Credentials(os_user="ana"), Credentials(token=token),
                        Credentials(login="ana", password=PASSWORD)):
        principal = sign_in(archive, credentials)
        assert (principal.login, principal.roles, principal.tenant_ids) == (
            expected.login, expected.roles, expected.tenant_ids)


def test_secrets_are_kept_only_as_hashes(archive: Archive) -> None:
    add(archive, "ana", "auditor")
    token = accounts.issue_token(archive, "ana")
    accounts.set_password(archive, "ana", PASSWORD)
    with transaction(archive.db) as session:
        account = session.scalars(select(Account).where(Account.login == "ana")).one()
        stored = session.scalars(select(ApiToken)).one()
        events = " ".join(str(e.details) for e in session.scalars(select(AuditEvent)))
    assert account.password_hash is not None
    assert account.password_hash.startswith("$argon2id$")
    assert PASSWORD not in account.password_hash
    assert stored.sha256 != token
    assert token.startswith(stored.hint)
    assert len(stored.hint) < 12
    assert token not in events
    assert PASSWORD not in events


@pytest.mark.parametrize("credentials", [
    Credentials(login="ana", password="wrong password!!"),
    Credentials(login="nobody", password=PASSWORD),
    Credentials(token="hrb_not-a-token"),
    Credentials(os_user="mallory"),
], ids=["wrong-password", "unknown-login", "unknown-token", "unmapped-os-user"])
def test_a_failed_sign_in_says_only_not_permitted(archive: Archive,
                                                  credentials: Credentials) -> None:
    add(archive, "ana", "auditor")
    accounts.set_password(archive, "ana", PASSWORD)
    with pytest.raises(NotPermitted) as refused:
        sign_in(archive, credentials)
    assert str(refused.value) == ("not permitted: unknown account, wrong credentials or "
                                  "disabled")
    with transaction(archive.db) as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert last is not None
    assert (last.action, last.subject) == ("access.denied", "sign-in")


def test_a_disabled_account_cannot_act(archive: Archive) -> None:
    add(archive, "ana", "archivist")
    token = accounts.issue_token(archive, "ana")
    assert sign_in(archive, Credentials(token=token)).login == "ana"
    accounts.disable_account(archive, "ana")
    with pytest.raises(NotPermitted):
        sign_in(archive, Credentials(token=token))


def test_repeated_failures_wait_longer_and_success_resets(archive: Archive) -> None:
    add(archive, "ana", "auditor")
    accounts.set_password(archive, "ana", PASSWORD)
    waits: list[float] = []

    def attempt(password: str) -> None:
        with contextlib.suppress(NotPermitted):
            accounts.authenticate(archive, Credentials(login="ana", password=password),
                                  sleep=waits.append)

    for _ in range(3):
        attempt("wrong password!!")
    attempt(PASSWORD)
    attempt("wrong password!!")
    assert waits == [0.25, 0.5, 1.0, 0.25]


def test_account_rules(archive: Archive) -> None:
    with pytest.raises(RejectedInput, match="needs its --tenant"):
        add(archive, "bu", "budget-user")
    with pytest.raises(RejectedInput, match="unknown role 'clerk'"):
        add(archive, "x", "clerk")
    with pytest.raises(RejectedInput, match="login"):
        add(archive, "Ana Novak", "auditor")
    add(archive, "ana", "auditor")
    with pytest.raises(Conflict):
        add(archive, "ana", "archivist")
    with pytest.raises(RejectedInput, match="12 characters"):
        accounts.set_password(archive, "ana", "short")


def test_only_an_admin_manages_accounts_but_anyone_their_own(archive: Archive) -> None:
    add(archive, "ana", "archivist")
    add(archive, "bor", "auditor")
    admin = archive.principal
    archive.principal = sign_in(archive, Credentials(token=accounts.issue_token(archive,
                                                                                "ana")))
    accounts.set_password(archive, "ana", PASSWORD)  # one's own
    accounts.issue_token(archive, "ana")
    for refused in (lambda: add(archive, "eve", "admin"),
                    lambda: accounts.set_password(archive, "bor", PASSWORD),
                    lambda: accounts.issue_token(archive, "bor"),
                    lambda: accounts.disable_account(archive, "bor"),
                    lambda: accounts.list_accounts(archive)):
        with pytest.raises(NotPermitted, match="ana \\(archivist\\) may not manage accounts"):
            refused()
    archive.principal = admin
    with pytest.raises(Conflict, match="cannot disable itself"):
        accounts.disable_account(archive, admin.login)
