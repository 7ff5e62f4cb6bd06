"""hramba db: schema migrations."""

from __future__ import annotations

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state

app = command_group("Database schema.")


@app.command("upgrade")
def upgrade(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Apply every pending migration (safe to run again)."""
    from hramba.wiring import upgrade_database

    revision = upgrade_database(state(ctx).settings)
    if as_json:
        emit_json({"revision": revision})
    else:
        typer.echo(f"database at revision {revision}")
