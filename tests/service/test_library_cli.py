"""`coffeerounds library import` and `coffeerounds library export`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.library import csv_io
from service.models import Organization, Resource
from tests.service.test_cli_import_export import Run, cli  # noqa: F401

HEADER = ",".join(csv_io.COLUMNS)


def _resources(db: Session) -> list[Resource]:
    db.expire_all()
    return list(db.scalars(select(Resource).order_by(Resource.url)))


def test_import_then_export_round_trips(
    cli: Run, db: Session, org: Organization, tmp_path: Path  # noqa: F811
) -> None:
    source = tmp_path / "library.csv"
    source.write_text(
        f"{HEADER}\n"
        "https://example.org/a,Sleep guide,Helped on nights,sleep; nights,,,,\n"
        'https://example.org/b,"Grants, simply",,grant writing,,2025-01-02,7,yes\n'
    )
    dry = cli("library", "import", org.slug, str(source), "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "Would have: added 2, updated 0, unchanged 0, hidden 1" in dry.stdout
    assert _resources(db) == []

    done = cli("library", "import", org.slug, str(source))
    assert done.exit_code == 0, done.stderr
    assert "added 2" in done.stdout
    stored = _resources(db)
    assert [r.title for r in stored] == ["Sleep guide", "Grants, simply"]
    assert stored[1].hidden_at is not None and stored[1].useful_count == 0

    exported = cli("library", "export", org.slug)
    assert exported.exit_code == 0
    lines = exported.stdout.splitlines()
    assert lines[0] == HEADER and len(lines) == 3
    target = tmp_path / "out.csv"
    assert cli("library", "export", org.slug, str(target)).exit_code == 0
    again = cli("library", "import", org.slug, str(target))
    assert "added 0, updated 0, unchanged 2" in again.stdout


def test_a_bad_file_is_reported_by_line_and_nothing_is_written(
    cli: Run, db: Session, org: Organization, tmp_path: Path  # noqa: F811
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text(
        f"{HEADER}\n"
        "https://example.org/a,Fine,,,,,,\n"
        "javascript:alert(1),<i>x</i>,,,,,,\n"
    )
    result = cli("library", "import", org.slug, str(source))
    assert result.exit_code == 2
    assert "line 3: url: Only web links" in result.stderr
    assert "line 3: title: Use plain text only" in result.stderr
    assert "nothing was imported" in result.stderr
    assert _resources(db) == []
    missing = cli("library", "import", org.slug, str(tmp_path / "nope.csv"))
    assert missing.exit_code == 2 and "no such file" in missing.stderr
    unknown = cli("library", "export", "no-such-org")
    assert unknown.exit_code == 2 and "no-such-org" in unknown.stderr
