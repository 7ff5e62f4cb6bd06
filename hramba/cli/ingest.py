"""hramba ingest: bring documents into the archive."""

from __future__ import annotations

from pathlib import Path

import typer

from hramba.cli.common import JSON_OPTION, command_group, emit_json, state
from hramba.cli.errors import ProblemsFound
from hramba.cli.progress import progress_bar

app = command_group("Bring documents into the archive.")


@app.command("dir")
def directory(
    ctx: typer.Context,
    path: Path = typer.Argument(..., help="Folder whose files are ingested, one unit each."),
    tenant: str | None = typer.Option(None, "--tenant", help="Budget user code (default: "
                                      "each document's receiver or buyer tax number)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Archive every package or invoice under PATH through intake, one unit each; exit 1
    if any was quarantined."""
    from hramba.services.ingest import ingest_directory, summarise

    archive = state(ctx).archive
    with progress_bar("ingesting", unit="files", enabled=not as_json) as progress:
        results = list(ingest_directory(archive, path, tenant, progress=progress))
    summary = summarise(results)
    if as_json:
        emit_json(summary)
    else:
        for r in results:
            if r.outcome == "quarantined":
                typer.echo(f"quarantined {r.path}: {' '.join(r.codes)} {r.reason}")
        typer.echo(f"{summary['archived']} archived, {summary['duplicates']} duplicates, "
                   f"{summary['quarantined']} quarantined")
    if summary["quarantined"]:
        raise ProblemsFound()


@app.command("feed")
def feed(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="Pull once and stop (default: keep "
                              "pulling every feed.interval seconds)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Pull every configured feed source (feed.inbox, feed.url) through intake, exactly
    once; exit 1 if anything was quarantined, 3 if no source is configured."""
    import time

    from hramba.core.errors import ConfigurationError
    from hramba.services.feed import FeedReport, pull_http, pull_inbox
    from ingest.feeds import HttpFeed

    settings = state(ctx).settings.feed
    if settings.inbox is None and not settings.url:
        raise ConfigurationError("no feed configured: set feed.inbox and/or feed.url")
    while True:
        report = FeedReport()
        if settings.inbox is not None:
            pull_inbox(state(ctx).archive, settings.inbox, report)
        if settings.url:
            feed = HttpFeed(settings.url, allowed_origins=settings.allowed_origins)
            pull_http(state(ctx).archive, feed, report, settings.max_attempts)
        summary = report.as_dict()
        if as_json:
            emit_json(summary)
        else:
            typer.echo(f"{', '.join(report.sources)}: {summary['archived']} archived, "
                       f"{summary['duplicates']} duplicates, "
                       f"{summary['quarantined']} quarantined")
        if once:
            break
        time.sleep(settings.interval)
    if summary["quarantined"]:
        raise ProblemsFound()
