"""The portal's pages: server-rendered HTML in Slovenian (or English, `?lang=en`), usable
without JavaScript, over the same services as the API and the CLI.

Jinja2 escapes every value it puts in a page (autoescape), so a supplier named
`<script>` is text. A page signs in with the session cookie that the sign-in form sets:
HttpOnly, Secure, SameSite=Strict, for the session's lifetime. Every form that changes
anything carries the session's CSRF token, and the sign-in form a token of its own
(double submit: a cookie and a field), so no other site can post on a user's behalf; a
request whose Origin is another site's is refused as well. Pages are not in the OpenAPI
document: they are for people.
"""

from __future__ import annotations

import csv
import hmac
import io
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader

from hramba.core.errors import Conflict, NotFound, NotPermitted, RejectedInput
from hramba.domain.access import Role
from hramba.domain.report import LABELS as REPORT_LABELS
from hramba.domain.retention import LEGAL_ZONE
from hramba.services import export as exports
from hramba.services import migrate, reports, sessions, units
from hramba.services.context import Archive
from hramba.services.search import SearchCriteria, search_units
from hramba.services.sessions import SESSION_PREFIX, SessionRules, TooSoon
from hramba.services.tenants import list_tenants
from hramba.web.api import evidence_response, file_response, package_response, report_response
from hramba.web.auth import base
from hramba.web.words import LANGS, amount, document_kind, words

SESSION_COOKIE, LOGIN_COOKIE, LANG_COOKIE = "hramba_session", "hramba_login", "hramba_lang"
PAGE_SIZE = 50
router = APIRouter(include_in_schema=False)
# A unit's metadata has the fields its format gave: one it lacks is empty, not an error.
TEMPLATES = Environment(loader=PackageLoader("hramba.web", "templates"), autoescape=True,
                        trim_blocks=True, lstrip_blocks=True)


def _moment(value: str | None) -> str:
    """An ISO time as people here read it: Ljubljana's, with its zone (CET or CEST)."""
    if not value:
        return "–"
    return f"{datetime.fromisoformat(value).astimezone(LEGAL_ZONE):%Y-%m-%d %H:%M %Z}"


TEMPLATES.filters["moment"] = _moment


class SignInFirst(Exception):
    """The page needs a signed-in session; `next` is where to go back after it."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@dataclass(frozen=True)
class Signed:
    """A page's request, signed in: the archive acting for it, its session's CSRF token."""

    archive: Archive
    csrf: str


def signed(request: Request) -> Signed:
    secret = request.cookies.get(SESSION_COOKIE, "")
    if not secret.startswith(SESSION_PREFIX):
        raise SignInFirst(request.url.path)
    try:
        principal, csrf = sessions.principal_for(base(request), secret)
    except NotPermitted:
        raise SignInFirst(request.url.path) from None
    return Signed(base(request).acting_as(principal), csrf or "")


Page = Annotated[Signed, Depends(signed)]


def lang_of(request: Request) -> str:
    wanted = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    return wanted if wanted in LANGS else LANGS[0]


def render(request: Request, template: str, status: int = 200, signed_in: Signed | None = None,
           **context: Any) -> HTMLResponse:
    lang = lang_of(request)
    index = LANGS.index(lang)
    html = TEMPLATES.get_template(template).render(
        t=words(lang), lang=lang, other_lang=LANGS[1 - index],
        amount=lambda value: amount(value, lang), kind=lambda name: document_kind(name, lang),
        report_kind=lambda kind: REPORT_LABELS.get(kind, (kind, kind))[index],
        principal=signed_in.archive.principal if signed_in else None,
        csrf=signed_in.csrf if signed_in else context.pop("csrf", ""), **context)
    response = HTMLResponse(html, status_code=status)
    if request.query_params.get("lang") in LANGS:
        _cookie(response, LANG_COOKIE, lang, 365 * 24 * 3600)
    return response


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    return render(request, "error.html", status, code=status, detail=detail)


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/units", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/units") -> HTMLResponse:
    return _login_page(request, _local(next))


@router.post("/login")
def login(request: Request, login: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=1024)],
          csrf: Annotated[str, Form(max_length=64)],
          next: Annotated[str, Form(max_length=2048)] = "/units") -> Response:
    _same_origin(request)
    if not hmac.compare_digest(csrf, request.cookies.get(LOGIN_COOKIE, "")):
        return error_page(request, 403, "the sign-in form expired: open it again")
    try:
        opened = sessions.open_session(base(request), login, password)
    except TooSoon as exc:
        return _login_page(request, _local(next), refused=True, detail=str(exc))
    except NotPermitted:
        return _login_page(request, _local(next), refused=True)
    response = RedirectResponse(_local(next), status_code=303)
    _cookie(response, SESSION_COOKIE, opened.secret,
            int(SessionRules().lifetime.total_seconds()))
    response.delete_cookie(LOGIN_COOKIE)
    return response


@router.post("/logout")
def logout(request: Request, page: Page,
           csrf: Annotated[str, Form(max_length=64)]) -> Response:
    _checked(request, page, csrf)
    sessions.close_session(page.archive, request.cookies[SESSION_COOKIE])
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/units")
def units_page(request: Request, page: Page, tenant: str = "", party: str = "",
               number: str = "", date_from: str = "", date_to: str = "",
               cursor: str = "") -> HTMLResponse:
    query = {"tenant": tenant, "party": party, "number": number, "date_from": date_from,
             "date_to": date_to}
    codes = [t.code for t in list_tenants(page.archive)]
    try:
        found = search_units(page.archive, SearchCriteria(
            tenant or None, _day(date_from), _day(date_to), party.strip() or None,
            number.strip() or None, after=cursor or None, limit=PAGE_SIZE))
    except RejectedInput as exc:
        return render(request, "units.html", 400, page, query=query, tenants=codes,
                      hits=[], next=None, problem=str(exc))
    after = found.next_after
    next_url = None if after is None else "/units?" + urlencode(
        {k: v for k, v in query.items() if v} | {"cursor": after})
    return render(request, "units.html", 200, page, query=query, tenants=codes,
                  hits=found.hits, next=next_url, problem=None)


@router.get("/units/{unit_id}")
def unit_page(request: Request, page: Page, unit_id: str) -> HTMLResponse:
    shown = units.show_unit(page.archive, unit_id)
    xml = next((f["position"] for f in shown["files"] if f["role"] in units.XML_ROLES
                and f["media_type"] == "application/xml"), None)
    return render(request, "unit.html", 200, page, unit=shown, meta=shown["metadata"],
                  invoice=units.readable(page.archive, unit_id), xml_position=xml)


@router.get("/units/{unit_id}/files/{position}")
def unit_file(page: Page, unit_id: str, position: int) -> Response:
    return file_response(*units.read_file(page.archive, unit_id, position))


@router.get("/units/{unit_id}/evidence")
def unit_evidence(page: Page, unit_id: str) -> Response:
    return evidence_response(page.archive, unit_id)


@router.get("/exports")
def exports_page(request: Request, page: Page) -> HTMLResponse:
    return _exports(request, page, {}, None)


@router.post("/exports")
def request_export(request: Request, page: Page, csrf: Annotated[str, Form(max_length=64)],
                   tenant: Annotated[str, Form(max_length=64)],
                   reason: Annotated[str, Form(max_length=2000)],
                   party: Annotated[str, Form(max_length=200)] = "",
                   number: Annotated[str, Form(max_length=200)] = "",
                   date_from: Annotated[str, Form(max_length=10)] = "",
                   date_to: Annotated[str, Form(max_length=10)] = "") -> Response:
    _checked(request, page, csrf)
    asked = {"tenant": tenant, "reason": reason, "party": party, "number": number,
             "date_from": date_from, "date_to": date_to}
    try:
        exports.request_export(page.archive, SearchCriteria(
            tenant, _day(date_from), _day(date_to), party.strip() or None,
            number.strip() or None), reason)
    except (RejectedInput, NotFound) as exc:
        return _exports(request, page, asked, str(exc))
    return RedirectResponse("/exports", status_code=303)


@router.get("/exports/{export_id}/package")
def export_package(page: Page, export_id: int) -> Response:
    return package_response(*exports.stream_export(page.archive, export_id))


MIGRATION_COUNTS = ("expected", "transferred", "staged", "archived", "duplicate", "quarantined",
                    "mismatched", "missing", "pending")


@router.get("/migrations")
def migrations_page(request: Request, page: Page) -> HTMLResponse:
    return _migrations(request, page, None)


@router.post("/migrations/{migration_id}/confirm")
def confirm_migration(request: Request, page: Page, migration_id: int,
                      csrf: Annotated[str, Form(max_length=64)],
                      accept_gaps: Annotated[str, Form(max_length=2000)] = "",
                      purge_remote: Annotated[str, Form(max_length=1)] = "",
                      written_word: Annotated[str, Form(max_length=2000)] = "") -> Response:
    _checked(request, page, csrf)
    try:
        migrate.confirm(page.archive, migration_id, accept_gaps.strip() or None,
                        purge_remote == "1", written_word.strip() or None)
    except (Conflict, RejectedInput) as exc:
        return _migrations(request, page, str(exc))
    return RedirectResponse("/migrations", status_code=303)


@router.get("/migrations/{migration_id}/report")
def migration_report(page: Page, migration_id: int) -> Response:
    """The reconciliation, one row per file (as `hramba migrate report --format csv`)."""
    rows = migrate.report(page.archive, migration_id)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]) if rows else ["path"])
    writer.writeheader()
    writer.writerows(rows)
    return Response(text.getvalue(), media_type="text/csv", headers={
        "Content-Disposition": f'attachment; filename="migration-{migration_id}.csv"'})


@router.get("/reports")
def reports_page(request: Request, page: Page) -> HTMLResponse:
    return render(request, "reports.html", 200, page,
                  reports=reports.list_reports(page.archive))


@router.get("/reports/{report_id}/files/{name}")
def report_file(page: Page, report_id: int, name: str) -> Response:
    return report_response(name, *reports.stream_report(page.archive, report_id, name))


def _migrations(request: Request, page: Signed, problem: str | None) -> HTMLResponse:
    return render(request, "migrations.html", 200 if problem is None else 409, page,
                  migrations=migrate.list_migrations(page.archive), counts=MIGRATION_COUNTS,
                  problem=problem, budget_user=Role.BUDGET_USER in page.archive.principal.roles)


def _exports(request: Request, page: Signed, asked: dict[str, str], problem: str | None
             ) -> HTMLResponse:
    return render(request, "exports.html", 200 if problem is None else 400, page,
                  exports=exports.list_exports(page.archive), asked=asked, problem=problem,
                  tenants=[t.code for t in list_tenants(page.archive)])


def _login_page(request: Request, next_path: str, refused: bool = False,
                detail: str = "") -> HTMLResponse:
    token = secrets.token_urlsafe(32)
    response = render(request, "login.html", 403 if refused else 200, csrf=token,
                      next=next_path, refused=refused, detail=detail)
    _cookie(response, LOGIN_COOKIE, token, 600)
    return response


def _checked(request: Request, page: Signed, csrf: str) -> None:
    """A form of this session, from this site, or NotPermitted."""
    _same_origin(request)
    if not page.csrf or not hmac.compare_digest(csrf, page.csrf):
        raise NotPermitted("the form's CSRF token is not this session's: open the page "
                           "again")


def _same_origin(request: Request) -> None:
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        raise NotPermitted(f"a form posted from {origin} is refused")


def _cookie(response: Response, name: str, value: str, max_age: int) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", secure=True, httponly=True,
                        samesite="strict")


def _local(path: str) -> str:
    """A path on this site (never another site's URL: no open redirect)."""
    return path if path.startswith("/") and not path.startswith(("//", "/\\")) else "/units"


def _day(text: str) -> date | None:
    if not text.strip():
        return None
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RejectedInput(f"{text!r} is not a date (YYYY-MM-DD)") from None
