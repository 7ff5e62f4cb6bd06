"""hramba serve: the web portal and HTTP API (hramba.web) on uvicorn."""

from __future__ import annotations

import typer

from hramba.cli.common import state


def serve(ctx: typer.Context,
          host: str = typer.Option("127.0.0.1", "--host", help=(
              "Address to listen on; behind a TLS-terminating proxy, keep the loopback.")),
          port: int = typer.Option(8080, "--port", min=1, max=65535, help="Port.")) -> None:
    """Serve the HTTP API (/api/v1, its OpenAPI document at /api/openapi.json) until
    SIGTERM or SIGINT. Each request signs in as its own account: starting the server
    signs nobody in."""
    import uvicorn

    from hramba.web.app import create_app

    app = create_app(state(ctx).settings)  # an archive not set up is refused here
    uvicorn.run(app, host=host, port=port, proxy_headers=False, server_header=False,
                log_level="info")
