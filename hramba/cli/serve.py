"""hramba serve: the web portal and HTTP API (hramba.web) on uvicorn."""

from __future__ import annotations

import os
from typing import Any

import typer

from hramba.cli.common import state


def serve(ctx: typer.Context,
          host: str = typer.Option("127.0.0.1", "--host", help=(
              "Address to listen on; behind a TLS-terminating proxy, keep the loopback.")),
          port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port."),
          workers: int = typer.Option(1, "--workers", min=1, max=64, help=(
              "Server processes; more than one uses more cores (each its own database "
              "connections)."))) -> None:
    """Serve the portal and the HTTP API (/api/v1, its OpenAPI document at
    /api/openapi.json) until SIGTERM or SIGINT. Each request signs in as its own account:
    starting the server signs nobody in."""
    import uvicorn

    from hramba.config import env_name
    from hramba.web.app import create_app

    settings = state(ctx).settings
    app = create_app(settings)  # an archive not set up is refused here, before any worker
    target: Any = app
    if workers > 1:
        app.state.archive.close()
        os.environ[env_name("home")] = str(settings.home)  # each worker reads the same
        if state(ctx).config:
            os.environ["HRAMBA_CONFIG"] = str(state(ctx).config)
        target = "hramba.web.app:from_environment"
    uvicorn.run(target, factory=workers > 1, workers=workers, host=host, port=port,
                proxy_headers=False, server_header=False, log_level="info")
