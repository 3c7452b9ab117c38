"""Pooled PostgreSQL connections: tested after idling, not on every checkout."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import create_engine, text

from service import db as service_db
from service.db import make_engine

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")
pytestmark = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")


def _terminate(database_url: str, pid: int) -> None:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


def test_a_connection_killed_while_idle_is_replaced_before_use(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Nobody sees the error: the idle connection is pinged, found dead and replaced."""
    monkeypatch.setattr(service_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    with engine.connect() as connection:
        first = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    _terminate(database_url, first)
    with engine.connect() as connection:
        second = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    assert second != first
    engine.dispose()


def test_a_connection_in_use_a_moment_ago_is_not_pinged(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(database_url, pool_size=1, max_overflow=0)
    pings: list[object] = []
    real_ping = engine.dialect.do_ping
    monkeypatch.setattr(
        engine.dialect, "do_ping", lambda conn: pings.append(conn) or real_ping(conn)
    )
    for _ in range(5):
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    assert pings == []  # five checkouts in a row, one connection, no extra round trip
    monkeypatch.setattr(service_db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    assert len(pings) == 1
    engine.dispose()
