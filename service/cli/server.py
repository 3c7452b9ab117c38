"""serve, migrate and send-outbox."""

from __future__ import annotations

import typer
import uvicorn

from service import log_redaction, migrations, outbox
from service.cli.database import load_settings, open_database

# How long uvicorn waits for a (re)started web worker to answer before killing it.
WORKER_START_SECONDS = 90


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
    log_redaction.install()  # the app factory installs it again in each worker process
    uvicorn.run(
        "service.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=None if reload else workers,
        reload=reload,
        # The app reads X-Forwarded-For itself, trusting only TRUSTED_PROXIES (see
        # service/rate_limit.py); uvicorn's default would also trust 127.0.0.1.
        proxy_headers=False,
        log_level=load_settings().log_level.lower(),
        # A new worker imports NumPy, SciPy and scikit-learn (~3.5 s of CPU) before it can
        # answer uvicorn's health ping; four of them on two cores took longer than uvicorn's
        # 5 s default, so every worker was killed and restarted, forever.
        timeout_worker_healthcheck=WORKER_START_SECONDS,
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
