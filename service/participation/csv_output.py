"""Participation records as CSV: a person's own record, and the organization's export.

The two differ on purpose. A person's own file names the colleagues they met and carries
their reflections: it is theirs. The organization's file has neither: colleagues appear only
as departments, and reflections belong to the person who wrote them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

from service.models import Participant
from service.participants.schemas import ROLE_LABELS
from service.participation.record import RecordEntry

OWN_COLUMNS = (
    "month",
    "type",
    "topic",
    "duration_minutes",
    "group_size",
    "colleagues",
    "departments_met",
    "outcome",
    "reflection",
)
ORGANIZATION_COLUMNS = (
    "name",
    "email",
    "role",
    "department",
    "site",
    "month",
    "type",
    "topic",
    "duration_minutes",
    "group_size",
    "departments_met",
    "outcome",
)
# Spreadsheets run cells starting with these as formulas (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: object) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def _entry_cells(entry: RecordEntry) -> dict[str, object]:
    return {
        "month": entry.month,
        "type": entry.kind_label,
        "topic": entry.topic,
        "duration_minutes": entry.minutes,
        "group_size": entry.group_size,
        "departments_met": "; ".join(entry.departments),
        "outcome": entry.outcome,
    }


def _write(columns: tuple[str, ...], rows: Iterable[dict[str, object]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(column)) for column in columns])
    return out.getvalue()


def own_record_csv(entries: Iterable[RecordEntry]) -> str:
    return _write(
        OWN_COLUMNS,
        (
            {
                **_entry_cells(entry),
                "colleagues": "; ".join(entry.colleagues),
                "reflection": entry.reflection,
            }
            for entry in entries
        ),
    )


def organization_csv(people: Iterable[tuple[Participant, list[RecordEntry]]]) -> tuple[str, int]:
    """The export for a wellness lead, and how many rows it has (for the audit log)."""
    rows = [
        {
            "name": person.full_name,
            "email": person.email,
            "role": ROLE_LABELS.get(person.role, person.role),
            "department": person.department,
            "site": person.site,
            **_entry_cells(entry),
        }
        for person, entries in people
        for entry in entries
    ]
    return _write(ORGANIZATION_COLUMNS, rows), len(rows)
