"""hramba audit: the tamper-evident audit log."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, emit_report, state, when

if TYPE_CHECKING:
    from hramba.services.audit import EventCriteria, LoggedEvent

app = command_group("The audit log.")


@app.command("verify")
def verify(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Check the hash chain of every audit event, each batch's anchor and the stored head;
    exit 1 if it is broken or cut back."""
    from hramba.services import audit

    emit_report(audit.verify_chain(state(ctx).archive), as_json)


@app.command("log")
def log(ctx: typer.Context,
        unit: str | None = typer.Option(None, "--unit", help="Only events about this unit."),
        actor: str | None = typer.Option(None, "--actor", help="Only this account's events."),
        tenant: str | None = typer.Option(None, "--tenant", help="Only this tenant's events."),
        since: datetime | None = typer.Option(
            None, "--since", formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"],
            help="Only events at or after this moment, UTC."),
        after: int = typer.Option(0, "--after", min=0, metavar="SEQ",
                                  help="Only events after this one (the next page)."),
        limit: int = typer.Option(100, "--limit", min=1, max=10_000,
                                  help="At most this many events."),
        as_json: bool = JSON_OPTION) -> None:
    """List audit events, oldest first, a page at a time (reading the log is an event)."""
    from hramba.services.audit import EventCriteria, list_events

    utc = since.replace(tzinfo=UTC) if since and since.tzinfo is None else since
    criteria = EventCriteria(unit, actor, tenant, utc, after, limit)
    page = list_events(state(ctx).archive, criteria)
    if as_json:
        emit_json(page.as_dict())
        return
    for event in page.events:
        typer.echo(_line(event))
    if page.next_after is not None:
        typer.echo(f"next page: {_next_page(criteria, page.next_after)}")


def _line(event: LoggedEvent) -> str:
    details = json.dumps(event.details, ensure_ascii=False, sort_keys=True, default=str)
    return (f"{event.seq:>8}  {when(event.occurred_at)}  {event.actor:<12} "
            f"{event.action:<20} {event.premis_type or '-':<26} {event.subject}  "
            f"tenant {event.tenant or '-'}  {details}")


def _next_page(criteria: EventCriteria, after: int) -> str:
    """The same command with --after moved on: the next page."""
    options = [("--unit", criteria.unit), ("--actor", criteria.actor),
               ("--tenant", criteria.tenant),
               ("--since", criteria.since and criteria.since.strftime("%Y-%m-%dT%H:%M:%S")),
               ("--after", after), ("--limit", criteria.limit)]
    return "hramba audit log " + " ".join(f"{name} {shlex.quote(str(value))}"
                                          for name, value in options if value is not None)
