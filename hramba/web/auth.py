"""Who a request acts for: the bearer secret of its Authorization header, an API token or
a session's secret. Nothing else is trusted: no login in a query, no principal in a
form, and no cookie (so no request a browser sends on its own is signed in, and the API
needs no CSRF token)."""

from __future__ import annotations

from fastapi import Request

from hramba.core.errors import NotPermitted
from hramba.services.context import Archive
from hramba.services.sessions import principal_for


class SignInNeeded(NotPermitted):
    """No credentials at all (HTTP 401, where wrong ones are 403)."""


def base(request: Request) -> Archive:
    """The archive the application serves, acting for nobody."""
    archive: Archive = request.app.state.archive
    return archive


def secret_of(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def acting(request: Request) -> Archive:
    """The archive acting for the request's principal (a dependency of every route that
    reads or changes anything)."""
    secret = secret_of(request)
    if secret is None:
        raise SignInNeeded("sign in first: POST /api/v1/session, or send an API token as "
                           "'Authorization: Bearer TOKEN'")
    archive = base(request)
    principal, _csrf = principal_for(archive, secret)
    return archive.acting_as(principal)
