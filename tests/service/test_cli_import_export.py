"""`coffeerounds import` and `coffeerounds export`, run as a wellness lead would run them."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload
from typer.testing import CliRunner

from service.cli import app
from service.config import get_settings
from service.models import Organization, Participant
from service.participants import csv_io
from tests.conftest import TEST_SECRET

HEADER = ",".join(csv_io.COLUMNS)
Run = Callable[..., "RunResult"]


class RunResult:
    def __init__(self, exit_code: int, stdout: str, stderr: str) -> None:
        self.exit_code, self.stdout, self.stderr = exit_code, stdout, stderr


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, database_url: str, outbox_dir: Path, tmp_path: Path
) -> Iterator[Run]:
    monkeypatch.chdir(tmp_path)  # no stray .env file
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("EMAIL_BACKEND", "file")
    monkeypatch.setenv("EMAIL_FILE_DIR", str(outbox_dir))
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ENVIRONMENT", "test")
    monkeypatch.setenv("BASE_URL", "http://testserver")
    get_settings.cache_clear()
    runner = CliRunner()

    def run(*args: str, stdin: bytes | None = None) -> RunResult:
        result = runner.invoke(app, list(args), input=stdin)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return RunResult(result.exit_code, result.stdout, result.stderr)

    yield run
    get_settings.cache_clear()


def row(email: str, **overrides: str) -> str:
    values = {
        "email": email,
        "full_name": "Ana López",
        "role": "resident",
        "specialty": "Internal Medicine",
        "department": "Medicine",
        "site": "Main Campus",
        "interests": "running; medical education",
        "goals": "Meet people outside my department",
        "mentoring": "seek",
        "can_teach": "",
        "wants_to_learn": "ultrasound",
        "timezone": "America/New_York",
        "availability": "Mon 12:00-13:00; Thu 07:00-07:30",
        "avoid": "",
    }
    values.update(overrides)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow([values[c] for c in csv_io.COLUMNS])
    return buffer.getvalue()


def write(path: Path, *rows: str, header: str = HEADER) -> str:
    path.write_text(header + "\n" + "".join(rows), encoding="utf-8")
    return str(path)


def participants(db: Session) -> dict[str, Participant]:
    db.expire_all()
    found = db.scalars(select(Participant).options(selectinload(Participant.avoid_entries)))
    return {p.email: p for p in found}


def count(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Participant)) or 0)


def test_a_valid_file_creates_active_participants(
    cli: Run, db: Session, org: Organization, tmp_path: Path
) -> None:
    file = write(
        tmp_path / "staff.csv",
        row("ana@stmarys.example", avoid="bo@stmarys.example; later@stmarys.example"),
        row("bo@stmarys.example", full_name="Bo Chen", role="attending", mentoring="offer",
            availability="Tue 23:00-01:00"),
    )
    result = cli("import", "stmarys", file)
    assert result.exit_code == 0, result.stderr
    assert "created 2, updated 0, unchanged 0, skipped (invalid) 0" in result.stdout
    people = participants(db)
    ana, bo = people["ana@stmarys.example"], people["bo@stmarys.example"]
    assert ana.status == bo.status == "active" and ana.source == "import"
    assert ana.confirmed_at is not None
    assert ana.availability == [[0, 720, 780], [3, 420, 450]]
    assert bo.availability == [[1, 1380, 1500]]
    assert ana.avoid_emails == ["bo@stmarys.example", "later@stmarys.example"]


def test_one_bad_row_fails_the_import_and_writes_nothing(
    cli: Run, db: Session, org: Organization, tmp_path: Path
) -> None:
    file = write(
        tmp_path / "staff.csv",
        row("a@stmarys.example"),
        row("b@stmarys.example", goals="two\nlines"),
        row("c@stmarys.example", timezone="Mars/Base"),
        row("d@stmarys.example"),
    )
    result = cli("import", "stmarys", file)
    assert result.exit_code == 2
    assert "line 5: timezone: 'Mars/Base' is not a known time zone" in result.stderr
    assert "nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert count(db) == 0


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(
    cli: Run, db: Session, org: Organization, tmp_path: Path
) -> None:
    file = write(
        tmp_path / "staff.csv",
        row("a@stmarys.example"),
        row("b@stmarys.example", role="surgeon"),
        row("a@stmarys.example"),
    )
    result = cli("import", "stmarys", file, "--skip-invalid")
    assert result.exit_code == 0
    assert "line 3: role: 'surgeon' is not one of" in result.stderr
    assert "line 4: email: duplicate of line 2" in result.stderr
    assert "created 1, updated 0, unchanged 0, skipped (invalid) 2" in result.stdout
    assert list(participants(db)) == ["a@stmarys.example"]


def test_require_confirmation_makes_people_pending_and_emails_them(
    cli: Run, db: Session, org: Organization, tmp_path: Path, emails: Callable[[], list]
) -> None:
    file = write(tmp_path / "staff.csv", row("ana@stmarys.example"))
    result = cli("import", "stmarys", file, "--require-confirmation")
    assert result.exit_code == 0, result.stderr
    assert "confirmation emails: sent 1" in result.stdout
    ana = participants(db)["ana@stmarys.example"]
    assert ana.status == "pending" and ana.confirmed_at is None
    [message] = emails()
    assert message["To"].addresses[0].addr_spec == "ana@stmarys.example"
    body = message.get_body(preferencelist=("plain",)).get_content()
    assert "http://testserver/o/stmarys/confirm/" in body


def test_existing_people_are_updated_and_keep_their_status(
    cli: Run, db: Session, org: Organization, tmp_path: Path
) -> None:
    first = write(tmp_path / "a.csv", row("a@stmarys.example"), row("b@stmarys.example"))
    assert cli("import", "stmarys", first).exit_code == 0
    people = participants(db)
    people["a@stmarys.example"].status = "paused"
    db.commit()
    file = write(
        tmp_path / "b.csv",
        row("a@stmarys.example", site="North Hospital"),
        row("b@stmarys.example"),
        row("c@stmarys.example"),
    )
    result = cli("import", "stmarys", file)
    assert "created 1, updated 1, unchanged 1" in result.stdout
    a = participants(db)["a@stmarys.example"]
    assert a.status == "paused" and a.site == "North Hospital"


def test_a_participant_who_deleted_their_data_is_recreated_fresh(
    cli: Run, db: Session, org: Organization, tmp_path: Path
) -> None:
    db.add(
        Participant(
            organization_id=org.id, email="a@stmarys.example", full_name="Deleted participant",
            role="other", timezone="UTC", status="deleted", link_version=3,
        )
    )
    db.commit()
    result = cli("import", "stmarys", write(tmp_path / "a.csv", row("a@stmarys.example")))
    assert "created 1, updated 0" in result.stdout
    a = participants(db)["a@stmarys.example"]
    assert (a.status, a.full_name, a.link_version) == ("active", "Ana López", 0)


def test_dry_run_reports_but_writes_nothing(
    cli: Run, db: Session, org: Organization, tmp_path: Path
) -> None:
    file = write(tmp_path / "a.csv", row("a@stmarys.example"))
    result = cli("import", "stmarys", file, "--dry-run")
    assert result.exit_code == 0
    assert "Dry run, nothing was written. Would have: created 1" in result.stdout
    assert count(db) == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEADER.replace(",avoid", "").encode() + b"\n", "line 1: the header must be exactly"),
        (("\ufeff" + HEADER + "\n").encode() + "Zoë".encode("latin-1") + b"\n", "not UTF-8 text"),
        (HEADER.encode() + b"\na@stmarys.example,Ana\n", "line 2: expected 14 fields, found 2"),
        (b"", "the file is empty"),
    ],
)
def test_unusable_files_exit_2_with_a_message_and_write_nothing(
    cli: Run, db: Session, org: Organization, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    result = cli("import", "stmarys", str(path))
    assert result.exit_code == 2
    assert message in result.stderr
    assert count(db) == 0


def test_excel_bom_crlf_and_stdin_are_accepted(
    cli: Run, db: Session, org: Organization
) -> None:
    text = "\ufeff" + HEADER + "\r\n" + row("a@stmarys.example").replace("\n", "\r\n")
    result = cli("import", "stmarys", "-", stdin=text.encode("utf-8"))
    assert result.exit_code == 0, result.stderr
    assert list(participants(db)) == ["a@stmarys.example"]


def test_unknown_organization_and_missing_file_exit_2(
    cli: Run, org: Organization, tmp_path: Path
) -> None:
    file = write(tmp_path / "a.csv", row("a@stmarys.example"))
    unknown = cli("import", "nowhere", file)
    assert unknown.exit_code == 2
    assert "no Coffee Rounds programme called 'nowhere'" in unknown.stderr
    missing = cli("import", "stmarys", str(tmp_path / "missing.csv"))
    assert missing.exit_code == 2 and "missing.csv: no such file" in missing.stderr
    assert cli("export", "nowhere", str(tmp_path / "out.csv")).exit_code == 2


def test_export_writes_the_exact_format_ordered_by_email(
    cli: Run, db: Session, org: Organization, tmp_path: Path
) -> None:
    file = write(
        tmp_path / "in.csv",
        row("zoe@stmarys.example", full_name="Zoë Adams", goals="Line one\nLine two",
            interests="jazz;  wine ", availability="Thu 07:00-07:30;Mon 12:00-13:00",
            avoid="Ana@stmarys.example"),
        row("ana@stmarys.example", can_teach="suturing; ECG"),
    )
    assert cli("import", "stmarys", file).exit_code == 0
    out = tmp_path / "out.csv"
    result = cli("export", "stmarys", str(out))
    assert result.exit_code == 0 and "Exported 2 participant(s)" in result.stdout
    assert out.read_bytes().decode("utf-8") == (
        HEADER + "\n"
        "ana@stmarys.example,Ana López,resident,Internal Medicine,Medicine,Main Campus,"
        "running; medical education,Meet people outside my department,seek,suturing; ECG,"
        "ultrasound,America/New_York,Mon 12:00-13:00; Thu 07:00-07:30,\n"
        "zoe@stmarys.example,Zoë Adams,resident,Internal Medicine,Medicine,Main Campus,"
        'jazz; wine,"Line one\nLine two",seek,,ultrasound,America/New_York,'
        "Mon 12:00-13:00; Thu 07:00-07:30,ana@stmarys.example\n"
    )
    again = cli("import", "stmarys", str(out))
    assert "created 0, updated 0, unchanged 2, skipped (invalid) 0" in again.stdout


def test_export_filters_by_status_and_writes_to_stdout(
    cli: Run, db: Session, org: Organization, tmp_path: Path
) -> None:
    file = write(tmp_path / "in.csv", row("a@stmarys.example"), row("b@stmarys.example"))
    cli("import", "stmarys", file)
    participants(db)["b@stmarys.example"].status = "left"
    db.commit()
    result = cli("export", "stmarys", "-", "--status", "active,paused")
    assert result.exit_code == 0
    assert result.stdout.splitlines()[0] == HEADER
    assert [line.split(",")[0] for line in result.stdout.splitlines()[1:]] == ["a@stmarys.example"]
    everyone = cli("export", "stmarys", "-")
    assert len(everyone.stdout.splitlines()) == 3
    bad = cli("export", "stmarys", "-", "--status", "active,gone")
    assert bad.exit_code == 2 and "--status: gone" in bad.stderr


def test_export_into_a_missing_folder_exits_2(cli: Run, org: Organization, tmp_path: Path) -> None:
    result = cli("export", "stmarys", str(tmp_path / "nope" / "out.csv"))
    assert result.exit_code == 2 and "does not exist" in result.stderr
