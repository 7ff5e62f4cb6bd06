"""hramba dispose: propose, approve (another account), execute, certify."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from hramba.cli.common import JSON_OPTION, command_group, counted, emit_json, state
from hramba.cli.errors import ProblemsFound
from hramba.cli.progress import progress_bar
from hramba.cli.retention import AS_OF_OPTION, as_of_moment

app = command_group("Approved disposal of units whose retention has run out.")
ID = typer.Argument(..., help="Disposal id, as `dispose propose` printed it.")


@app.command("propose")
def propose(ctx: typer.Context,
            tenant: str = typer.Option(..., "--tenant", help="Budget user code."),
            as_of: datetime | None = AS_OF_OPTION,
            instruction: str = typer.Option(..., "--instruction", help=(
                "Reference of the archive's written instruction that allows destruction.")),
            as_json: bool = JSON_OPTION) -> None:
    """List the tenant's due units (sealed, classified, not held) in a numbered proposal."""
    from hramba.services import disposal as service

    result = service.propose(state(ctx).archive, tenant, instruction=instruction,
                             as_of=as_of_moment(as_of))
    _render(result, as_json)


@app.command("approve")
def approve(ctx: typer.Context, disposal_id: int = ID,
            as_json: bool = JSON_OPTION) -> None:
    """Approve a proposal; the approving account must not be the proposing one."""
    from hramba.services import disposal as service

    _render(service.approve(state(ctx).archive, disposal_id), as_json)


@app.command("cancel")
def cancel(ctx: typer.Context, disposal_id: int = ID,
           reason: str = typer.Option(..., "--reason", help="Why (recorded in the audit log)."),
           as_json: bool = JSON_OPTION) -> None:
    """Withdraw, or refuse to approve, an open proposal; its units may be proposed again."""
    from hramba.services import disposal as service

    _render(service.cancel(state(ctx).archive, disposal_id, reason=reason), as_json)


@app.command("execute")
def execute(ctx: typer.Context, disposal_id: int = ID, as_json: bool = JSON_OPTION) -> None:
    """Delete the listed units' objects where storage allows; write the certificate.
    Exit 1 if any unit was skipped (held, or still retained by storage)."""
    from hramba.services import disposal as service

    archive = state(ctx).archive
    with progress_bar("disposing", unit="units", enabled=not as_json) as progress:
        result = service.execute(archive, disposal_id, progress=progress)
    _render(result, as_json)
    if any(u["state"] != "disposed" for u in result["units"]):
        raise ProblemsFound()


@app.command("show")
def show(ctx: typer.Context, disposal_id: int = ID, as_json: bool = JSON_OPTION) -> None:
    """One disposal: its decisions, units and certificate."""
    from hramba.services import disposal as service

    _render(service.show(state(ctx).archive, disposal_id), as_json)


@app.command("ls")
def ls(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """Every disposal and its status."""
    from hramba.services import disposal as service

    rows = service.list_disposals(state(ctx).archive)
    if as_json:
        emit_json(rows)
        return
    for d in rows:
        typer.echo(_headline(d))


@app.command("certificate")
def certificate(ctx: typer.Context, disposal_id: int = ID,
                out: Path = typer.Option(..., "--out", help="Folder to write into."),
                as_json: bool = JSON_OPTION) -> None:
    """Write the destruction certificate (JSON, and the signed zapisnik as PDF) and, once
    sealed, its Evidence Record."""
    from hramba.services import disposal as service

    written = service.certificate_files(state(ctx).archive, disposal_id, out)
    sealed = any(p.suffix == ".ers" for p in written)
    if as_json:
        emit_json({"written": [str(p) for p in written], "sealed": sealed})
        return
    typer.echo("\n".join(str(p) for p in written))
    if not sealed:
        typer.echo("not sealed yet: run `hramba seal`, then write it again")


def _render(d: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(d)
        return
    typer.echo(_headline(d))
    for u in d["units"]:
        doc = u["document"]
        typer.echo(f"  {u['unit_id']}  {u['state']:<9} {doc['invoice_number'] or '-'} issued "
                   f"{doc['issue_date'] or '-'} by {doc['seller_vat'] or '-'}, until "
                   f"{u['retain_until'][:10]} ({u['policy']})"
                   + (f": {u['detail']}" if u["detail"] else ""))
    for why, n in d.get("left_out", {}).items():
        typer.echo(f"  left out: {n} {why}")


def _headline(d: dict[str, Any]) -> str:
    steps = [f"proposed by {d['proposed_by']}"]
    if d["approved_by"]:
        steps.append(f"approved by {d['approved_by']}")
    if d["executed_at"]:
        steps.append(f"executed {d['executed_at'][:10]}")
    if d["cancelled"]:
        steps.append(f"cancelled by {d['cancelled']['by']}: {d['cancelled']['reason']}")
    if d["certificate_sha256"]:
        steps.append(f"certificate sha256:{d['certificate_sha256'][:16]}..."
                     + (f" sealed in batch {d['sealed_in_batch']}" if d["sealed_in_batch"]
                        else " (not sealed yet)"))
    return (f"disposal {d['id']} of {d['tenant']}: {d['status'].upper()}, "
            f"{counted(len(d['units']), 'unit')}, instruction {d['instruction']}; "
            + ", ".join(steps))
