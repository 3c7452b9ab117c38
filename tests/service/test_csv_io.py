"""Reading, validating, writing and importing participant CSV files (csv_io)."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from service.models import Organization, Participant
from service.participants import csv_io

HEADER = ",".join(csv_io.COLUMNS)


def row(email: str = "ana.lopez@stmarys.example", **overrides: str) -> str:
    values = {
        "email": email,
        "full_name": "Ana Lopez",
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
    return buffer.getvalue().removesuffix("\n")


def read(text: str, **kwargs: object) -> csv_io.Validation:
    return csv_io.read_participants_csv(text.encode("utf-8"), **kwargs)  # type: ignore[arg-type]


def messages(validation: csv_io.Validation) -> list[str]:
    return [str(e) for e in validation.errors]


def test_a_valid_file_gives_parsed_participants() -> None:
    result = read(f"{HEADER}\n{row()}\n{row('b@x.example', avoid='not.yet@x.example')}\n")
    assert result.errors == []
    assert [r.line for r in result.rows] == [2, 3]
    first = result.rows[0].participant
    assert first.availability == [[0, 720, 780], [3, 420, 450]]
    assert first.interests == ["running", "medical education"]
    assert result.rows[1].participant.avoid == ["not.yet@x.example"]


def test_header_is_case_and_space_insensitive_and_bom_and_crlf_are_fine() -> None:
    header = ", ".join(c.upper() for c in csv_io.COLUMNS)
    data = ("\ufeff" + header + "\r\n" + row() + "\r\n").encode("utf-8")
    result = csv_io.read_participants_csv(data)
    assert result.errors == [] and len(result.rows) == 1


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (HEADER.replace(",avoid", ""), "missing avoid"),
        (HEADER + ",notes", "unexpected 'notes'"),
        (HEADER.replace("email,full_name", "full_name,email"), "wrong order"),
        (HEADER.replace("site", "email"), "repeated email"),
    ],
)
def test_a_wrong_header_is_one_clear_error(header: str, expected: str) -> None:
    with pytest.raises(csv_io.CsvFileError) as info:
        read(f"{header}\n{row()}\n")
    assert str(info.value).startswith("line 1: the header must be exactly these columns")
    assert expected in str(info.value)


def test_line_numbers_count_blank_lines_and_newlines_inside_quotes() -> None:
    multi_line_goals = row(goals="First line\nsecond line\nthird line")
    bad = row("c@x.example", timezone="Mars/Base")
    text = f"{HEADER}\n{multi_line_goals}\n\n{bad}\n"
    result = read(text)
    assert messages(result) == [
        "line 6: timezone: 'Mars/Base' is not a known time zone; use an IANA name like "
        "America/New_York"
    ]
    assert result.rows[0].participant.goals == "First line\nsecond line\nthird line"


def test_every_problem_of_a_row_is_reported_with_friendly_choices() -> None:
    result = read(f"{HEADER}\n{row(role='doctor', mentoring='', availability='Mon 25:00-26:00')}\n")
    text = messages(result)
    assert text[0].startswith("line 2: role: 'doctor' is not one of: attending, fellow")
    assert text[1].startswith("line 2: availability: 25:00 is not a time of day")
    assert result.rows == []  # an empty mentoring cell means the default "none"


def test_blank_required_cells_say_is_required_and_case_of_choices_does_not_matter() -> None:
    blanks, capitalised = row(full_name=" ", timezone=""), row("b@x.example", role="Nurse")
    result = read(f"{HEADER}\n{blanks}\n{capitalised}\n")
    assert messages(result) == ["line 2: full_name: is required", "line 2: timezone: is required"]
    assert result.rows[0].participant.role == "nurse"


def test_duplicate_emails_are_reported_on_the_second_occurrence() -> None:
    rows = [row("Ana@X.example"), row("b@x.example"), row("ana@x.example")]
    result = read(HEADER + "\n" + "\n".join(rows) + "\n")
    assert messages(result) == ["line 4: email: duplicate of line 2"]
    assert len(result.rows) == 2


def test_rows_with_the_wrong_number_of_fields_are_reported() -> None:
    result = read(f"{HEADER}\n{row()},extra\nonly,three,fields\n")
    assert messages(result) == [
        "line 2: expected 14 fields, found 15 (quote cells that contain commas)",
        "line 3: expected 14 fields, found 3 (every row needs all 14 columns, even empty ones)",
    ]


def test_empty_spreadsheet_rows_of_commas_are_skipped() -> None:
    result = read(f"{HEADER}\n{',' * 13}\n{row()}\n")
    assert result.errors == [] and [r.line for r in result.rows] == [3]


def test_non_utf8_and_utf16_files_say_how_to_save_them() -> None:
    latin1 = f"{HEADER}\n{row(full_name='José Núñez')}\n".encode("latin-1")
    with pytest.raises(csv_io.CsvFileError, match=r"line 2: not UTF-8 text: save as CSV UTF-8"):
        csv_io.read_participants_csv(latin1)
    with pytest.raises(csv_io.CsvFileError, match="UTF-16"):
        csv_io.read_participants_csv(f"{HEADER}\n".encode("utf-16"))


def test_empty_files_and_unclosed_quotes_are_reported() -> None:
    with pytest.raises(csv_io.CsvFileError, match="the file is empty"):
        read("\n\n")
    with pytest.raises(csv_io.CsvFileError, match=r"line 3: a quoted cell is never closed"):
        unclosed = 'b@x.example,Bo,nurse,,,,,"goals never closed,none,,,UTC,,'
        read(f"{HEADER}\n{row()}\n{unclosed}\n{row('c@x.example')}\n")


def test_size_guards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_io, "MAX_ROWS", 2)
    with pytest.raises(csv_io.CsvFileError, match="more than 2 rows"):
        read(f"{HEADER}\n{row('a@x.example')}\n{row('b@x.example')}\n{row('c@x.example')}\n")
    monkeypatch.setattr(csv_io, "MAX_FILE_BYTES", 1024 * 1024)
    with pytest.raises(csv_io.CsvFileError, match="larger than 1 MB"):
        csv_io.read_participants_csv(b"x" * (1024 * 1024 + 1))


def test_semicolon_separated_files_from_european_excel_are_read() -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(csv_io.COLUMNS)
    writer.writerow(next(csv.reader([row()])))
    result = read(buffer.getvalue())
    assert result.errors == []
    assert result.rows[0].participant.availability == [[0, 720, 780], [3, 420, 450]]


def test_allowed_email_domains_of_the_organization_are_enforced() -> None:
    org = Organization(slug="x", name="X", allowed_email_domains=["stmarys.example"])
    text = f"{HEADER}\n{row('a@stmarys.example')}\n{row('b@gmail.example')}\n"
    result = read(text, organization=org)
    assert messages(result) == ["line 3: email: must be an address at stmarys.example"]


def test_cells_that_look_like_formulas_are_escaped_on_export_and_restored_on_import() -> None:
    participant = Participant(
        email="a@x.example", full_name="=HYPERLINK(\"http://evil\")", role="nurse", specialty="",
        department="", site="", interests=["+1 for coffee"], goals="- listen\n- learn",
        mentoring="none", can_teach=[], wants_to_learn=[], timezone="UTC", availability=[],
        avoid_entries=[],
    )
    exported = dict(zip(csv_io.COLUMNS, csv_io.participant_cells(participant), strict=True))
    assert exported["full_name"].startswith("'=") and exported["goals"].startswith("'- listen")
    buffer = io.StringIO()
    csv_io.write_participants_csv([participant], buffer)
    parsed = read(buffer.getvalue()).rows[0].participant
    assert parsed.full_name == participant.full_name
    assert parsed.goals == participant.goals and parsed.interests == ["+1 for coffee"]


def _count_selects(db: Session) -> list[str]:
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append(statement)

    event.listen(db.get_bind(), "before_cursor_execute", record)
    return statements


def test_import_loads_the_organization_once_and_updates_in_place(
    db: Session, org: Organization
) -> None:
    first = read(HEADER + "\n" + "\n".join(row(f"p{i}@x.example") for i in range(60)) + "\n")
    result = csv_io.import_participants(db, org, first.rows)
    db.commit()
    assert (result.created, result.updated, result.unchanged) == (60, 0, 0)

    changed = [row(f"p{i}@x.example", site="North" if i < 5 else "Main Campus") for i in range(70)]
    second = read(HEADER + "\n" + "\n".join(changed) + "\n")
    selects = _count_selects(db)
    result = csv_io.import_participants(db, org, second.rows)
    db.commit()
    assert (result.created, result.updated, result.unchanged) == (10, 5, 55)
    assert len(selects) <= 3  # participants + their avoid lists, whatever the file's size
    assert db.scalar(select(func.count()).select_from(Participant)) == 70


def test_dry_run_import_counts_but_writes_nothing(db: Session, org: Organization) -> None:
    rows = read(f"{HEADER}\n{row()}\n").rows
    result = csv_io.import_participants(db, org, rows, dry_run=True)
    db.commit()
    assert result.created == 1
    assert db.scalar(select(func.count()).select_from(Participant)) == 0
