"""hramba tenant: register and list budget users."""

from __future__ import annotations

from datetime import datetime

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state

app = command_group("Budget users (tenants): register and list.")


@app.command("add")
def add(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="Budget user code (šifra PU)."),
    tax_number: str = typer.Option(..., "--tax-number", help="SI followed by 8 digits."),
    name: str = typer.Option(..., "--name", help="Official name."),
    env: str = typer.Option("production", "--env", help="test or production."),
    accession: datetime | None = typer.Option(
        None, "--accession-date", formats=["%Y-%m-%d"],
        help="When the budget user joined the archive (default: today)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Register a budget user."""
    from hramba.services import tenants

    new = tenants.NewTenant(code, tax_number, name, env,
                            accession.date() if accession else None)
    tenant = tenants.add_tenant(state(ctx).archive, new)
    if as_json:
        emit_json(tenant)
    else:
        typer.echo(f"registered {tenant['code']} {tenant['tax_number']} {tenant['name']} "
                   f"({tenant['environment']})")


@app.command("list")
def list_(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List budget users."""
    from hramba.services import tenants

    rows = tenants.list_tenants(state(ctx).archive)
    if as_json:
        emit_json(rows)
        return
    for t in rows:
        typer.echo(f"{t['code']:<12} {t['tax_number']:<11} {t['environment']:<10} "
                   f"{t['accession_date']}  {t['name']}")
