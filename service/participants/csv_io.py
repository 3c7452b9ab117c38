"""Participant CSV files: read and validate, import in the caller's transaction, export.

The format is the signup form's fields, one row per person, in a fixed column order. Reading
is strict about structure (header, field counts, encoding) and reports every bad row by the
line number a text editor shows, so a wellness lead can fix the file and try again.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

from pydantic import ValidationError
from sqlalchemy import Select, String, cast, select
from sqlalchemy.orm import Session, selectinload

from service.db import utcnow
from service.models import AvoidEntry, Organization, Participant
from service.participants.availability import format_availability
from service.participants.schemas import ParticipantIn, field_errors, normalize_email
from service.participants.service import PROFILE_FIELDS, apply_profile

COLUMNS: tuple[str, ...] = (
    "email",
    "full_name",
    "role",
    "specialty",
    "department",
    "site",
    "interests",
    "goals",
    "mentoring",
    "can_teach",
    "wants_to_learn",
    "timezone",
    "availability",
    "avoid",
)
LIST_COLUMNS = ("interests", "can_teach", "wants_to_learn", "avoid")
CHOICES = {
    "role": ("attending", "fellow", "resident", "student", "nurse", "np_pa", "other"),
    "mentoring": ("offer", "seek", "both", "none"),
}
MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_ROWS = 100_000
# Spreadsheets run cells starting with these as formulas; exported cells get a leading
# apostrophe (OWASP "CSV injection"), which reading removes again so a round trip is exact.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class CsvFileError(ValueError):
    """The file as a whole cannot be used: encoding, size, header or broken quoting."""


@dataclass(frozen=True)
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}: "
        return where + (f"{self.field}: {self.message}" if self.field else self.message)


@dataclass(frozen=True)
class ValidRow:
    line: int
    participant: ParticipantIn


@dataclass
class Validation:
    """Every row of a file: the valid ones ready to import, and what is wrong with the rest."""

    rows: list[ValidRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def invalid_lines(self) -> list[int]:
        return sorted({error.line for error in self.errors})


# --- reading ------------------------------------------------------------------------------


def decode_csv(data: bytes) -> str:
    """UTF-8 text (a BOM, as Excel writes it, is dropped), or a message saying how to fix it."""
    if len(data) > MAX_FILE_BYTES:
        raise CsvFileError(
            f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB: split it into "
            "smaller files and import them one after the other"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFileError(
            "the file is UTF-16 text (Excel's 'Unicode Text'): save it as 'CSV UTF-8' instead"
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise CsvFileError(
            f"line {line}: not UTF-8 text: save as CSV UTF-8 (in Excel: File > Save As > "
            "'CSV UTF-8 (Comma delimited)')"
        ) from None


def _header_problem(found: list[str]) -> str:
    expected = list(COLUMNS)
    missing = [c for c in expected if c not in found]
    unexpected = [c for c in found if c not in expected]
    duplicated = sorted({c for c in found if found.count(c) > 1})
    parts = []
    if missing:
        parts.append("missing " + ", ".join(missing))
    if unexpected:
        parts.append("unexpected " + ", ".join(repr(c[:40]) for c in unexpected))
    if duplicated:
        parts.append("repeated " + ", ".join(duplicated))
    if not parts:
        parts.append("the columns are in the wrong order")
    return (
        "line 1: the header must be exactly these columns, in this order: "
        + ", ".join(expected)
        + " (" + "; ".join(parts) + ")"
    )


def _choose_delimiter(first_line: str) -> str:
    # Excel in many European locales saves "CSV" with semicolons between the columns.
    names = [name.strip().lower() for name in first_line.rstrip("\r").split(";")]
    return ";" if names == list(COLUMNS) else ","


def _looks_like_formula(cell: str) -> bool:
    # Apostrophes first too ("'=x"): escaping adds one more, so that reading, which takes
    # one away, gives back exactly what was written.
    return cell.lstrip("'").startswith(_FORMULA_STARTS)


def _unescape(cell: str) -> str:
    return cell[1:] if cell.startswith("'") and _looks_like_formula(cell[1:]) else cell


def read_records(text: str) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    """Yield (line where the row starts, {column: cell}, or a RowError for a malformed row).

    Blank rows are skipped; the header is checked first.
    """
    if not text.strip():
        raise CsvFileError(
            "the file is empty: the first line must be the header " + ",".join(COLUMNS)
        )
    end_of_first_line = text.find("\n")
    delimiter = _choose_delimiter(text[: end_of_first_line if end_of_first_line >= 0 else None])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    last_line = 0
    n_rows = 0
    try:
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if line == 1:
                found = [cell.strip().lower() for cell in cells]
                if found != list(COLUMNS):
                    raise CsvFileError(_header_problem(found))
                continue
            if not any(cell.strip() for cell in cells):
                continue  # blank line, or a spreadsheet's empty row of commas
            n_rows += 1
            if n_rows > MAX_ROWS:
                raise CsvFileError(
                    f"more than {MAX_ROWS:,} rows: split the file and import the parts one by one"
                )
            if len(cells) != len(COLUMNS):
                hint = "quote cells that contain commas" if len(cells) > len(COLUMNS) else (
                    "every row needs all 14 columns, even empty ones")
                message = f"expected {len(COLUMNS)} fields, found {len(cells)} ({hint})"
                yield line, RowError(line, "", message)
                continue
            yield line, {name: _unescape(cell) for name, cell in zip(COLUMNS, cells, strict=True)}
    except csv.Error as exc:
        start = last_line + 1
        if "unexpected end of data" in str(exc):
            raise CsvFileError(
                f"line {start}: a quoted cell is never closed (a '\"' is missing)"
            ) from None
        raise CsvFileError(f"line {start}: this is not valid CSV ({exc})") from None


def _friendly(field_name: str, message: str, raw: Mapping[str, str]) -> str:
    if field_name in CHOICES and message == "choose one of the listed options":
        value = raw.get(field_name, "").strip()
        return f"'{value[:40]}' is not one of: {', '.join(CHOICES[field_name])}"
    return message


def _as_input(raw: Mapping[str, str]) -> dict[str, str]:
    values = {name: value.strip() for name, value in raw.items()}
    for name in CHOICES:
        values[name] = values.get(name, "").lower()
    # An empty cell means "not given": required fields then say "is required", others default.
    return {name: value for name, value in values.items() if value}


def validate_records(
    records: Iterable[tuple[int, Mapping[str, str] | RowError]],
    *,
    organization: Organization | None = None,
) -> Validation:
    """Validate each row as a signup would; a repeated email is an error on its second row."""
    result = Validation()
    first_seen: dict[str, int] = {}
    for line, raw in records:
        if isinstance(raw, RowError):  # malformed, found while reading
            result.errors.append(raw)
            continue
        errors: dict[str, str] = {}
        try:
            email = normalize_email(raw.get("email", ""))
        except ValueError:
            email = None
        if email is not None and email in first_seen:
            errors["email"] = f"duplicate of line {first_seen[email]}"
        elif email is not None:
            first_seen[email] = line
            if organization is not None and not organization.accepts_email(email):
                allowed = ", ".join(organization.allowed_email_domains)
                errors["email"] = f"must be an address at {allowed}"
        participant = None
        try:
            participant = ParticipantIn(**_as_input(raw))  # type: ignore[arg-type]
        except ValidationError as exc:
            for name, message in field_errors(exc).items():
                errors.setdefault(name, _friendly(name, message, raw))
        if errors:
            ordered = sorted(errors.items(), key=lambda item: _column_index(item[0]))
            result.errors.extend(RowError(line, name, message) for name, message in ordered)
        elif participant is not None:
            result.rows.append(ValidRow(line, participant))
    return result


def _column_index(name: str) -> int:
    return COLUMNS.index(name) if name in COLUMNS else len(COLUMNS)


def read_participants_csv(data: bytes, *, organization: Organization | None = None) -> Validation:
    """Decode, parse and validate a whole file. Raises CsvFileError when it is unusable."""
    return validate_records(read_records(decode_csv(data)), organization=organization)


# --- writing ------------------------------------------------------------------------------


_ESCAPE_FIRST = frozenset("'" + "".join(_FORMULA_STARTS))


def _escape(cell: str) -> str:
    # Most cells start with a letter: one set lookup decides (exports call this 140,000 times).
    if not cell or cell[0] not in _ESCAPE_FIRST:
        return cell
    return "'" + cell if _looks_like_formula(cell) else cell


def participant_cells(participant: Any) -> list[str]:
    """One participant (a `Participant` or an `ExportedParticipant`) as the CSV's cells, in
    `COLUMNS` order (lists joined with '; ', formula-like cells escaped)."""
    p = participant
    return [
        _escape(cell)
        for cell in (
            p.email, p.full_name, p.role, p.specialty, p.department, p.site,
            "; ".join(p.interests), p.goals, p.mentoring, "; ".join(p.can_teach),
            "; ".join(p.wants_to_learn), p.timezone, format_availability(p.availability),
            "; ".join(p.avoid_emails),
        )
    ]


def write_participants_csv(participants: Iterable[Any], stream: TextIO) -> int:
    """Write the header and one row per participant (a `Participant` or an
    `ExportedParticipant`); returns the number of rows."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for participant in participants:
        writer.writerow(participant_cells(participant))
        count += 1
    return count


@dataclass(frozen=True, slots=True)
class ExportedParticipant:
    """What the CSV holds of a participant, read as plain columns: building 10,000 ORM objects
    with their avoid lists costs several times the rest of an export."""

    email: str
    full_name: str
    role: str
    specialty: str
    department: str
    site: str
    interests: list[str]
    goals: str
    mentoring: str
    can_teach: list[str]
    wants_to_learn: list[str]
    timezone: str
    availability: list[list[int]]
    avoid_emails: list[str]


_JSON_FIELDS = frozenset({"interests", "can_teach", "wants_to_learn", "availability"})
# The list columns come as JSON text and are parsed in one document per export: a json.loads
# per cell (what the column type does) costs more than the query.
_EXPORTED = tuple(
    cast(Participant.__table__.c[name], String) if name in _JSON_FIELDS
    else Participant.__table__.c[name]
    for name in ExportedParticipant.__slots__ if name != "avoid_emails"
)
_JSON_POSITIONS = tuple(i for i, name in enumerate(ExportedParticipant.__slots__)
                        if name in _JSON_FIELDS)


def exported_participants(
    session: Session, query: Select[tuple[Participant]]
) -> list[ExportedParticipant]:
    """The participants a `select(Participant)` picks, in its order, for the CSV."""
    rows = [list(row) for row in session.execute(
        query.with_only_columns(Participant.id, *_EXPORTED))]
    for position in _JSON_POSITIONS:
        column = 1 + position
        values = json.loads("[" + ",".join(row[column] or "[]" for row in rows) + "]")
        for row, value in zip(rows, values, strict=True):
            row[column] = value
    avoid: dict[int, list[str]] = {}
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 5_000):  # SQLite allows ~32,000 bound parameters
        for participant_id, email in session.execute(
            select(AvoidEntry.participant_id, AvoidEntry.email)
            .where(AvoidEntry.participant_id.in_(ids[start : start + 5_000]))
            .order_by(AvoidEntry.participant_id, AvoidEntry.email)
        ):
            avoid.setdefault(participant_id, []).append(email)
    return [ExportedParticipant(*row[1:], avoid.get(row[0], [])) for row in rows]


def participants_for_export(
    session: Session, org: Organization, statuses: Iterable[str] | None = None
) -> list[ExportedParticipant]:
    """The organization's participants ordered by email; everyone but the deleted by default."""
    query = (
        select(Participant)
        .where(Participant.organization_id == org.id)
        .order_by(Participant.email)
    )
    wanted = list(statuses) if statuses is not None else None
    if wanted is None:
        query = query.where(Participant.status != "deleted")
    else:
        query = query.where(Participant.status.in_(wanted))
    return exported_participants(session, query)


# --- importing ----------------------------------------------------------------------------


@dataclass
class ImportResult:
    """What an import did (or, for a dry run, would do)."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    new_participants: list[Participant] = field(default_factory=list)


def _differs(participant: Participant, data: ParticipantIn) -> bool:
    if any(getattr(participant, name) != getattr(data, name) for name in PROFILE_FIELDS):
        return True
    wanted = sorted(email for email in data.avoid if email != participant.email)
    return wanted != sorted(participant.avoid_emails)


def import_participants(
    session: Session,
    org: Organization,
    rows: Iterable[ValidRow],
    *,
    active: bool = True,
    source: str = "import",
    dry_run: bool = False,
) -> ImportResult:
    """Create new emails, update the profile of existing ones (their status stays); flush only.

    Someone whose data was deleted (status "deleted") is re-created from scratch. The whole
    organization is loaded in one query, so large files stay fast.
    """
    existing = {
        p.email: p
        for p in session.scalars(
            select(Participant)
            .where(Participant.organization_id == org.id)
            .options(selectinload(Participant.avoid_entries))
        )
    }
    result = ImportResult()
    stale: list[Participant] = []
    to_create: list[ParticipantIn] = []
    to_update: list[tuple[Participant, ParticipantIn]] = []
    for row in rows:
        data = row.participant
        current = existing.get(data.email)
        if current is None or current.status == "deleted":
            if current is not None:
                stale.append(current)
            to_create.append(data)
        elif _differs(current, data):
            to_update.append((current, data))
        else:
            result.unchanged += 1
    result.created, result.updated = len(to_create), len(to_update)
    if dry_run:
        return result
    for participant in stale:
        session.delete(participant)
    if stale:
        session.flush()
    now = utcnow()
    for data in to_create:
        participant = Participant(
            organization_id=org.id,
            email=data.email,
            status="active" if active else "pending",
            confirmed_at=now if active else None,
            source=source,
            avoid_entries=[],
        )
        apply_profile(participant, data)
        result.new_participants.append(participant)
    session.add_all(result.new_participants)
    for participant, data in to_update:
        apply_profile(participant, data)
    session.flush()
    return result
