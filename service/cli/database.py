"""Database access for commands: settings, an engine and a checked-up-to-date schema."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from sqlalchemy.orm import Session, sessionmaker

from service import migrations
from service.config import Settings, get_settings
from service.db import make_engine, make_sessionmaker


def fail(message: str, code: int = 2) -> typer.Exit:
    typer.secho(f"Error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(code)


def load_settings() -> Settings:
    try:
        return get_settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise fail(f"invalid configuration: {exc}") from None


@contextmanager
def open_database(*, migrate: bool = False) -> Iterator[sessionmaker[Session]]:
    """Yield a session factory; refuse to work on a schema that is not migrated."""
    settings = load_settings()
    if migrate:
        migrations.upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    try:
        if not migrations.is_up_to_date(engine, settings.database_url):
            raise fail("the database schema is not up to date: run `coffeerounds migrate` first")
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()
