"""The connection pool: tested after idling (PostgreSQL), and a 503 when it is exhausted."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

import service.main
from service import db as service_db
from service.config import Settings
from service.db import make_engine
from service.main import create_app
from service.models import Organization
from tests.service.test_api_signup import signup_body

ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")
needs_postgres = pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (TEST_DATABASE_URL)")


def _terminate(database_url: str, pid: int) -> None:
    admin = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    admin.dispose()


@needs_postgres
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


@needs_postgres
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


def test_a_request_that_waits_out_the_pool_gets_a_503_to_retry(
    settings: Settings, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Far beyond capacity, a visitor is told to try again (503), never shown a 500."""

    def one_connection(url: str) -> object:
        return make_engine(url, pool_size=1, max_overflow=0, pool_timeout=0.2)

    monkeypatch.setattr(service.main, "make_engine", one_connection)
    app = create_app(settings)
    with TestClient(app) as client, app.state.engine.connect():  # the only connection, held
        page = client.get(f"/o/{org.slug}/join")
        api = client.post(f"/api/v1/organizations/{org.slug}/signups", json=signup_body())
    assert page.status_code == 503
    assert page.headers["Retry-After"]
    assert "very busy" in page.text
    assert api.status_code == 503
    assert api.json()["code"] == "unavailable"
    app.state.engine.dispose()
