"""Figures of the Impact page: cells that know how many people they rest on, and CSV output.

Small-number suppression lives here and only here: a cell computed from fewer than
`MIN_PEOPLE` distinct people is never shown (page, chart, CSV), so nobody can be singled out
of a small department or a quiet month.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

MIN_PEOPLE = 5
SUPPRESSED_TEXT = "fewer than 5"
# Spreadsheet programs run cells starting with these as formulas (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Cell:
    """One number of a figure and the count of distinct people it was computed from.

    `kind` says how to show it: "count", "percent" (value is a share 0..1) or "average".
    """

    value: float | None
    people: int
    kind: str = "count"

    @property
    def suppressed(self) -> bool:
        return self.people < MIN_PEOPLE

    @property
    def shown(self) -> float | None:
        """The value when it may be shown, else None."""
        return None if self.suppressed else self.value

    def text(self) -> str:
        """For the page: "fewer than 5", "–" when there is no value, else the formatted value."""
        if self.suppressed:
            return SUPPRESSED_TEXT
        if self.value is None:
            return "–"
        if self.kind == "percent":
            return f"{self.value * 100:.0f}%"
        if self.kind == "average":
            return f"{self.value:.2f}"
        return f"{self.value:,.0f}"

    def csv_text(self) -> str:
        """For the CSV: empty when suppressed; shares as 0..1 with 3 decimals."""
        if self.suppressed or self.value is None:
            return ""
        if self.kind == "percent":
            return f"{self.value:.3f}"
        if self.kind == "average":
            return f"{self.value:.2f}"
        return str(int(self.value))


def count_cell(count: int, people: int | None = None) -> Cell:
    """A head count; it rests on as many people as it counts unless told otherwise."""
    return Cell(float(count), count if people is None else people, "count")


def share_cell(part: int, whole: int, people: int | None = None) -> Cell:
    """part / whole, resting on the `whole` people (or `people`) it was computed over."""
    value = part / whole if whole else None
    return Cell(value, whole if people is None else people, "percent")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    numeric: bool = True


@dataclass
class Figure:
    """One table of numbers with its chart; `rows` map column keys to a Cell or a label."""

    key: str
    title: str
    description: str
    columns: list[Column]
    rows: list[dict[str, Cell | str]] = field(default_factory=list)
    svg: str = ""

    def column(self, key: str) -> list[Cell | str]:
        return [row[key] for row in self.rows]


def _safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def figure_csv(figure: Figure) -> str:
    """The figure as CSV: one header row, a `note` column naming suppressed cells."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([c.key for c in figure.columns] + ["note"])
    for row in figure.rows:
        values: list[str] = []
        hidden: list[str] = []
        for column in figure.columns:
            cell = row[column.key]
            if isinstance(cell, Cell):
                values.append(cell.csv_text())
                if cell.suppressed:
                    hidden.append(column.key)
            else:
                values.append(_safe_text(cell))
        note = f"{SUPPRESSED_TEXT} people: {', '.join(hidden)} not shown" if hidden else ""
        writer.writerow(values + [note])
    return out.getvalue()


def labels(cells: Sequence[Cell | str]) -> list[str]:
    return [c if isinstance(c, str) else c.text() for c in cells]
