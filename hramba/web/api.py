"""The HTTP API, version 1 (`/api/v1`): sign-in, search, a unit, its files.

Each route parses its request, calls one service with the archive acting for the
request's principal, and returns the service's answer as JSON: the same rules, the same
audit events and the same refusals as the CLI (a unit of a tenant the principal does not
serve is 404, as an unknown one is, and the attempt is an event).
"""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

from hramba.db.models import File
from hramba.domain.export import bag_name
from hramba.domain.search import Direction
from hramba.services import export as exports
from hramba.services import migrate, reports, sessions, units
from hramba.services.context import Archive
from hramba.services.evidence import export_evidence
from hramba.services.search import MAX_LIMIT, SearchCriteria, search_units
from hramba.web.auth import acting, base, secret_of

router = APIRouter(prefix="/api/v1")
Acting = Annotated[Archive, Depends(acting)]


class SignIn(BaseModel):
    login: str = Field(max_length=64)
    password: str = Field(max_length=1024)


class SignedIn(BaseModel):
    token: str  # the bearer secret: send it as "Authorization: Bearer TOKEN"
    expires_at: str  # at the latest; 30 minutes idle end it sooner
    login: str
    roles: list[str]


@router.post("/session", status_code=201, response_model=SignedIn, tags=["session"])
def sign_in(body: SignIn, request: Request) -> SignedIn:
    """Sign in with a login and password; the answer's token is the session's secret."""
    opened = sessions.open_session(base(request), body.login, body.password)
    return SignedIn(token=opened.secret, expires_at=opened.expires_at.isoformat(),
                    login=opened.principal.login, roles=sorted(opened.principal.roles))


@router.delete("/session", status_code=204, tags=["session"])
def sign_out(archive: Acting, request: Request) -> Response:
    """End the session whose secret the request carries."""
    secret = secret_of(request)
    if secret:
        sessions.close_session(archive, secret)
    return Response(status_code=204)


@router.get("/me", tags=["session"])
def me(archive: Acting) -> dict[str, Any]:
    """Who the request acts for: login, roles, tenants (null: every tenant)."""
    principal = archive.principal
    return {"login": principal.login, "roles": sorted(principal.roles),
            "tenant_ids": None if principal.tenant_ids is None
            else sorted(principal.tenant_ids)}


@router.get("/units", tags=["units"])
def search(archive: Acting, request: Request, tenant: str | None = None,
           date_from: date | None = None, date_to: date | None = None,
           party: str | None = None, number: str | None = None,
           document_type: Annotated[str | None, Query(alias="type")] = None,
           direction: Direction | None = None,
           amount_min: Decimal | None = None, amount_max: Decimal | None = None,
           currency: str | None = None,
           unit_format: Annotated[str | None, Query(alias="format")] = None,
           sealed: bool | None = None, cursor: str | None = None,
           limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50) -> dict[str, Any]:
    """Units the principal may read that meet every criterion given, by tenant and issue
    date; `next` is the URL of the next page (null: this is the last)."""
    page = search_units(archive, SearchCriteria(
        tenant, date_from, date_to, party, number, document_type, direction, amount_min,
        amount_max, currency, unit_format, sealed, cursor, limit))
    after = page.next_after
    return {"units": [hit.as_dict() for hit in page.hits],
            "next": None if after is None
            else str(request.url.include_query_params(cursor=after))}


@router.get("/units/{unit_id}", tags=["units"])
def unit(archive: Acting, unit_id: str) -> dict[str, Any]:
    """What is recorded of a unit: metadata, files, retention, findings, sealing."""
    return units.show_unit(archive, unit_id)


@router.get("/units/{unit_id}/files/{position}", tags=["units"],
            response_class=StreamingResponse)
def unit_file(archive: Acting, unit_id: str, position: int) -> StreamingResponse:
    """One file of a unit, as received (its digest checked as it is sent: a mismatch
    ends the response early, short of its Content-Length)."""
    return file_response(*units.read_file(archive, unit_id, position))


@router.get("/units/{unit_id}/evidence", tags=["units"], response_class=FileResponse)
def unit_evidence(archive: Acting, unit_id: str) -> FileResponse:
    """The unit's evidence package, as `hramba evidence export` writes it, zipped: its
    files (or, disposed of, its tombstone), its Evidence Record, the validation data and
    README.txt with the checks as commands, for an auditor to verify offline."""
    return evidence_response(archive, unit_id)


def evidence_response(archive: Archive, unit_id: str) -> FileResponse:
    """The package in a temporary folder, removed once it has been sent."""
    folder = Path(tempfile.mkdtemp(prefix="hramba-evidence-"))
    try:
        name = f"evidence-{unit_id}"
        export_evidence(archive, unit_id, folder / name)
        package = folder / f"{name}.zip"
        with zipfile.ZipFile(package, "w", zipfile.ZIP_DEFLATED) as bag:
            for path in sorted((folder / name).rglob("*")):
                if path.is_file():
                    bag.write(path, path.relative_to(folder).as_posix())
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(package, media_type="application/zip", filename=package.name,
                        background=BackgroundTask(shutil.rmtree, folder, True),
                        headers={"Content-Security-Policy": "sandbox"})


class ExportRequest(BaseModel):
    tenant: str = Field(max_length=64)
    reason: str = Field(max_length=2000)
    party: str | None = Field(None, max_length=200)
    number: str | None = Field(None, max_length=200)
    date_from: date | None = None
    date_to: date | None = None


@router.post("/exports", status_code=201, tags=["exports"])
def request_export(archive: Acting, body: ExportRequest) -> dict[str, Any]:
    """Ask for a retrieval export of the tenant's units that meet the criteria; it is
    built by the scheduler's job (after approval, where it needs one)."""
    return exports.request_export(archive, SearchCriteria(
        body.tenant, body.date_from, body.date_to, body.party, body.number),
        body.reason).as_dict()


@router.get("/exports", tags=["exports"])
def list_exports(archive: Acting, tenant: str | None = None) -> dict[str, Any]:
    """The exports of the tenants the principal serves, newest first."""
    return {"exports": [e.as_dict() for e in exports.list_exports(archive, tenant)]}


@router.get("/exports/{export_id}", tags=["exports"])
def export(archive: Acting, export_id: int) -> dict[str, Any]:
    return exports.show_export(archive, export_id).as_dict()


@router.get("/exports/{export_id}/package", tags=["exports"],
            response_class=StreamingResponse)
def export_package(archive: Acting, export_id: int) -> StreamingResponse:
    """The built package: a ZIP of one BagIt bag (docs/cli.md, export)."""
    return package_response(*exports.stream_export(archive, export_id))


class Confirmation(BaseModel):
    accept_gaps: str | None = Field(None, max_length=2000)  # why, despite unresolved files
    purge_remote: bool = False  # at the staging purge, delete them at the provider too
    written_word: str | None = Field(None, max_length=2000)  # an archivist's, for the user


@router.get("/migrations", tags=["migrations"])
def list_migrations(archive: Acting) -> dict[str, Any]:
    """The migrations of the principal's tenants, newest first, with their counts."""
    return {"migrations": migrate.list_migrations(archive)}


@router.post("/migrations/{migration_id}/confirm", tags=["migrations"])
def confirm_migration(archive: Acting, migration_id: int, body: Confirmation
                      ) -> dict[str, Any]:
    """The budget user confirms that the previous provider's export is complete."""
    return migrate.confirm(archive, migration_id, body.accept_gaps, body.purge_remote,
                           body.written_word)


@router.get("/reports", tags=["reports"])
def list_reports(archive: Acting) -> dict[str, Any]:
    """The stored reports the principal may read, newest first, with their files."""
    return {"reports": [r.as_dict() for r in reports.list_reports(archive)]}


@router.get("/reports/{report_id}/files/{name}", tags=["reports"],
            response_class=StreamingResponse)
def report_file(archive: Acting, report_id: int, name: str) -> StreamingResponse:
    """One file of a report (its signed PDF, its JSON or a CSV), by its name."""
    return report_response(name, *reports.stream_report(archive, report_id, name))


def report_response(name: str, f: dict[str, Any], chunks: Iterator[bytes]
                    ) -> StreamingResponse:
    media = {"pdf": "application/pdf", "json": "application/json", "csv": "text/csv"}
    return _attached(chunks, name, media.get(name.rpartition(".")[2], "application/octet-stream"),
                     f["size"], f["sha256"])


def package_response(view: exports.ExportView, chunks: Iterator[bytes]) -> StreamingResponse:
    return _attached(chunks, f"{bag_name(view.export_id)}.zip", "application/zip",
                     view.size or 0, view.sha256 or "")


def file_response(found: File, chunks: Iterator[bytes]) -> StreamingResponse:
    """A file as an attachment (never shown inline: its bytes are the sender's)."""
    return _attached(chunks, found.name, found.media_type, found.size, found.sha256)


def _attached(chunks: Iterator[bytes], name: str, media_type: str, size: int,
              sha256: str) -> StreamingResponse:
    return StreamingResponse(chunks, media_type=media_type, headers={
        "Content-Length": str(size), "Content-Disposition": _attachment(name),
        "Content-Security-Policy": "sandbox", "ETag": f'"{sha256}"'})


def _attachment(name: str) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name (RFC 5987 encoding)."""
    fallback = "".join(c if (c.isascii() and c.isalnum()) or c in "._-" else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name)}"
