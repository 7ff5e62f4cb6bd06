"""Accounts: who may act, how they sign in, and the principal a front end acts for.

A front end says who is acting once, with Credentials: the OS user it runs as (mapped to
an account, as PostgreSQL's peer authentication maps it to a role), an API token, or a
login and password. A failure says only "not permitted", whatever was wrong, and each
further failure for the same claim waits longer before it answers.

Passwords are kept as argon2id hashes (argon2-cffi, RFC 9106 parameters); API tokens,
256 random bits, as their SHA-256.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hramba.core.errors import Conflict, NotFound, NotPermitted, RejectedInput
from hramba.db.engine import transaction
from hramba.db.models import Account, AccountRole, AccountTenant, ApiToken, AuthFailure, Tenant
from hramba.domain.access import Action, Principal, Role, parse_roles
from hramba.services import audit
from hramba.services.access import authorize
from hramba.services.context import Archive

LOGIN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
TOKEN_PREFIX = "hrb_"  # noqa: S105 - a prefix, not a secret
MIN_PASSWORD = 12
FAILURE_WINDOW = timedelta(minutes=15)  # failures older than this are forgotten
MAX_DELAY = 10.0  # seconds


@dataclass(frozen=True)
class NewAccount:
    login: str
    name: str
    roles: tuple[str, ...]
    tenants: tuple[str, ...] = ()  # codes; none: every tenant (not for a budget user)
    os_user: str | None = None


@dataclass(frozen=True)
class Credentials:
    """How a front end says who is acting: a token, or a login and password, or else
    the OS user it runs as."""

    os_user: str | None = None
    token: str | None = None
    login: str | None = None
    password: str | None = None


def current_os_user() -> str:
    """The OS account this process runs as, by its uid (not $USER, which anyone sets)."""
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def add_account(archive: Archive, new: NewAccount) -> dict[str, Any]:
    authorize(archive, Action.ACCOUNTS)
    login, roles = _check(new)
    now = archive.clock.now()
    try:
        with transaction(archive.db) as session:
            account = Account(login=login, name=new.name.strip(), os_user=new.os_user,
                              created_at=now, roles=[AccountRole(role=r.value) for r in roles])
            account.tenants = [AccountTenant(tenant_id=_tenant_id(session, code))
                               for code in dict.fromkeys(new.tenants)]
            session.add(account)
            session.flush()
            shown = describe(session, account)
            audit.record(session, archive, "account.added", login, details=shown)
    except IntegrityError as exc:
        raise Conflict(f"an account {login} or one for OS user {new.os_user} exists") from exc
    return shown


def bootstrap_admin(archive: Archive, os_user: str) -> bool:
    """The first account of a new archive: an admin for the OS user that ran `init`.
    Returns False (and does nothing) once any account exists."""
    with transaction(archive.db) as session:
        if session.scalar(select(func.count()).select_from(Account)):
            return False
        login = _login_for(os_user)
        account = Account(login=login, name=os_user, os_user=os_user,
                          created_at=archive.clock.now(), roles=[AccountRole(role="admin")])
        session.add(account)
        session.flush()
        archive.principal = principal_of(account)
        audit.record(session, archive, "account.added", login,
                     details=describe(session, account) | {"bootstrap": True})
    return True


def list_accounts(archive: Archive) -> list[dict[str, Any]]:
    authorize(archive, Action.ACCOUNTS)
    with transaction(archive.db) as session:
        return [describe(session, a)
                for a in session.scalars(select(Account).order_by(Account.login))]


def disable_account(archive: Archive, login: str) -> dict[str, Any]:
    authorize(archive, Action.ACCOUNTS)
    with transaction(archive.db) as session:
        account = _account(session, login)
        if account.id == archive.principal.account_id:
            raise Conflict("an account cannot disable itself")
        if account.disabled_at is None:
            account.disabled_at = archive.clock.now()
            audit.record(session, archive, "account.disabled", account.login)
        return describe(session, account)


def set_password(archive: Archive, login: str, password: str) -> None:
    """Set an account's password: one's own, or any with the right to manage accounts."""
    if len(password) < MIN_PASSWORD:
        raise RejectedInput(f"a password needs at least {MIN_PASSWORD} characters")
    _own_or_managed(archive, login)
    with transaction(archive.db) as session:
        account = _account(session, login)
        account.password_hash = _hasher().hash(password)
        audit.record(session, archive, "account.password_set", account.login)


def issue_token(archive: Archive, login: str) -> str:
    """A new API token for an account (one's own, or any with the right to manage
    accounts); shown once, kept only as its SHA-256."""
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    _own_or_managed(archive, login)
    with transaction(archive.db) as session:
        account = _account(session, login)
        hint = secret[:len(TOKEN_PREFIX) + 6]
        session.add(ApiToken(account_id=account.id, sha256=_sha256(secret), hint=hint,
                             created_at=archive.clock.now()))
        audit.record(session, archive, "account.token_issued", account.login,
                     details={"hint": hint})
    return secret


def authenticate(archive: Archive, credentials: Credentials,
                 sleep: Callable[[float], None] = time.sleep, claimed: bool = False
                 ) -> Principal:
    """The principal these credentials prove, or NotPermitted (after a delay that grows
    with each failure for the same claim). Nothing says whether the login exists.
    `claimed`: claim_attempt already counted this attempt as a failure."""
    claim = _claim(credentials)
    with transaction(archive.db) as session:
        account = _verified(session, credentials)
        if account is not None and account.disabled_at is None:
            session.execute(delete(AuthFailure).where(AuthFailure.key == claim))
            return principal_of(account)
    failures = _record_failure(archive, claim, credentials, count=not claimed)
    sleep(_delay(failures))
    raise NotPermitted("not permitted: unknown account, wrong credentials or disabled")


def claim_attempt(archive: Archive, credentials: Credentials) -> float:
    """For a server that answers "retry later" instead of sleeping (a sleeping thread is
    one a guesser takes from everybody): the seconds before this claim may be tried, or
    0, and then the attempt is counted as a failure before its password is checked
    (authenticate with claimed=True; the right password clears it), so that guesses sent
    at once wait their turn as those sent one after another do."""
    claim, now = _claim(credentials), archive.clock.now()
    try:
        with transaction(archive.db) as session:
            row = session.get(AuthFailure, claim, with_for_update=True)
            if row is None:  # an INSERT: a claim of the same moment makes it fail, below
                session.add(AuthFailure(key=claim, count=1, last_at=now))
                session.flush()
            elif now - row.last_at > FAILURE_WINDOW:
                row.count, row.last_at = 1, now
            elif (wait := _delay(row.count) - (now - row.last_at).total_seconds()) > 0:
                return wait
            else:
                row.count, row.last_at = row.count + 1, now
    except IntegrityError:  # an attempt of the same claim, at the same moment, came first
        return _delay(1)
    return 0.0


def _delay(failures: int) -> float:
    return min(MAX_DELAY, 0.25 * 2.0 ** (failures - 1))


def principal_of(account: Account) -> Principal:
    tenant_ids = frozenset(t.tenant_id for t in account.tenants) or None
    return Principal(account.login, frozenset(Role(r.role) for r in account.roles),
                     tenant_ids, account.id)


def describe(session: Session, account: Account) -> dict[str, Any]:
    codes = sorted(session.scalars(select(Tenant.code).where(
        Tenant.id.in_([t.tenant_id for t in account.tenants]))))
    tokens = session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None)))
    return {"login": account.login, "name": account.name,
            "roles": sorted(r.role for r in account.roles),
            "tenants": codes or "all", "os_user": account.os_user,
            "password": account.password_hash is not None, "tokens": tokens,
            "disabled_at": account.disabled_at.isoformat() if account.disabled_at else None}


def _check(new: NewAccount) -> tuple[str, frozenset[Role]]:
    login = new.login.strip()
    if not LOGIN.fullmatch(login):
        raise RejectedInput(f"login {login!r}: 1-64 of a-z 0-9 . _ -, starting with a "
                            "letter or digit")
    if not new.name.strip():
        raise RejectedInput("an account needs a --name")
    try:
        roles = parse_roles(new.roles)
    except ValueError as exc:
        raise RejectedInput(str(exc)) from None
    if not roles:
        raise RejectedInput("an account needs at least one --role")
    if Role.BUDGET_USER in roles and not new.tenants:
        raise RejectedInput("a budget-user account needs its --tenant")
    return login, roles


def _login_for(os_user: str) -> str:
    login = re.sub(r"[^a-z0-9._-]", "-", os_user.lower()).lstrip("._-")[:64]
    return login or "admin"


def _tenant_id(session: Session, code: str) -> int:
    found = session.scalar(select(Tenant.id).where(Tenant.code == code))
    if found is None:
        raise NotFound(f"tenant {code} is not registered (hramba tenant add)")
    return found


def _account(session: Session, login: str) -> Account:
    account = session.scalars(select(Account).where(Account.login == login)).first()
    if account is None:
        raise NotFound(f"no account {login}")
    return account


def _own_or_managed(archive: Archive, login: str) -> None:
    """One's own account, or any with the right to manage accounts."""
    if login != archive.principal.login:
        authorize(archive, Action.ACCOUNTS)


def _verified(session: Session, credentials: Credentials) -> Account | None:
    """The account the credentials prove, or None; always does the work of a password
    check, so that an unknown login answers no faster than a wrong password."""
    if credentials.token:
        return session.scalars(select(Account).join(ApiToken).where(
            ApiToken.sha256 == _sha256(credentials.token),
            ApiToken.revoked_at.is_(None))).first()
    if credentials.login:
        account = session.scalars(select(Account).where(
            Account.login == credentials.login)).first()
        return account if _password_ok(account, credentials.password or "") else None
    return session.scalars(select(Account).where(
        Account.os_user == credentials.os_user)).first() if credentials.os_user else None


def _password_ok(account: Account | None, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    stored = account.password_hash if account is not None else None
    try:
        _hasher().verify(stored or _dummy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return stored is not None


@cache
def _hasher() -> Any:
    from argon2 import PasswordHasher  # argon2id with RFC 9106's low-memory parameters

    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """Verified against when the login is unknown or has no password: the same work."""
    return str(_hasher().hash(secrets.token_hex(16)))


def _claim(credentials: Credentials) -> str:
    """What failures are counted against: the claimed login, the OS user, or 'a token'."""
    who = ("token" if credentials.token else f"login:{credentials.login}"
           if credentials.login else f"os:{credentials.os_user}")
    return _sha256(who)


def _record_failure(archive: Archive, claim: str, credentials: Credentials,
                    count: bool) -> int:
    now = archive.clock.now()
    with transaction(archive.db) as session:
        row = session.get(AuthFailure, claim, with_for_update=True)
        if row is None or now - row.last_at > FAILURE_WINDOW:
            row = session.merge(AuthFailure(key=claim, count=0, last_at=now))
            count = True
        if count:
            row.count, row.last_at = row.count + 1, now
        claimed = credentials.login or credentials.os_user or "(token)"
        audit.record(session, archive, "access.denied", "sign-in",
                     details={"claimed": claimed, "failures": row.count})
        return row.count


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
