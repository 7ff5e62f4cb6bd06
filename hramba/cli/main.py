"""Entry point: global options, command groups, and errors mapped to exit codes."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from hramba import __version__
from hramba.cli import (
    audit,
    db,
    demo,
    dispose,
    evidence,
    export,
    hold,
    ingest,
    migrate,
    quarantine,
    report,
    retention,
    scheduler,
    search,
    serve,
    tenant,
    user,
)
from hramba.cli.common import (
    JSON_OPTION,
    State,
    emit_json,
    emit_report,
    invoice_columns,
    state,
    when,
)
from hramba.cli.errors import exit_with

app = typer.Typer(
    name="hramba", no_args_is_help=True, rich_markup_mode=None,  # see command_group
    pretty_exceptions_enable=False, add_completion=False,
    help="e-hramba: long-term archive of e-invoices for budget users.\n\n"
         "Exit codes: 0 ok, 1 problems found, 2 usage, 3 configuration, 4 not found, "
         "5 conflict, 6 rejected input, 7 integrity violation, 8 not permitted, "
         "70 internal error, "
         "75 service unavailable (retry later).")
app.add_typer(db.app, name="db")
app.add_typer(tenant.app, name="tenant")
app.add_typer(user.app, name="user")
app.add_typer(ingest.app, name="ingest")
app.add_typer(audit.app, name="audit")
app.add_typer(evidence.app, name="evidence")
app.add_typer(quarantine.app, name="quarantine")
app.add_typer(migrate.app, name="migrate")
app.add_typer(retention.app, name="retention")
app.add_typer(hold.app, name="hold")
app.add_typer(dispose.app, name="dispose")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(export.app, name="export")
app.add_typer(report.app, name="report")
app.command("demo")(demo.demo)
app.command("seal")(evidence.seal)
app.command("verify")(evidence.verify)
app.command("verify-evidence")(evidence.verify_evidence)
app.command("search")(search.search)
app.command("serve")(serve.serve)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"hramba {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: str | None = typer.Option(None, "--config", envvar="HRAMBA_CONFIG",
                                      help="TOML settings file."),
    home: str | None = typer.Option(None, "--home", envvar="HRAMBA_HOME",
                                    help="Data directory (default ./hramba-data)."),
    login: str | None = typer.Option(
        None, "--login", envvar="HRAMBA_LOGIN",
        help="Act as this account; its password comes from $HRAMBA_PASSWORD or is asked for. "
             "Without it: the account of the API token in $HRAMBA_TOKEN, else the account "
             "mapped to the OS user."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
    verbose: bool = typer.Option(False, "--verbose", help="On an error, print the traceback "
                                 "too (for a bug report)."),  # read by run(), see there
) -> None:
    ctx.obj = State(config, home, login)


@app.command("init")
def init(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Create the data directory, migrate the database and the bucket (idempotent)."""
    from hramba.wiring import describe_signing, describe_tsa, init_archive

    settings = state(ctx).settings
    archive = init_archive(settings, credentials=state(ctx).credentials())
    ready = {"home": str(settings.home), "database": settings.public()["database_url"],
             "objects": archive.store.description, "tsa": describe_tsa(settings),
             "signing": describe_signing(settings), "account": archive.principal.describe()}
    if as_json:
        emit_json(ready)
    else:
        typer.echo("archive ready\n" + "\n".join(f"  {k:<9} {v}" for k, v in ready.items()))


@app.command("ls")
def ls(ctx: typer.Context,
       tenant_code: str | None = typer.Option(None, "--tenant", help="Only this tenant."),
       limit: int | None = typer.Option(None, "--limit", help="At most this many units."),
       as_json: bool = JSON_OPTION) -> None:
    """List archived units, oldest first."""
    from hramba.services import units

    rows = units.list_units(state(ctx).archive, tenant_code, limit)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        invoice = invoice_columns(r["issue_date"], r["invoice_number"], r["counterparty"],
                                  r["payable_amount"], r["currency"])
        typer.echo(f"{r['unit_id']}  {r['tenant']:<10} {when(r['received_at'])}  {invoice}  "
                   f"{r['format']:<7}"
                   f"{'  (disposed of)' if r['disposed'] else ''}")


UNIT_ID = typer.Argument(..., help="Unit id, as `hramba ls` prints it.")


@app.command("show")
def show(ctx: typer.Context, unit_id: str = UNIT_ID, as_json: bool = JSON_OPTION) -> None:
    """Show one unit: sealing, the invoice's metadata, retention, files, digests, findings."""
    from hramba.services import units

    unit = units.show_unit(state(ctx).archive, unit_id)
    if as_json:
        emit_json(unit)
        return
    typer.echo(f"unit {unit['unit_id']} of {unit['tenant']}, received {when(unit['received_at'])}")
    if unit["direction"]:
        typer.echo(f"  {unit['direction']}: {'to' if unit['direction'] == 'issued' else 'from'} "
                   f"{unit['counterparty']}")
    sealed = unit["sealed"]
    typer.echo(f"  sealed in batch {sealed['batch']} at {when(sealed['sealed_at'])}" if sealed
               else "  not sealed yet (hramba seal)")
    for key, value in unit["metadata"].items():
        if value not in (None, "", []):
            typer.echo(f"  {key:<18} {value}")
    r = unit["retention"]
    typer.echo(f"  retain until {r['retain_until']} under {r['policy']} (from {r['basis']} "
               f"{r['trigger_date']}){', LEGAL HOLD' if r['legal_hold'] else ''}"
               f"{', TO CLASSIFY' if r['needs_classification'] else ''}")
    if r["disposed_at"]:
        typer.echo(f"  DISPOSED of on {r['disposed_at']} (disposal {r['disposal']}): "
                   "only this tombstone remains")
    for f in unit["files"]:
        typer.echo(f"  {f['role']:<10} {f['size']:>10}  sha256:{f['sha256']}  {f['name']}")
    for finding in unit["findings"]:
        typer.echo(f"  finding {finding['code']}: {finding['detail']}")


@app.command("get")
def get(ctx: typer.Context, unit_id: str = UNIT_ID,
        out: Path = typer.Option(..., "--out", help="Folder to write the files into."),
        as_json: bool = JSON_OPTION) -> None:
    """Write a unit's files back out, byte-identical (each digest checked)."""
    from hramba.services import units

    written = [str(p) for p in units.get_unit(state(ctx).archive, unit_id, out)]
    if as_json:
        emit_json({"unit_id": unit_id, "written": written})
    else:
        typer.echo("\n".join(written))


@app.command("fixity")
def fixity_(ctx: typer.Context,
            tenant_code: str | None = typer.Option(None, "--tenant", help="Only this tenant."),
            as_json: bool = JSON_OPTION) -> None:
    """Re-hash every stored object; report missing, changed and orphan objects (exit 1)."""
    from hramba.cli.progress import progress_bar
    from hramba.services import fixity

    archive = state(ctx).archive
    with progress_bar("checking fixity", unit="objects", enabled=not as_json) as progress:
        report = fixity.run_fixity(archive, tenant_code, progress=progress)
    emit_report(report, as_json)


def run() -> None:
    """Console-script entry point: any error becomes one line and its exit code."""
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - the one place that maps errors to exit codes
        # From argv, not the parsed option: the error may come before the option is parsed.
        exit_with(exc, verbose="--verbose" in sys.argv[1:])
