"""hramba hold: legal holds that freeze disposal, mirrored to storage."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from hramba.cli.common import JSON_OPTION, command_group, counted, emit_json, state

app = command_group("Legal holds: add, release, list.")
REASON = typer.Option(..., "--reason", help="Why (recorded in the audit log).")
DATE = ["%Y-%m-%d"]


@app.command("add")
def add(ctx: typer.Context,
        unit_id: str | None = typer.Option(None, "--unit", help="Hold one unit."),
        tenant: str | None = typer.Option(None, "--tenant", help="Hold a budget user's units."),
        from_date: datetime | None = typer.Option(None, "--from", formats=DATE, help=(
            "With --tenant: only units whose issue (else receipt) date is on or after.")),
        to_date: datetime | None = typer.Option(None, "--to", formats=DATE,
                                                help="With --tenant: ... on or before."),
        reason: str = REASON, as_json: bool = JSON_OPTION) -> None:
    """Freeze disposal of a unit or of a tenant's units, whatever the policy says."""
    from hramba.services import holds as service

    hold = service.add_hold(state(ctx).archive, reason=reason, unit_id=unit_id,
                            tenant=tenant, from_date=from_date.date() if from_date else None,
                            to_date=to_date.date() if to_date else None)
    _render(hold, as_json)


@app.command("release")
def release(ctx: typer.Context,
            hold_id: int = typer.Argument(..., help="Hold id, as `hramba hold ls` prints it."),
            reason: str = REASON, as_json: bool = JSON_OPTION) -> None:
    """Release a hold; storage holds come off units no other hold covers."""
    from hramba.services import holds as service

    _render(service.release_hold(state(ctx).archive, hold_id, reason=reason), as_json)


@app.command("ls")
def ls(ctx: typer.Context,
       every: bool = typer.Option(False, "--all", help="Also released holds."),
       as_json: bool = JSON_OPTION) -> None:
    """List holds (active ones unless --all)."""
    from hramba.services import holds as service

    rows = service.list_holds(state(ctx).archive, include_released=every)
    if as_json:
        emit_json(rows)
        return
    for h in rows:
        typer.echo(_line(h))


def _render(hold: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(hold)
    else:
        typer.echo(_line(hold))


def _line(h: dict[str, Any]) -> str:
    scope = (f"unit {h['unit_id']}" if h["unit_id"] else
             f"tenant {h['tenant']} {h['from'] or '...'} to {h['to'] or '...'}")
    state_ = (f"released {h['released_at'][:10]} by {h['released_by']}" if h["released_at"]
              else "ACTIVE")
    return (f"hold {h['id']}: {scope}, {counted(h['units'], 'unit')}, {state_}; by {h['by']} "
            f"{h['created_at'][:10]}: {h['reason']}")
