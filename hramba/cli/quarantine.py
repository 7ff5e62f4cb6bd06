"""hramba quarantine: what intake refused, and the archivist's decisions on it."""

from __future__ import annotations

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state

app = command_group("Refused input: list, release, discard.")
QID = typer.Argument(..., help="Quarantine id, as `hramba quarantine ls` prints it.")


@app.command("ls")
def ls(ctx: typer.Context,
       every: bool = typer.Option(False, "--all", help="Also released and discarded items."),
       as_json: bool = JSON_OPTION) -> None:
    """List quarantined input (held items unless --all: also released, discarded and
    resolved, that is archived by a later intake of the same source or content)."""
    from hramba.services import quarantine as service

    items = service.list_quarantine(state(ctx).archive, None if every else service.HELD)
    if as_json:
        emit_json(items)
        return
    for q in items:
        typer.echo(f"{q['id']}  {q['status']:<9} {q['code']}  {q['tenant'] or '-':<10} "
                   f"{q['source']}: {q['reason']}")


@app.command("release")
def release(ctx: typer.Context, qid: str = QID,
            tenant: str | None = typer.Option(None, "--tenant", help="Budget user code, "
                                              "when the item has none (unknown receiver)."),
            as_json: bool = JSON_OPTION) -> None:
    """Archive the item as intake reads it (its parts and metadata; as received, as one
    document, where intake cannot read it), as one unit carrying the finding; content
    already archived is not archived again."""
    from hramba.services import quarantine as service

    unit_id = service.release(state(ctx).archive, qid, tenant)
    if as_json:
        emit_json({"id": qid, "status": service.RELEASED, "unit_id": unit_id})
    else:
        typer.echo(f"released {qid}: unit {unit_id}")


@app.command("discard")
def discard(ctx: typer.Context, qid: str = QID,
            reason: str = typer.Option(..., "--reason", help="Why it is discarded."),
            as_json: bool = JSON_OPTION) -> None:
    """Delete the item's bytes; the record of what was refused and why stays."""
    from hramba.services import quarantine as service

    service.discard(state(ctx).archive, qid, reason)
    if as_json:
        emit_json({"id": qid, "status": service.DISCARDED})
    else:
        typer.echo(f"discarded {qid}")
