"""hramba migrate: bulk transfer from a previous provider's SFTP export."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state
from hramba.cli.errors import ProblemsFound
from hramba.cli.progress import progress_bar

app = command_group("Bulk migration from a previous provider: stage, confirm, import.")
sftp_app = command_group("Migrate over SFTP.")
app.add_typer(sftp_app, name="sftp")
ID = typer.Argument(..., help="Migration id, as `migrate sftp start` printed it.")


TENANT = typer.Option(..., "--tenant", help="Budget user code.")
HOST = typer.Option(..., "--host", help="SFTP server.")
PORT = typer.Option(22, "--port", help="SFTP port.")
USER = typer.Option(..., "--user", help="SFTP user.")
KEY = typer.Option(..., "--key", help="Private key file.")
KNOWN_HOSTS = typer.Option(..., "--known-hosts", help="known_hosts file that must already "
                           "hold the server's host key.")
REMOTE_PATH = typer.Option(..., "--remote-path", help="Folder of the export.")
MANIFEST = typer.Option(None, "--manifest", help="The provider's manifest in that folder: "
                        "CSV path,size,sha256[,received_at] or BagIt manifest-sha256.txt.")
PARALLEL = typer.Option(4, "--parallel", min=1, max=32, help="Parallel transfers.")


@sftp_app.command("stage")
def sftp_stage(ctx: typer.Context, tenant: str = TENANT, host: str = HOST, port: int = PORT,
               user: str = USER, key: Path = KEY, known_hosts: Path = KNOWN_HOSTS,
               remote_path: str = REMOTE_PATH, manifest: str | None = MANIFEST,
               parallel: int = PARALLEL, as_json: bool = JSON_OPTION) -> None:
    """Transfer the export into staging and check it against its manifest, archiving
    nothing: the budget user reviews it and confirms (`migrate confirm`), then
    `migrate import` archives it. Resumes an unfinished one."""
    from hramba.services.migrate import Remote, stage
    from ingest.sftp import Endpoint

    remote = Remote(Endpoint(host, port, user, key, known_hosts), remote_path, manifest)
    _run(ctx, partial(stage, tenant=tenant, export=remote, parallel=parallel), as_json)


@sftp_app.command("start")
def sftp_start(ctx: typer.Context, tenant: str = TENANT, host: str = HOST, port: int = PORT,
               user: str = USER, key: Path = KEY, known_hosts: Path = KNOWN_HOSTS,
               remote_path: str = REMOTE_PATH, manifest: str | None = MANIFEST,
               parallel: int = PARALLEL, as_json: bool = JSON_OPTION) -> None:
    """In one step (an archivist's, recorded as such): transfer, check and archive every
    file of the export, without waiting for the budget user's confirmation."""
    from hramba.services.migrate import Remote, stage_and_import
    from ingest.sftp import Endpoint

    remote = Remote(Endpoint(host, port, user, key, known_hosts), remote_path, manifest)
    _run(ctx, partial(stage_and_import, tenant=tenant, export=remote, parallel=parallel), as_json)


@app.command("dir")
def dir_(ctx: typer.Context,
         path: Path = typer.Argument(..., help="The export's folder (a USB disk, say)."),
         tenant: str = TENANT,
         manifest: Path | None = typer.Option(None, "--manifest", help="The provider's "
                                               "manifest file (in the folder or beside it)."),
         one_step: bool = typer.Option(False, "--one-step", help="Also archive it now, "
                                       "without the budget user's confirmation first."),
         parallel: int = PARALLEL, as_json: bool = JSON_OPTION) -> None:
    """Stage an export delivered on another medium, with the same checks, records and
    purge as over SFTP (with --one-step: and import it)."""
    from hramba.services.migrate import Medium, stage, stage_and_import

    run = stage_and_import if one_step else stage
    _run(ctx, partial(run, tenant=tenant, export=Medium(path, manifest), parallel=parallel),
         as_json)


@app.command("import")
def import_(ctx: typer.Context, migration_id: int = ID, as_json: bool = JSON_OPTION) -> None:
    """Archive a staged export that the budget user confirmed; its staging area is purged
    60 days later."""
    from hramba.services.migrate import import_staged

    with progress_bar("importing", unit="files", enabled=not as_json) as progress:
        _render(import_staged(state(ctx).archive, migration_id, progress=progress), as_json)


def _run(ctx: typer.Context, step: Callable[..., dict[str, Any]], as_json: bool) -> None:
    """A staging run with its progress; exit 1 when the export is not what its manifest
    says (mismatched or missing files)."""
    with progress_bar("transferring", unit="files", enabled=not as_json) as progress:
        current = step(state(ctx).archive, progress=progress)
    _render(current, as_json)
    if current["mismatched"] or current["missing"]:
        raise ProblemsFound()


@app.command("ls")
def ls(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """List the migrations of the tenants you serve, newest first."""
    from hramba.services.migrate import list_migrations

    found = list_migrations(state(ctx).archive)
    if as_json:
        emit_json(found)
        return
    for m in found:
        typer.echo(f"{m['id']:>5}  {m['tenant']:<10} {m['transferred']:>7} transferred "
                   f"{m['archived']:>7} archived {m['mismatched'] + m['missing']:>5} problems  "
                   f"{m['step']:<22} {m['remote']}")


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
                                                   "despite mismatched or missing files, "
                                                   "with why."),
            written_word: str | None = typer.Option(None, "--written-word", help=(
                "For an archivist confirming for the budget user: its written confirmation "
                "(which letter or message).")),
            purge_remote: bool = typer.Option(False, "--purge-remote", help=(
                "At the staging purge, also delete the archived files from the provider's "
                "folder (over SFTP, with the migration's key and known_hosts).")),
            as_json: bool = JSON_OPTION) -> None:
    """Record the budget user's confirmation that the staged export is adequate (by the
    budget user, or by an archivist on its written word); then `migrate import`."""
    from hramba.services.migrate import confirm as confirm_migration

    _render(confirm_migration(state(ctx).archive, migration_id, accept_gaps, purge_remote,
                              written_word), as_json)


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
    for key in ("step", "expected", "transferred", "staged", "archived", "duplicate", "quarantined",
                "mismatched", "missing", "pending", "bytes", "bytes_per_second", "staged_at",
                "confirmed_at", "confirmed_by", "written_word", "imported_at", "imported_by",
                "purge_due_at", "purged_at", "purge_remote"):
        typer.echo(f"  {key:<17} {current[key]}")
