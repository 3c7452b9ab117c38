"""serve, migrate and send-outbox."""

from __future__ import annotations

import typer
import uvicorn

from service import migrations, outbox
from service.cli.database import load_settings, open_database


def serve(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(1, min=1, max=64, help="Web worker processes."),
    reload: bool = typer.Option(False, help="Reload on code changes (development)."),
) -> None:
    """Start the web service (uvicorn). The scheduler runs separately: `coffeerounds scheduler`."""
    with open_database():
        pass  # fail early, with a clear message, if the schema is missing or old
    typer.echo(f"Coffee Rounds on http://{host}:{port}/  (Ctrl+C to stop)")
    uvicorn.run(
        "service.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        proxy_headers=True,
        log_level=load_settings().log_level.lower(),
    )


def migrate() -> None:
    """Bring the database schema up to date (alembic upgrade head)."""
    settings = load_settings()
    migrations.upgrade(settings.database_url)
    typer.echo("Database schema is up to date.")


def send_outbox(
    once: bool = typer.Option(False, "--once", help="One pass over what is due, then exit."),
    limit: int = typer.Option(500, min=1, help="Messages per pass."),
) -> None:
    """Send queued emails now, until nothing is due (the scheduler does this every minute)."""
    settings = load_settings()
    with open_database() as factory:
        while True:
            report = outbox.deliver_due(factory, outbox.make_sender(settings), limit=limit)
            typer.echo(str(report))
            if once or report.sent + report.failed == 0:
                return
