"""`coffeerounds demo`: a ready-made demo hospital, safe to create again and again."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from matching.datasets import default_topics
from service import accounts
from service.cli import app
from service.config import get_settings
from service.db import make_engine, make_sessionmaker
from service.models import AdminAccount, Organization, Participant, Topic
from tests.conftest import TEST_SECRET


@pytest.fixture
def runner(
    monkeypatch: pytest.MonkeyPatch, database_url: str, outbox_dir: Path, tmp_path: Path
) -> Iterator[CliRunner]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("EMAIL_BACKEND", "file")
    monkeypatch.setenv("EMAIL_FILE_DIR", str(outbox_dir))
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.delenv("BASE_URL", raising=False)
    monkeypatch.delenv("ADMIN_PASSWORD", raising=False)
    get_settings.cache_clear()
    yield CliRunner()
    get_settings.cache_clear()


@pytest.fixture
def session(database_url: str) -> Iterator[Session]:
    engine = make_engine(database_url)
    with make_sessionmaker(engine)() as db:
        yield db
    engine.dispose()


def counts(db: Session) -> dict[str, int]:
    db.expire_all()
    return {
        model.__name__: int(db.scalar(select(func.count()).select_from(model)) or 0)
        for model in (Organization, AdminAccount, Topic, Participant)
    }


def test_demo_twice_gives_one_hospital_one_login_one_catalog(
    runner: CliRunner, session: Session, outbox_dir: Path
) -> None:
    first = runner.invoke(app, ["demo", "--participants", "40"])
    assert first.exit_code == 0, first.output
    again = ["demo", "--participants", "40", "--admin-password", "another-pass1"]
    second = runner.invoke(app, again)
    assert second.exit_code == 0, second.output

    assert counts(session) == {
        "Organization": 1,
        "AdminAccount": 1,
        "Topic": len(default_topics()),
        "Participant": 40,
    }
    org = session.scalar(select(Organization))
    assert org is not None
    assert (org.slug, org.name, org.timezone, org.allowed_email_domains) == (
        "demo", "Demo General Hospital", "America/New_York", []
    )
    people = list(session.scalars(select(Participant)))
    assert {p.status for p in people} == {"active"}
    assert len({p.role for p in people}) >= 4 and len({p.site for p in people}) >= 2
    assert all(p.availability for p in people)

    assert "Organization 'demo' (Demo General Hospital): created." in first.stdout
    assert "Participants: 40 created" in first.stdout
    assert "password: demo-password" in first.stdout
    assert "http://127.0.0.1:8000/o/demo/join" in first.stdout
    assert "http://127.0.0.1:8000/admin" in first.stdout
    assert str(outbox_dir) in first.stdout
    assert "already there" in second.stdout and "Participants: 0 created" in second.stdout

    # The printed password always works: the second run reset it.
    admin = session.scalar(select(AdminAccount))
    assert admin is not None and admin.email == "lead@demo.example"
    assert admin.organization_id == org.id
    assert accounts.verify_password(admin, "another-pass1")
    assert not accounts.verify_password(admin, "demo-password")


def test_demo_refuses_a_short_password_without_writing(
    runner: CliRunner, session: Session
) -> None:
    result = runner.invoke(app, ["demo", "--participants", "5", "--admin-password", "short"])
    assert result.exit_code == 2
    assert "at least 10 characters" in result.stderr
    assert counts(session) == {"Organization": 0, "AdminAccount": 0, "Topic": 0, "Participant": 0}
