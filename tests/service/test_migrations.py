"""The migrations are the schema: upgrade yields exactly the models, downgrade undoes it."""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from service import migrations
from service.db import Base
from tests.conftest import TEST_DATABASE_URL, _postgres_url


@pytest.fixture
def scratch_url(tmp_path):  # type: ignore[no-untyped-def]
    """An empty database of the kind under test, just for this test."""
    if TEST_DATABASE_URL.startswith("postgres"):
        base = make_url(_postgres_url(TEST_DATABASE_URL))
        name = f"cr_mig_{uuid.uuid4().hex[:10]}"
        admin = create_engine(base, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield base.set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'scratch.db'}"


def test_upgrade_head_matches_the_models_exactly(scratch_url: str) -> None:
    migrations.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_base_removes_everything_and_upgrade_again_works(scratch_url: str) -> None:
    migrations.upgrade(scratch_url)
    migrations.downgrade(scratch_url, "base")
    engine = create_engine(scratch_url)
    leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert leftover == set()
    migrations.upgrade(scratch_url)
    engine = create_engine(scratch_url)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert migrations.is_up_to_date(engine, scratch_url)
    engine.dispose()
