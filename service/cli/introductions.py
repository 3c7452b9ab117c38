"""introductions: pass unanswered introduction requests on now, the scheduler's own code."""

from __future__ import annotations

import typer

from service.cli.database import load_settings, open_database
from service.introductions import jobs
from service.links import LinkSigner


def introductions() -> None:
    """Ask the next colleague wherever the one asked has not answered within seven days
    (the scheduler does this every 15 minutes). The emails go out with the outbox."""
    settings = load_settings()
    links = LinkSigner(settings.secret_key.get_secret_value())
    with open_database() as factory:
        expired = jobs.expire_unanswered(factory, settings, links)
    typer.echo(
        f"{expired} unanswered introduction asks passed on. The emails go out with the "
        "scheduler's next outbox run, or now with `coffeerounds send-outbox`."
    )
