"""The HTTP application: FastAPI on Starlette, served by uvicorn (`hramba serve`).

FastAPI, because the API's OpenAPI document comes from the same signatures that parse
and check each request (no second description to keep in step), on Starlette, whose
server-rendered pages and middleware the portal uses too, and because both are
maintained and typed. Every route is a plain function that calls the services as the
CLI does, with the archive acting for the principal the request proves; the web adds no
rule of its own. Routes are synchronous: Starlette runs them in its thread pool, as the
services (SQLAlchemy sessions, the object store) expect.

Errors are RFC 9457 problem details, `application/problem+json`, with the CLI's exit
code for the same error (`exit_code`), so a script can treat both alike.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from urllib.parse import urlencode

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from hramba import __version__
from hramba.config import Settings
from hramba.core.errors import BUG, HrambaError, NotPermitted, ServiceUnavailable, exit_code
from hramba.core.types import Clock
from hramba.services.sessions import TooSoon
from hramba.web import api, pages
from hramba.web.auth import SignInNeeded
from hramba.web.pages import SignInFirst, error_page

LOG = logging.getLogger("hramba.web")
PROBLEM = "application/problem+json"
STATUS = {3: 500, 4: 404, 5: 409, 6: 422, 7: 500, 8: 403, 75: 503, BUG: 500}
HEADERS = {
    "Content-Security-Policy": ("default-src 'none'; style-src 'self'; img-src 'self'; "
                                "form-action 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # no-referrer would make a form's Origin "null"
    "Cache-Control": "no-store",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def create_app(settings: Settings, clock: Clock | None = None) -> FastAPI:
    """The application over the archive these settings describe (already initialised)."""
    from hramba.wiring import connect

    archive = connect(settings, clock)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        archive.close()  # the database connections, when the server stops

    app = FastAPI(title="e-hramba", version=__version__, openapi_url="/api/openapi.json",
                  docs_url=None, redoc_url=None, lifespan=lifespan,
                  description="Long-term archive of e-invoices: search, read, prove.")
    app.state.archive = archive
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(packages=[("hramba.web", "static")]), name="static")
    app.add_exception_handler(SignInFirst, _sign_in_first)  # type: ignore[arg-type]
    app.add_exception_handler(HrambaError, _refused)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _invalid)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _bug)
    app.middleware("http")(_headers)
    return app


def from_environment() -> FastAPI:
    """The application over the settings of the environment: each worker process's, when
    `hramba serve --workers` starts several."""
    from hramba.config import load_settings

    return create_app(load_settings())


def problem(status: int, detail: str, code: int, headers: dict[str, str] | None = None,
            request: Request | None = None) -> Response:
    """An RFC 9457 problem: `type` about:blank, so `title` is the status's phrase; for a
    page (any path outside /api/), the same as a page."""
    from http import HTTPStatus

    if request is not None and not request.url.path.startswith("/api/"):
        return error_page(request, status, detail)
    return JSONResponse({"type": "about:blank", "title": HTTPStatus(status).phrase,
                         "status": status, "detail": detail, "exit_code": code},
                        status_code=status, media_type=PROBLEM, headers=headers)


def _refused(request: Request, exc: HrambaError) -> Response:
    code = exit_code(exc)
    if isinstance(exc, SignInNeeded):
        return problem(401, str(exc), code, {"WWW-Authenticate": 'Bearer realm="e-hramba"'},
                       request)
    if isinstance(exc, TooSoon):
        return problem(429, str(exc), code, {"Retry-After": str(math.ceil(exc.wait))},
                       request)
    headers = {"Retry-After": "30"} if isinstance(exc, ServiceUnavailable) else None
    status = 403 if isinstance(exc, NotPermitted) else STATUS.get(code, 500)
    return problem(status, str(exc), code, headers, request)


def _invalid(request: Request, exc: RequestValidationError) -> Response:
    """A request that does not parse: the CLI's usage error (exit 2)."""
    where = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                      for e in exc.errors())
    return problem(400, f"bad request: {where}", 2, request=request)


def _http(request: Request, exc: HTTPException) -> Response:
    return problem(exc.status_code, str(exc.detail), 4 if exc.status_code == 404 else 2,
                   request=request)


def _bug(request: Request, exc: Exception) -> Response:
    LOG.exception("%s %s failed", request.method, request.url.path)
    return problem(500, "internal error: the server's log has the details", BUG,
                   request=request)


def _sign_in_first(request: Request, exc: SignInFirst) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": exc.next_path}), status_code=303)


async def _headers(request: Request,
                   call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    """The security headers, and the server's time to the response's first byte
    (`Server-Timing: app;dur=` milliseconds), which a browser's tools and the bench read."""
    started = time.perf_counter()
    response = await call_next(request)
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response
