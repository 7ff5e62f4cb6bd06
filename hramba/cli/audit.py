"""hramba audit: the tamper-evident audit log."""

from __future__ import annotations

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_report, state

app = command_group("The audit log.")


@app.command("verify")
def verify(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Check the hash chain of every audit event; exit 1 if it is broken."""
    from hramba.services import audit

    emit_report(audit.verify_chain(state(ctx).archive), as_json)
