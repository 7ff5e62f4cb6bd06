"""hramba tenant: register, list, show, change and offboard budget users."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state, when

if TYPE_CHECKING:
    from hramba.services.tenants import TenantInfo

app = command_group("Budget users (tenants): register, list, show, change, offboard.")

CODE = typer.Argument(..., help="Budget user code (šifra PU).")
ADDRESS = typer.Option(None, "--address", help="Postal address, for the certificates.")
RESPONSIBLE = typer.Option(None, "--responsible", help=(
    "The person who answers for its records (named in destruction and purge "
    "certificates)."))
CONTACT = typer.Option(None, "--contact", help=(
    "E-mail address that is told of each step of a provider hand-over."))


@app.command("add")
def add(
    ctx: typer.Context,
    code: str = CODE,
    tax_number: str = typer.Option(..., "--tax-number", help="SI followed by 8 digits."),
    name: str = typer.Option(..., "--name", help="Official name."),
    env: str = typer.Option("production", "--env",
                            help="test or production; it never changes afterwards."),
    accession: datetime | None = typer.Option(
        None, "--accession-date", formats=["%Y-%m-%d"],
        help="When the budget user joined the archive (default: today)."),
    address: str | None = ADDRESS,
    responsible: str | None = RESPONSIBLE,
    contact: str | None = CONTACT,
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a budget user."""
    from hramba.services import tenants

    new = tenants.NewTenant(code, tax_number, name, env,
                            accession.date() if accession else None, address, responsible,
                            contact)
    _render(tenants.add_tenant(state(ctx).archive, new), as_json, "registered")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List budget users."""
    from hramba.services import tenants

    rows = tenants.list_tenants(state(ctx).archive)
    if as_json:
        emit_json([t.as_dict() for t in rows])
        return
    for t in rows:
        typer.echo(f"{t.code:<12} {t.tax_number:<11} {t.environment:<10} "
                   f"{t.accession_date}  {t.name}"
                   + ("  (offboarded)" if t.offboarded_at else ""))


@app.command("show")
def show(ctx: typer.Context, code: str = CODE, as_json: bool = JSON_OPTION) -> None:
    """Show one budget user: codes, tax number, environment, offboarding."""
    from hramba.services import tenants

    tenant = tenants.show_tenant(state(ctx).archive, code)
    if as_json:
        emit_json(tenant.as_dict())
        return
    for label, value in (("code", tenant.code), ("name", tenant.name),
                         ("tax number", tenant.tax_number),
                         ("environment", tenant.environment),
                         ("accession", tenant.accession_date),
                         ("address", tenant.address or "-"),
                         ("responsible", tenant.responsible or "-"),
                         ("contact", tenant.contact or "-"),
                         ("former codes", ", ".join(tenant.former_codes) or "-"),
                         ("offboarded", _offboarded(tenant)),
                         ("exports", "need approval" if tenant.exports_need_approval
                          else "no approval needed")):
        typer.echo(f"{label + ':':<13} {value}")


@app.command("update")
def update(
    ctx: typer.Context,
    code: str = CODE,
    name: str | None = typer.Option(None, "--name", help="New official name."),
    new_code: str | None = typer.Option(None, "--code", help="New code; the old one is kept "
                                        "as a former code."),
    tax_number: str | None = typer.Option(None, "--tax-number", help="New tax number."),
    export_approval: bool | None = typer.Option(
        None, "--export-approval/--no-export-approval",
        help="Whether its retrieval exports wait for a second person's approval."),
    address: str | None = ADDRESS,
    responsible: str | None = RESPONSIBLE,
    contact: str | None = CONTACT,
    env: str | None = typer.Option(None, "--env", hidden=True),
    as_json: bool = JSON_OPTION,
) -> None:
    """Change a budget user's name, code, tax number, address, responsible person or
    contact (never its environment), or whether its exports need approval."""
    from hramba.core.errors import RejectedInput
    from hramba.services import tenants

    if env is not None:
        raise RejectedInput("a tenant's environment never changes (--env): register a "
                            "production tenant of its own, with its own code")
    change = tenants.TenantChange(new_code, name, tax_number, export_approval, address,
                                  responsible, contact)
    _render(tenants.update_tenant(state(ctx).archive, code, change), as_json, "updated")


@app.command("offboard")
def offboard(
    ctx: typer.Context,
    code: str = CODE,
    reason: str = typer.Option(..., "--reason", help="Why (recorded, and given to every "
                                                     "refused intake)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Stop new intake for a budget user; its holdings stay."""
    from hramba.services import tenants

    _render(tenants.offboard_tenant(state(ctx).archive, code, reason), as_json, "offboarded")


def _render(tenant: TenantInfo, as_json: bool, verb: str) -> None:
    if as_json:
        emit_json(tenant.as_dict())
    else:
        typer.echo(f"{verb} {tenant.code} {tenant.tax_number} {tenant.name} "
                   f"({tenant.environment})")


def _offboarded(tenant: TenantInfo) -> str:
    if tenant.offboarded_at is None:
        return "no"
    return f"{when(tenant.offboarded_at)}: {tenant.offboard_reason}"
