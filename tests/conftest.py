"""Shared fixtures: a migrated database (SQLite, or PostgreSQL with TEST_DATABASE_URL),
the app, a client, and helpers to read the emails the service wrote."""

from __future__ import annotations

import email
import email.policy
import os
import uuid
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, delete, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from service import migrations
from service.config import Settings
from service.db import Base, make_engine, make_sessionmaker
from service.links import LinkSigner
from service.main import create_app
from service.models import Organization

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
TEST_SECRET = "test-secret-key-not-for-production"


def _postgres_url(base: str) -> str:
    url = make_url(Settings(database_url=base).database_url)
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A fresh database per test session, migrated with the real Alembic migrations."""
    if TEST_DATABASE_URL.startswith("postgres"):
        base = make_url(_postgres_url(TEST_DATABASE_URL))
        name = f"cr_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = base.set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(url)
        yield url
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
        migrations.upgrade(url)
        yield url


@pytest.fixture
def is_postgres(database_url: str) -> bool:
    return database_url.startswith("postgresql")


@pytest.fixture
def outbox_dir(tmp_path: Path) -> Path:
    return tmp_path / "outbox"


@pytest.fixture
def settings(database_url: str, outbox_dir: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_url=database_url,
        email_backend="file",
        email_file_dir=outbox_dir,
        base_url="http://testserver",
        mail_from="coffee@hospital.example",
        # Each test's data is its own: fitting rankers at app start is tested on its own.
        introductions_warm_up=False,
    )


@pytest.fixture
def app(settings: Settings) -> Iterator[FastAPI]:
    application = create_app(settings)
    yield application
    application.state.engine.dispose()


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def db(app: FastAPI) -> Iterator[Session]:
    """A session on the app's database; tests commit what they set up."""
    with app.state.sessionmaker() as session:
        yield session


@pytest.fixture
def factory(database_url: str) -> Iterator[sessionmaker[Session]]:
    """A session factory of our own, for code that runs outside a request (jobs, CLI)."""
    engine = make_engine(database_url)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture
def links() -> LinkSigner:
    return LinkSigner(TEST_SECRET)


@pytest.fixture(autouse=True)
def _clean_tables(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "database_url" not in request.fixturenames:
        return
    url = request.getfixturevalue("database_url")
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            conn.execute(delete(table))
    engine.dispose()


@pytest.fixture
def org(db: Session) -> Organization:
    organization = Organization(
        slug="stmarys",
        name="St Mary's Hospital",
        timezone="America/New_York",
        allowed_email_domains=[],
    )
    db.add(organization)
    db.commit()
    return organization


def read_emails(directory: Path) -> list[EmailMessage]:
    """Every .eml the file backend wrote, oldest first."""
    if not directory.exists():
        return []
    messages = []
    for path in sorted(directory.glob("*.eml"), key=lambda p: (p.stat().st_mtime_ns, p.name)):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def email_text(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.fixture
def emails(outbox_dir: Path):  # type: ignore[no-untyped-def]
    return lambda: read_emails(outbox_dir)
