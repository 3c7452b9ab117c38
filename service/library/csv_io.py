"""The library as CSV: export every resource, import a file (every row checked first).

Columns, in this order: url,title,why,tags,topic,created_at,useful_count,hidden

* ``tags``: separated by ``;``. ``topic``: a topic's key or title (or empty).
* ``created_at`` (ISO 8601), ``useful_count`` and ``hidden`` (yes/no) are written by the
  export. On import ``created_at`` dates a new resource (never in the future), ``hidden=yes``
  hides it (an import never shows a hidden resource again: only an admin's button does), and
  ``useful_count`` is checked but not imported: it is the number of people who marked the
  resource useful, which only they can change.

An import validates the whole file first and reports every bad row by the line number a
text editor shows; the caller writes nothing unless every row is valid. A link already in
the library (after normalising the URL) is updated, never duplicated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.library.validation import ResourceDraft, check_resource
from service.models import Organization, Resource, Topic
from service.participants.csv_io import CsvFileError, RowError, decode_csv

__all__ = [
    "COLUMNS",
    "CsvFileError",
    "ImportResult",
    "RowError",
    "Validation",
    "import_resources",
    "read_resources_csv",
    "write_resources_csv",
]

COLUMNS: tuple[str, ...] = (
    "url",
    "title",
    "why",
    "tags",
    "topic",
    "created_at",
    "useful_count",
    "hidden",
)
MAX_ROWS = 50_000
YES = ("yes", "y", "true", "1")
NO = ("no", "n", "false", "0", "")
# Spreadsheets run cells starting with these as formulas: exported cells get a leading
# apostrophe (OWASP "CSV injection"), which reading removes again.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ValidRow:
    line: int
    draft: ResourceDraft
    topic_id: int | None
    created_at: datetime | None
    hidden: bool


@dataclass
class Validation:
    rows: list[ValidRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    @property
    def invalid_lines(self) -> list[int]:
        return sorted({error.line for error in self.errors})


@dataclass
class ImportResult:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    hidden: int = 0


# --- reading ------------------------------------------------------------------------------


def _unescape(cell: str) -> str:
    if len(cell) > 1 and cell[0] == "'" and cell[1] in _FORMULA_STARTS:
        return cell[1:]
    return cell


def _records(text: str) -> Iterator[tuple[int, dict[str, str] | RowError]]:
    if not text.strip():
        raise CsvFileError("the file is empty: the first line must be " + ",".join(COLUMNS))
    first_line = text.split("\n", 1)[0].rstrip("\r")
    # Excel in many European locales saves "CSV" with semicolons between the columns.
    semicolons = [c.strip().lower() for c in first_line.split(";")] == list(COLUMNS)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";" if semicolons else ",")
    last_line = 0
    rows = 0
    try:
        for cells in reader:
            line, last_line = last_line + 1, reader.line_num
            if line == 1:
                found = [cell.strip().lower() for cell in cells]
                if found != list(COLUMNS):
                    raise CsvFileError(
                        "line 1: the header must be exactly these columns, in this order: "
                        + ",".join(COLUMNS)
                    )
                continue
            if not any(cell.strip() for cell in cells):
                continue
            rows += 1
            if rows > MAX_ROWS:
                raise CsvFileError(f"more than {MAX_ROWS:,} rows: split the file")
            if len(cells) != len(COLUMNS):
                message = f"expected {len(COLUMNS)} fields, found {len(cells)}"
                if len(cells) > len(COLUMNS):
                    message += " (quote cells that contain commas)"
                yield line, RowError(line, "", message)
                continue
            yield line, {n: _unescape(c) for n, c in zip(COLUMNS, cells, strict=True)}
    except csv.Error as exc:
        raise CsvFileError(f"line {last_line + 1}: this is not valid CSV ({exc})") from None


def _parse_created(text: str, now: datetime) -> datetime | None:
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise ValueError("use a date like 2026-03-05 or 2026-03-05T14:30:00+00:00") from None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    if moment > now:
        raise ValueError("is in the future")
    return moment


def _topic_lookup(session: Session, org: Organization) -> dict[str, int]:
    lookup: dict[str, int] = {}
    for topic_id, key, title in session.execute(
        select(Topic.id, Topic.key, Topic.title).where(Topic.organization_id == org.id)
    ):
        lookup.setdefault(title.strip().casefold(), topic_id)
        lookup[key.strip().casefold()] = topic_id
    return lookup


def _check_row(
    line: int, raw: Mapping[str, str], topics: Mapping[str, int], now: datetime
) -> tuple[ValidRow | None, dict[str, str]]:
    draft, errors = check_resource(
        url=raw["url"], title=raw["title"], why=raw["why"], tags=raw["tags"], require_why=False
    )
    topic_name = " ".join(raw["topic"].split())
    topic_id = topics.get(topic_name.casefold()) if topic_name else None
    if topic_name and topic_id is None:
        errors["topic"] = f"no topic with the key or title '{topic_name[:60]}'"
    created_at = None
    try:
        created_at = _parse_created(raw["created_at"], now)
    except ValueError as exc:
        errors["created_at"] = str(exc)
    count = raw["useful_count"].strip()
    if count and not (count.isdigit() and len(count) < 10):
        errors["useful_count"] = "must be a whole number (0 or more), or empty"
    hidden = raw["hidden"].strip().lower()
    if hidden not in YES + NO:
        errors["hidden"] = "must be yes, no or empty"
    if errors or draft is None:
        return None, errors
    return ValidRow(line, draft, topic_id, created_at, hidden in YES), {}


def read_resources_csv(
    session: Session, org: Organization, data: bytes, *, now: datetime | None = None
) -> Validation:
    """Decode, parse and check a whole file; CsvFileError when the file itself is unusable."""
    now = now or utcnow()
    topics = _topic_lookup(session, org)
    result = Validation()
    first_seen: dict[str, int] = {}
    for line, raw in _records(decode_csv(data)):
        if isinstance(raw, RowError):
            result.errors.append(raw)
            continue
        row, errors = _check_row(line, raw, topics, now)
        if row is not None and row.draft.url in first_seen:
            errors = {"url": f"the same link as line {first_seen[row.draft.url]}"}
            row = None
        if row is not None:
            first_seen[row.draft.url] = line
            result.rows.append(row)
        ordered = sorted(errors.items(), key=lambda item: COLUMNS.index(item[0]))
        result.errors.extend(RowError(line, name, message) for name, message in ordered)
    return result


# --- importing ----------------------------------------------------------------------------


def import_resources(
    session: Session,
    org: Organization,
    rows: Iterable[ValidRow],
    *,
    actor: str = "",
    dry_run: bool = False,
) -> ImportResult:
    """Create new links, update the text, tags and topic of known ones; flush only."""
    existing = {
        r.url: r
        for r in session.scalars(select(Resource).where(Resource.organization_id == org.id))
    }
    result = ImportResult()
    now = utcnow()
    for row in rows:
        draft = row.draft
        values = {
            "title": draft.title,
            "why": draft.why,
            "tags": list(draft.tags),
            "topic_id": row.topic_id,
        }
        current = existing.get(draft.url)
        if current is None:
            result.created += 1
            result.hidden += row.hidden
            if not dry_run:
                resource = Resource(
                    organization_id=org.id,
                    url=draft.url,
                    source="import",
                    useful_count=0,
                    created_at=row.created_at or now,
                    hidden_at=now if row.hidden else None,
                    hidden_by=actor[:254] if row.hidden else "",
                    **values,
                )
                session.add(resource)
                existing[draft.url] = resource
            continue
        changed = any(getattr(current, name) != value for name, value in values.items())
        hide = row.hidden and current.hidden_at is None
        if changed or hide:
            result.updated += 1
        else:
            result.unchanged += 1
        result.hidden += hide
        if dry_run:
            continue
        for name, value in values.items():
            setattr(current, name, value)
        if hide:
            current.hidden_at, current.hidden_by = now, actor[:254]
    if not dry_run:
        session.flush()
    return result


# --- writing ------------------------------------------------------------------------------


def _escape(cell: str) -> str:
    return "'" + cell if cell.startswith(_FORMULA_STARTS) else cell


def resources_for_export(session: Session, org: Organization) -> list[Resource]:
    return list(
        session.scalars(
            select(Resource)
            .where(Resource.organization_id == org.id)
            .order_by(Resource.created_at, Resource.id)
        )
    )


def write_resources_csv(
    resources: Iterable[Resource], topic_titles: Mapping[int, str], stream: TextIO
) -> int:
    """Header and one row per resource (hidden ones too, marked); returns the row count."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(COLUMNS)
    count = 0
    for r in resources:
        row = {
            "url": r.url,
            "title": r.title,
            "why": r.why,
            "tags": "; ".join(r.tags),
            "topic": topic_titles.get(r.topic_id, "") if r.topic_id else "",
            "created_at": r.created_at.astimezone(UTC).isoformat(timespec="seconds"),
            "useful_count": str(r.useful_count),
            "hidden": "yes" if r.hidden_at is not None else "no",
        }
        writer.writerow([_escape(row[name]) for name in COLUMNS])
        count += 1
    return count
