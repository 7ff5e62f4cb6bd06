"""hramba export: retrieval exports of a tenant's units, from request to download."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from hramba.cli import search as options
from hramba.cli.common import JSON_OPTION, command_group, emit_json, state, when
from hramba.domain.search import Direction

if TYPE_CHECKING:
    from hramba.services.export import ExportView

app = command_group("Retrieval exports: request, approve, build, download, hand on.")
ID = typer.Argument(..., help="Export id, as `export request` printed it.")


@app.command("request")
def request(ctx: typer.Context,
            tenant: str = typer.Option(..., "--tenant", help="The tenant whose units."),
            date_from: datetime | None = options.DATE_FROM,
            date_to: datetime | None = options.DATE_TO, party: str | None = options.PARTY,
            number: str | None = options.NUMBER, document_type: str | None = options.TYPE,
            direction: Direction | None = options.DIRECTION,
            amount_min: Decimal | None = options.AMOUNT_MIN,
            amount_max: Decimal | None = options.AMOUNT_MAX,
            currency: str | None = options.CURRENCY, unit_format: str | None = options.FORMAT,
            sealed: bool | None = options.SEALED,
            reason: str = typer.Option(..., "--reason", help="Why the export is needed."),
            now: bool = typer.Option(False, "--now", help=(
                "Build the package at once rather than in the scheduler's next run (not "
                "for a request that waits for approval).")),
            as_json: bool = JSON_OPTION) -> None:
    """Ask for the tenant's units that meet the criteria (those of `hramba search`); exit
    4 if none does. Over exports.max_units, or where the tenant requires it, a second
    person approves first."""
    from hramba.services import export as service
    from hramba.services.search import SearchCriteria

    criteria = SearchCriteria(tenant, date_from and date_from.date(),
                              date_to and date_to.date(), party, number, document_type,
                              direction, amount_min, amount_max, currency, unit_format, sealed)
    archive = state(ctx).archive
    view = service.request_export(archive, criteria, reason)
    if now and view.state == "queued":
        view = service.build_export(archive, view.export_id)
    _render(view, as_json)


@app.command("approve")
def approve(ctx: typer.Context, export_id: int = ID, as_json: bool = JSON_OPTION) -> None:
    """Approve a request that waits for it; not by the account that asked."""
    from hramba.services import export as service

    _render(service.approve_export(state(ctx).archive, export_id), as_json)


@app.command("build")
def build(ctx: typer.Context, export_id: int = ID, as_json: bool = JSON_OPTION) -> None:
    """Build the package now (one that failed, too); the scheduler's exports job does this
    for every export waiting."""
    from hramba.services import export as service

    _render(service.build_export(state(ctx).archive, export_id), as_json)


@app.command("ls")
def ls(ctx: typer.Context,
       tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant."),
       as_json: bool = JSON_OPTION) -> None:
    """The exports of the tenants you serve, newest first."""
    from hramba.services import export as service

    views = service.list_exports(state(ctx).archive, tenant)
    if as_json:
        emit_json([v.as_dict() for v in views])
        return
    for v in views:
        built = (f"{v.units} units, {v.size:,} bytes" if v.size is not None
                 else f"{v.matched} matched")
        typer.echo(f"{v.export_id:>6}  {v.tenant:<10} {v.state:<17} {when(v.requested_at)}  "
                   f"{v.requested_by:<12} {built}")
    if not views:
        typer.echo("no exports")


@app.command("show")
def show(ctx: typer.Context, export_id: int = ID, as_json: bool = JSON_OPTION) -> None:
    """What was asked, by whom, its approval, and its package."""
    from hramba.services import export as service

    _render(service.show_export(state(ctx).archive, export_id), as_json)


@app.command("download")
def download(ctx: typer.Context, export_id: int = ID,
             out: Path = typer.Option(..., "--out", help="Folder for export-ID.zip."),
             as_json: bool = JSON_OPTION) -> None:
    """Write the package (a ZIP of a BagIt bag), its SHA-256 checked as it is written."""
    from hramba.services import export as service

    target = service.download_export(state(ctx).archive, export_id, out)
    if as_json:
        emit_json({"export_id": export_id, "path": str(target)})
    else:
        typer.echo(f"export {export_id} in {target} (unzip it and read README.txt)")


@app.command("link")
def link(ctx: typer.Context, export_id: int = ID,
         days: int | None = typer.Option(None, "--days", min=1, max=7, help=(
             "How long the link works (default exports.link_days).")),
         as_json: bool = JSON_OPTION) -> None:
    """A link to the package for someone without an account: on S3 one that stops working
    after --days; on the embedded store the file in its delivery folder, until the purge.
    Keep it like a password: whoever has it can download."""
    from hramba.services import export as service

    url, expires = service.link_export(state(ctx).archive, export_id, days)
    if as_json:
        emit_json({"export_id": export_id, "url": url, "expires_at": expires.isoformat()})
    else:
        typer.echo(url)
        typer.echo(f"valid until {when(expires)}", err=True)


def _render(view: ExportView, as_json: bool) -> None:
    if as_json:
        emit_json(view.as_dict())
        return
    typer.echo(f"export {view.export_id} of {view.tenant}: {view.state}")
    asked = {k: v for k, v in view.criteria.items() if v not in (None, "") and k != "tenant"}
    typer.echo(f"  criteria: {', '.join(f'{k}={v}' for k, v in asked.items()) or 'all units'}")
    typer.echo(f"  reason: {view.reason}")
    typer.echo(f"  requested by {view.requested_by} at {when(view.requested_at)}; "
               f"{view.matched} units matched")
    if view.needs_approval:
        typer.echo(f"  approved by {view.approved_by} at {when(view.approved_at)}"
                   if view.approved_by else "  waits for approval: hramba export approve "
                                            f"{view.export_id}")
    if view.sha256:
        typer.echo(f"  built at {when(view.built_at)}: {view.units} units, {view.size:,} "
                   f"bytes, sha256 {view.sha256}")
    if view.failure:
        typer.echo(f"  failed: {view.failure}")
    if view.purged_at:
        typer.echo(f"  package purged at {when(view.purged_at)}")
