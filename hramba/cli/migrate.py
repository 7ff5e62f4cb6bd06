"""hramba migrate: bulk transfer from a previous provider's SFTP export."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state
from hramba.cli.errors import ProblemsFound
from hramba.cli.progress import progress_bar

app = command_group("Bulk migration from a previous provider.")
sftp_app = command_group("Migrate over SFTP.")
app.add_typer(sftp_app, name="sftp")
ID = typer.Argument(..., help="Migration id, as `migrate sftp start` printed it.")


@sftp_app.command("start")
def start(
    ctx: typer.Context,
    tenant: str = typer.Option(..., "--tenant", help="Budget user code."),
    host: str = typer.Option(..., "--host", help="SFTP server."),
    port: int = typer.Option(22, "--port", help="SFTP port."),
    user: str = typer.Option(..., "--user", help="SFTP user."),
    key: Path = typer.Option(..., "--key", help="Private key file."),
    known_hosts: Path = typer.Option(..., "--known-hosts", help="known_hosts file that "
                                     "must already hold the server's host key."),
    remote_path: str = typer.Option(..., "--remote-path", help="Folder of the export."),
    manifest: str | None = typer.Option(None, "--manifest", help="The provider's manifest "
                                        "in that folder: CSV path,size,sha256 or BagIt "
                                        "manifest-sha256.txt."),
    parallel: int = typer.Option(4, "--parallel", min=1, max=32, help="SFTP channels."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Transfer, check and archive every file of the export (resumes an unfinished one)."""
    from hramba.services.migrate import Remote, start_sftp
    from ingest.sftp import Endpoint

    remote = Remote(Endpoint(host, port, user, key, known_hosts), remote_path, manifest)
    archive = state(ctx).archive
    with progress_bar("migrating", unit="files", enabled=not as_json) as progress:
        current = start_sftp(archive, tenant, remote, parallel, progress=progress)
    _render(current, as_json)
    if current["mismatched"] or current["missing"]:
        raise ProblemsFound()  # the export is not what its manifest says: exit 1


@app.command("ls")
def ls(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List the migrations of the tenants you serve, newest first."""
    from hramba.services.migrate import list_migrations

    found = list_migrations(state(ctx).archive)
    if as_json:
        emit_json(found)
        return
    for m in found:
        state_now = ("purged" if m["purged_at"] else "confirmed" if m["confirmed_at"]
                     else "awaiting confirmation")
        typer.echo(f"{m['id']:>5}  {m['tenant']:<10} {m['archived']:>7} archived "
                   f"{m['mismatched'] + m['missing']:>5} problems  {state_now:<22} "
                   f"{m['remote']}")


@app.command("status")
def status(ctx: typer.Context, migration_id: int = ID, as_json: bool = JSON_OPTION) -> None:
    """Expected, transferred, archived, duplicate, quarantined, mismatched, missing; bytes."""
    from hramba.services.migrate import status as migration_status

    _render(migration_status(state(ctx).archive, migration_id), as_json)


@app.command("report")
def report(ctx: typer.Context, migration_id: int = ID,
           out: Path = typer.Option(..., "--out", help="File to write."),
           fmt: str = typer.Option("csv", "--format", help="csv or json.")) -> None:
    """Write the reconciliation: one row per file with its outcome and digests."""
    from hramba.services.migrate import report as migration_report

    rows = migration_report(state(ctx).archive, migration_id)
    if fmt == "json":
        out.write_text(json.dumps(rows, indent=1), "utf-8")
    elif fmt == "csv":
        with out.open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]) if rows else ["path"])
            writer.writeheader()
            writer.writerows(rows)
    else:
        raise typer.BadParameter("--format must be csv or json")
    typer.echo(f"{len(rows)} files reported in {out}")


@app.command("confirm")
def confirm(ctx: typer.Context, migration_id: int = ID,
            accept_gaps: str | None = typer.Option(None, "--accept-gaps", help="Confirm "
                                                   "despite unresolved files, with why."),
            purge_remote: bool = typer.Option(False, "--purge-remote", help=(
                "At the staging purge, also delete the archived files from the provider's "
                "folder (over SFTP, with the migration's key and known_hosts).")),
            as_json: bool = JSON_OPTION) -> None:
    """Record the budget user's confirmation (the acting account's: the budget user or an
    archivist for it); the staging area is purged 60 days later."""
    from hramba.services.migrate import confirm as confirm_migration

    _render(confirm_migration(state(ctx).archive, migration_id, accept_gaps, purge_remote),
            as_json)


@app.command("certificate")
def certificate(ctx: typer.Context, migration_id: int = ID,
                out: Path = typer.Option(..., "--out", help="Folder to write into.")) -> None:
    """Write the signed certificate of the migration's staging purge (PDF, its JSON
    attached), once the retention job has purged the staging area."""
    from hramba.services.purge import staging_certificate

    typer.echo(staging_certificate(state(ctx).archive, migration_id, out))


def _render(current: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(current)
        return
    typer.echo(f"migration {current['id']} of {current['tenant']} from {current['remote']}")
    for key in ("expected", "transferred", "archived", "duplicate", "quarantined",
                "mismatched", "missing", "pending", "bytes", "bytes_per_second",
                "confirmed_at", "purge_due_at", "purged_at", "purge_remote"):
        typer.echo(f"  {key:<17} {current[key]}")
