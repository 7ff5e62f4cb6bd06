"""hramba report: audit reports (signed PDF, CSV, JSON) from the archive's own data."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state, when
from hramba.domain.report import FORMATS, LANGS, ReportKind

app = command_group("Audit reports: make one of a kind, list them, fetch one.")
DATE = ["%Y-%m-%d"]
PURPOSE = {
    ReportKind.HOLDINGS: "units, files and bytes per tenant, year, format and type",
    ReportKind.INTEGRITY: "fixity runs in the period and each object's last check",
    ReportKind.EVIDENCE: "sealed, pending and renewed units; TSA certificates; algorithms",
    ReportKind.RETENTION: "what falls due by policy, what is held, the disposal register",
    ReportKind.HOLDS: "the legal holds register",
    ReportKind.MIGRATIONS: "per migration: expected, archived, mismatched, missing",
    ReportKind.ACCESS: "who listed, read, exported or downloaded what",
    ReportKind.QUARANTINE: "what waits in the quarantine, by code and age",
}


def _formats(text: str) -> tuple[str, ...]:
    wanted = tuple(f.strip() for f in text.split(",") if f.strip())
    if not wanted or any(f not in FORMATS for f in wanted):
        raise typer.BadParameter(f"a list of {', '.join(FORMATS)}, not {text!r}")
    return wanted


def _maker(kind: ReportKind) -> Any:
    def make(ctx: typer.Context,
             tenant: str | None = typer.Option(None, "--tenant", help=(
                 "Only this tenant (default: every tenant you serve).")),
             date_from: datetime | None = typer.Option(
                 None, "--from", formats=DATE, metavar="DATE", help="First day of the period."),
             date_to: datetime | None = typer.Option(
                 None, "--to", formats=DATE, metavar="DATE", help="Last day of the period."),
             out: Path | None = typer.Option(None, "--out", help=(
                 "Write the report's files here too (it is stored in the archive anyway).")),
             formats: str = typer.Option("pdf,csv,json", "--format", help=(
                 "Which files --out gets: pdf, csv, json, comma-separated.")),
             lang: str = typer.Option("sl", "--lang", help=f"{' or '.join(LANGS)}."),
             as_json: bool = JSON_OPTION) -> None:
        from hramba.services.reports import get_report, make_report

        archive = state(ctx).archive
        stored, report = make_report(archive, kind, tenant, date_from and date_from.date(),
                                     date_to and date_to.date(), lang)
        written = get_report(archive, stored.report_id, out, _formats(formats)) if out else []
        if as_json:
            emit_json(stored.as_dict() | {"written": [str(p) for p in written]})
            return
        empty = " (no data in the period)" if report.empty else ""
        typer.echo(f"report {stored.report_id}: {kind.value}{empty}, sha256 {stored.sha256}")
        for path in written:
            typer.echo(f"  {path}")

    make.__doc__ = f"Make the {kind.value} report: {PURPOSE[kind]}."
    return make


for _kind in ReportKind:
    app.command(_kind.value)(_maker(_kind))


@app.command("ls")
def ls(ctx: typer.Context,
       kind: ReportKind | None = typer.Option(None, "--kind", help="Only this kind."),
       as_json: bool = JSON_OPTION) -> None:
    """The reports you may read, newest first."""
    from hramba.services.reports import list_reports

    reports = list_reports(state(ctx).archive, kind)
    if as_json:
        emit_json([r.as_dict() for r in reports])
        return
    for r in reports:
        period = f"{r.period_from or '…'}..{r.period_to or '…'}"
        typer.echo(f"{r.report_id:>6}  {r.kind:<11} {', '.join(r.tenants) or 'all':<12} "
                   f"{period:<23} {when(r.generated_at)}  {r.generated_by}")
    if not reports:
        typer.echo("no reports")


@app.command("get")
def get(ctx: typer.Context,
        report_id: int = typer.Argument(..., help="Report id, as `report ls` prints it."),
        out: Path = typer.Option(..., "--out", help="Folder for the report's files."),
        formats: str = typer.Option("pdf,csv,json", "--format", help=(
            "Which files: pdf, csv, json, comma-separated.")),
        as_json: bool = JSON_OPTION) -> None:
    """Write a stored report's files, each digest checked as it is written."""
    from hramba.services.reports import get_report

    written = get_report(state(ctx).archive, report_id, out, _formats(formats))
    if as_json:
        emit_json({"report_id": report_id, "written": [str(p) for p in written]})
    else:
        for path in written:
            typer.echo(str(path))
