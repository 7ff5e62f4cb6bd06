"""hramba retention: what falls due and when, reclassification, purge records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state, when

app = command_group("Retention policies: plan, classify, purge records.")
DATE = ["%Y-%m-%d"]


AS_OF_OPTION = typer.Option(None, "--as-of", formats=DATE,
                            help="Judge as of the end of this day (Ljubljana); default now.")


def as_of_moment(day: datetime | None) -> datetime | None:
    from hramba.domain.retention import end_of_day

    return end_of_day(day.date()) if day else None


@app.command("plan")
def plan(ctx: typer.Context,
         tenant: str | None = typer.Option(None, "--tenant", help="Only this budget user."),
         as_of: datetime | None = AS_OF_OPTION, as_json: bool = JSON_OPTION) -> None:
    """What falls due, when, under which policy, and what is held."""
    from hramba.services import retention as service

    result = service.plan(state(ctx).archive, tenant, as_of_moment(as_of))
    if as_json:
        emit_json(result)
        return
    for line in render_plan(result):
        typer.echo(line)


def render_plan(p: dict[str, Any]) -> list[str]:
    units = p["units"]
    lines = [f"retention plan as of {when(p['as_of'], 'minutes')}: {units['total']} units kept, "
             f"{len(units['due'])} due, {units['held_total']} held, "
             f"{units['needs_classification']} to classify"]
    lines += [f"  due   {u['unit_id']} {u['tenant']:<10} {u['policy']:<28} until "
              f"{u['retain_until'][:10]} (from {u['basis']} {u['trigger_date']})"
              for u in units["due"]]
    lines += [f"  held  {u['unit_id']} {u['tenant']:<10} {u['policy']:<28} until "
              f"{u['retain_until'][:10]}" for u in units["held"]]
    lines += [f"  later {u['year']}: {u['units']} units under {u['policy']}"
              for u in units["upcoming"]]
    t = p["traffic"]
    lines.append(f"  traffic records ({t['policy']}): {t['records']}, {t['due']} due for "
                 f"purge, next due {(t['next_due'] or '-')[:10]}")
    lines += [f"  staging migration {s['migration']} of {s['tenant']} ({s['policy']}): "
              + ("purged " + s["purged_at"][:10] if s["purged_at"] else
                 "DUE for purge" if s["due"] else
                 f"purge due {s['purge_due_at'][:10]}" if s["purge_due_at"] else
                 "being staged") for s in p["staging"]]
    return lines


@app.command("classify")
def classify(ctx: typer.Context,
             unit_id: str = typer.Argument(..., help="Unit id, as `hramba ls` prints it."),
             policy: str = typer.Option(..., "--policy", help="Policy id (latest version) "
                                        "or id@vN, e.g. immovable-property-20y."),
             as_json: bool = JSON_OPTION) -> None:
    """Put a unit under a policy; refused if it would shorten its retention."""
    from hramba.services import retention as service

    result = service.classify(state(ctx).archive, unit_id, policy)
    if as_json:
        emit_json(result)
    else:
        typer.echo(f"{unit_id}: {result['before']['policy']} until "
                   f"{result['before']['retain_until'][:10]} -> {result['after']['policy']} "
                   f"until {result['after']['retain_until'][:10]}")


@app.command("policies")
def policies(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """The released policies: id, version, legal basis, period, action."""
    from hramba.services import retention as service

    rows = service.policies(state(ctx).archive)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['id']}@v{r['version']:<3} {r['kind']:<8} {r['period']:<9} from "
                   f"{r['trigger']:<13} {r['anchor']:<12} then {r['action']:<7} "
                   f"{r['legal_basis']}")


@app.command("purges")
def purges(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
    """The purge records: what each automatic purge removed, when, under which policy."""
    from hramba.services import purge

    rows = purge.list_purges(state(ctx).archive)
    if as_json:
        emit_json(rows)
        return
    for r in rows:
        counts = ", ".join(f"{v} {k}" for k, v in r["counts"].items())
        typer.echo(f"{r['id']:>4} {when(r['executed_at'], 'minutes')} {r['kind']:<8} "
                   f"{r['subject']}: {counts} ({r['policy']}, sha256:{r['sha256'][:16]}...)")
