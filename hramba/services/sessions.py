"""Web sessions: a sign-in with a login and password opens one, for the portal's pages
and the HTTP API; an API token needs none.

A session's secret (256 random bits, prefixed "hrs_") is given once and kept as its
SHA-256, as API tokens are. It ends when it is closed (sign-out), when it has been idle
longer than `idle`, or at `lifetime` after sign-in, whichever comes first; an account
disabled meanwhile ends it too. A sign-in is an audit event, as a failed one is
(hramba.services.accounts, which also makes each further failure wait longer).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from hramba.core.errors import NotPermitted
from hramba.db.engine import transaction
from hramba.db.models import Account, WebSession
from hramba.domain.access import Principal
from hramba.services import accounts, audit
from hramba.services.accounts import Credentials
from hramba.services.context import Archive

SESSION_PREFIX = "hrs_"
ENDED = "session ended: sign in again"


class TooSoon(NotPermitted):
    """A sign-in attempted before the delay of the login's last failure ran out."""

    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


@dataclass(frozen=True)
class SessionRules:
    idle: timedelta = timedelta(minutes=30)
    lifetime: timedelta = timedelta(hours=8)


@dataclass(frozen=True)
class Opened:
    secret: str  # shown once: the bearer token, or the cookie's value
    csrf: str  # the token every form of this session carries
    expires_at: datetime  # at the latest; idleness may end it sooner
    principal: Principal


def open_session(archive: Archive, login: str, password: str,
                 rules: SessionRules = SessionRules()) -> Opened:
    """Sign in: the principal the password proves, and a new session for it. After a
    failed attempt for the login, and while one is being checked, the next is refused
    (TooSoon) until its delay has passed, without being tried: the server never sleeps
    on a guesser's behalf, and guesses sent at once are tried one at a time."""
    credentials = Credentials(login=login, password=password)
    if (wait := accounts.claim_attempt(archive, credentials)) > 0:
        raise TooSoon(f"too many failed sign-ins for this login: try again in "
                      f"{wait:.1f} s", wait)
    principal = accounts.authenticate(archive, credentials, sleep=lambda _seconds: None,
                                      claimed=True)
    secret, csrf = SESSION_PREFIX + secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    now = archive.clock.now()
    with transaction(archive.db) as session:
        session.add(WebSession(account_id=principal.account_id, sha256=_sha256(secret),
                               csrf=csrf, created_at=now, last_seen_at=now,
                               expires_at=now + rules.lifetime))
        audit.record(session, archive.acting_as(principal), "session.opened",
                     principal.login, details={"hint": secret[:len(SESSION_PREFIX) + 6]})
    return Opened(secret, csrf, now + rules.lifetime, principal)


def principal_for(archive: Archive, secret: str, rules: SessionRules = SessionRules()
                  ) -> tuple[Principal, str | None]:
    """Who a bearer secret proves: a session's account (and the session's CSRF token),
    or an API token's (no CSRF token: no forms). NotPermitted if it proves nobody."""
    if not secret.startswith(SESSION_PREFIX):
        return accounts.authenticate(archive, Credentials(token=secret)), None
    now = archive.clock.now()
    with transaction(archive.db) as session:
        found = session.execute(select(WebSession, Account).join(Account).where(
            WebSession.sha256 == _sha256(secret), WebSession.closed_at.is_(None))).first()
        if found is None:
            raise NotPermitted(ENDED)
        row, account = found
        if (now >= row.expires_at or now - row.last_seen_at > rules.idle
                or account.disabled_at is not None):
            row.closed_at = now
            raise NotPermitted(ENDED)
        row.last_seen_at = now
        return accounts.principal_of(account), row.csrf


def close_session(archive: Archive, secret: str) -> None:
    """Sign out: the session ends now (an unknown or ended one: nothing to do)."""
    with transaction(archive.db) as session:
        closed = session.execute(update(WebSession).where(
            WebSession.sha256 == _sha256(secret), WebSession.closed_at.is_(None))
            .values(closed_at=archive.clock.now()))
        if closed.rowcount:  # type: ignore[attr-defined]
            audit.record(session, archive, "session.closed", archive.actor)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
