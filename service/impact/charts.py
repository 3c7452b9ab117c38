"""Server-side SVG charts: monthly bars and lines, horizontal bars, and a department network.

The page's CSP allows no inline styles, so colours and sizes are presentation attributes
(`fill=`, `stroke=`, `font-size=`) or classes from admin-impact.css, never `style=`. Every
chart is an accessible image (`role="img"`, a <title> and a <desc> that lists the numbers),
every mark has a <title> tooltip, and every piece of text goes through `_esc`. Output is
deterministic: same numbers, same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING

from markupsafe import Markup

from service.impact.figures import SUPPRESSED_TEXT, Cell

if TYPE_CHECKING:
    from service.impact.metrics import ImpactReport

PALETTE = ("#2f6690", "#c2692b", "#3a7d44", "#7b4b94")
GRID = "#d8d2c8"
INK = "#222222"
MUTED = "#4a5360"
DESCRIBED_LINKS = 15
DRAWN_LINKS = 80


def _esc(text: object) -> str:
    return escape(str(text), quote=True)


def _num(value: float) -> str:
    """Coordinates with one decimal, without '-0.0', so output is stable."""
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


@dataclass(frozen=True)
class Series:
    label: str
    cells: Sequence[Cell]


def _open_svg(chart_id: str, title: str, description: str, width: int, height: int) -> list[str]:
    ident = _esc(chart_id)
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="impact-chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{ident}-title {ident}-desc" font-family="sans-serif">',
        f'<title id="{ident}-title">{_esc(title)}</title>',
        f'<desc id="{ident}-desc">{_esc(description)}</desc>',
    ]


def _describe(labels: Sequence[str], series: Sequence[Series]) -> str:
    parts = []
    for s in series:
        values = "; ".join(
            f"{label}: {cell.text()}" for label, cell in zip(labels, s.cells, strict=True)
        )
        parts.append(f"{s.label}: {values}.")
    return " ".join(parts)


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return 10 * magnitude


def _tick_text(value: float, kind: str) -> str:
    if kind == "percent":
        return f"{value * 100:.0f}%"
    if kind == "average":
        return f"{value:.0f}" if value == int(value) else f"{value:.1f}"
    return f"{value:,.0f}"


def month_chart(
    chart_id: str,
    title: str,
    months: Sequence[str],
    *,
    bars: Series | None = None,
    lines: Sequence[Series] = (),
    kind: str = "count",
    y_range: tuple[float, float] | None = None,
) -> Markup:
    """A chart over months: optional bars plus lines, one shared y axis.

    `kind` ("count", "percent", "average") formats the axis; suppressed cells are not drawn
    but marked "<5" on the axis so a gap is not read as zero.
    """
    width, height = 640, 300
    left, right, top, bottom = 56, 16, 20, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    series = ([bars] if bars else []) + list(lines)
    shown = [c.shown for s in series for c in s.cells if c.shown is not None]
    low, high = y_range if y_range else (0.0, _nice_max(max(shown, default=0.0)))
    description = _describe(months, series) or "No rounds yet."
    out = _open_svg(chart_id, title, description, width, height)
    band = plot_w / max(len(months), 1)

    def x_mid(i: int) -> float:
        return left + band * (i + 0.5)

    def y_of(value: float) -> float:
        return top + plot_h - (value - low) / (high - low) * plot_h

    out.append('<g class="axis" font-size="12" fill="#4a5360">')
    for k in range(5):
        value = low + (high - low) * k / 4
        tick_y = _num(y_of(value))
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{tick_y}" y2="{tick_y}" stroke="{GRID}" '
            'stroke-width="1"/>'
        )
        out.append(
            f'<text x="{left - 6}" y="{tick_y}" dy="4" text-anchor="end">'
            f"{_esc(_tick_text(value, kind))}</text>"
        )
    for i, month in enumerate(months):
        out.append(
            f'<text x="{_num(x_mid(i))}" y="{height - bottom + 18}" '
            f'text-anchor="middle">{_esc(month)}</text>'
        )
    out.append("</g>")

    if bars is not None:
        bar_w = band * 0.6
        out.append(f'<g class="bars" fill="{PALETTE[0]}">')
        for i, (month, cell) in enumerate(zip(months, bars.cells, strict=True)):
            tip = f"{month} · {bars.label}: {cell.text()}"
            if cell.shown is None:
                out.append(
                    f'<text class="suppressed" x="{_num(x_mid(i))}" '
                    f'y="{_num(y_of(low) - 4)}" text-anchor="middle" font-size="11" '
                    f'fill="{MUTED}"><title>{_esc(tip)}</title>&lt;5</text>'
                )
                continue
            y = y_of(cell.shown)
            out.append(
                f'<rect class="bar" x="{_num(x_mid(i) - bar_w / 2)}" y="{_num(y)}" '
                f'width="{_num(bar_w)}" height="{_num(y_of(low) - y)}">'
                f"<title>{_esc(tip)}</title></rect>"
            )
        out.append("</g>")

    for n, line in enumerate(lines, start=1 if bars else 0):
        colour = PALETTE[n % len(PALETTE)]
        points = [(i, c.shown) for i, c in enumerate(line.cells) if c.shown is not None]
        out.append(f'<g class="line" stroke="{colour}" fill="{colour}">')
        if len(points) > 1:
            coords = " ".join(f"{_num(x_mid(i))},{_num(y_of(v))}" for i, v in points)
            out.append(f'<polyline points="{coords}" fill="none" stroke-width="2.5"/>')
        for i, cell in enumerate(line.cells):
            tip = f"{months[i]} · {line.label}: {cell.text()}"
            if cell.shown is None:
                continue
            out.append(
                f'<circle cx="{_num(x_mid(i))}" cy="{_num(y_of(cell.shown))}" r="4">'
                f"<title>{_esc(tip)}</title></circle>"
            )
        out.append("</g>")

    if len(series) > 1:
        out.append('<g class="legend" font-size="12">')
        x = left
        for n, s in enumerate(series):
            colour = PALETTE[n % len(PALETTE)]
            out.append(f'<rect x="{x}" y="{height - 20}" width="12" height="12" fill="{colour}"/>')
            out.append(f'<text x="{x + 16}" y="{height - 10}" fill="{INK}">{_esc(s.label)}</text>')
            x += 24 + 7 * len(s.label)
        out.append("</g>")
    out.append("</svg>")
    return Markup("\n".join(out))


def hbar_chart(
    chart_id: str, title: str, labels: Sequence[str], cells: Sequence[Cell], *, kind: str
) -> Markup:
    """Horizontal bars, one per category (outcomes, retention, ties)."""
    row_h, label_w, width = 34, 300, 640
    height = 16 + row_h * max(len(labels), 1)
    plot_w = width - label_w - 70
    shown = [c.shown for c in cells if c.shown is not None]
    high = 1.0 if kind == "percent" else _nice_max(max(shown, default=0.0))
    description = "; ".join(
        f"{label}: {cell.text()}" for label, cell in zip(labels, cells, strict=True)
    )
    out = _open_svg(chart_id, title, description or "No data yet.", width, height)
    out.append(f'<g class="hbars" font-size="13" fill="{INK}">')
    for i, (label, cell) in enumerate(zip(labels, cells, strict=True)):
        y = 8 + i * row_h
        short = label if len(label) <= 44 else label[:43] + "…"
        out.append(f'<text x="{label_w - 8}" y="{y + 17}" text-anchor="end">{_esc(short)}</text>')
        tip = f"{label}: {cell.text()}"
        if cell.shown is None:
            out.append(
                f'<text class="suppressed" x="{label_w}" y="{y + 17}" fill="{MUTED}">'
                f"<title>{_esc(tip)}</title>{_esc(SUPPRESSED_TEXT)}</text>"
            )
            continue
        bar = plot_w * (cell.shown / high if high else 0)
        out.append(
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{_num(bar)}" '
            f'height="{row_h - 12}" fill="{PALETTE[0]}"><title>{_esc(tip)}</title></rect>'
        )
        out.append(f'<text x="{_num(label_w + bar + 6)}" y="{y + 17}">{_esc(cell.text())}</text>')
    out.append("</g></svg>")
    return Markup("\n".join(out))


def network_chart(
    chart_id: str,
    title: str,
    departments: Sequence[str],
    people: Sequence[Cell],
    edges: Sequence[tuple[int, int, Cell]],
) -> Markup:
    """Departments on a circle (in the given order, from the top, clockwise), joined by lines
    whose width grows with the number of meetings. Only the `DRAWN_LINKS` strongest links are
    drawn, and never one resting on fewer than 5 people."""
    # Labels run outwards along the radius, so the canvas leaves room for them all round.
    width, height, radius = 800, 800, 195
    cx, cy = width / 2, height / 2
    n = max(len(departments), 1)
    angles = [-math.pi / 2 + 2 * math.pi * i / n for i in range(len(departments))]
    points = [(cx + radius * math.cos(a), cy + radius * math.sin(a)) for a in angles]
    # Only the strongest links are drawn: hundreds of lines would hide the structure.
    drawn = sorted(
        ((a, b, c) for a, b, c in edges if c.shown is not None),
        key=lambda e: (-(e[2].shown or 0), e[0], e[1]),
    )[:DRAWN_LINKS]
    heaviest = max((c.shown or 0 for _, _, c in drawn), default=1) or 1
    most_people = max((c.shown or 0 for c in people), default=1) or 1
    # The description lists the strongest links; the full list is in the table and the CSV.
    strongest = drawn[:DESCRIBED_LINKS]
    summary = "; ".join(
        f"{departments[a]} and {departments[b]}: {c.text()} meetings" for a, b, c in strongest
    )
    more = len(edges) - len(strongest)
    description = (
        f"{len(departments)} departments. "
        + (f"Strongest links: {summary}." if summary else "No links to show yet.")
        + (f" {more} more links are in the table; {len(drawn)} are drawn." if more > 0 else "")
    )
    out = _open_svg(chart_id, title, description, width, height)
    out.append(
        f'<g class="edges" stroke="{PALETTE[0]}" stroke-opacity="0.55" stroke-linecap="round">'
    )
    for a, b, cell in sorted(drawn, key=lambda e: (e[2].shown or 0, e[0], e[1])):
        (x1, y1), (x2, y2) = points[a], points[b]
        stroke = 1 + 11 * (cell.shown or 0) / heaviest
        tip = f"{departments[a]} – {departments[b]}: {cell.text()} meetings"
        out.append(
            f'<line x1="{_num(x1)}" y1="{_num(y1)}" x2="{_num(x2)}" y2="{_num(y2)}" '
            f'stroke-width="{_num(stroke)}"><title>{_esc(tip)}</title></line>'
        )
    out.append("</g>")
    out.append(f'<g class="nodes" font-size="12" fill="{INK}">')
    for i, name in enumerate(departments):
        x, y = points[i]
        cell = people[i]
        r = 5 + 11 * math.sqrt((cell.shown or 0) / most_people)
        tip = f"{name}: {cell.text()} people met someone"
        out.append(
            f'<circle cx="{_num(x)}" cy="{_num(y)}" r="{_num(r)}" fill="{PALETTE[1]}" '
            f'stroke="#ffffff" stroke-width="1.5"><title>{_esc(tip)}</title></circle>'
        )
        degrees = math.degrees(angles[i])
        lx = cx + (radius + r + 6) * math.cos(angles[i])
        ly = cy + (radius + r + 6) * math.sin(angles[i])
        # On the left half the text is turned half a turn so that it never reads upside down.
        right_half = math.cos(angles[i]) >= -1e-9
        anchor, turn = ("start", degrees) if right_half else ("end", degrees + 180)
        short = name if len(name) <= 26 else name[:25] + "…"
        out.append(
            f'<text x="{_num(lx)}" y="{_num(ly)}" dy="4" text-anchor="{anchor}" '
            f'transform="rotate({_num(turn)} {_num(lx)} {_num(ly)})">{_esc(short)}</text>'
        )
    out.append("</g></svg>")
    return Markup("\n".join(out))


def report_charts(report: ImpactReport) -> dict[str, Markup]:
    """One chart per figure of the Impact report, keyed like `report.figures`."""
    f = report.figures
    months = report.months

    def cells(key: str, column: str) -> list[Cell]:
        return [c for c in f[key].column(column) if isinstance(c, Cell)]

    def names(key: str, column: str) -> list[str]:
        return [str(c) for c in f[key].column(column)]

    net = report.network
    return {
        "participation": month_chart(
            "chart-participation",
            f["participation"].title,
            months,
            bars=Series("Took part", cells("participation", "took_part")),
            lines=[Series("Signed up", cells("participation", "signed_up"))],
        ),
        "meetings": month_chart(
            "chart-meetings",
            f["meetings"].title,
            months,
            lines=[Series("Groups that met", cells("meetings", "met_rate"))],
            kind="percent",
            y_range=(0.0, 1.0),
        ),
        "ratings": month_chart(
            "chart-ratings",
            f["ratings"].title,
            months,
            lines=[Series("Average rating", cells("ratings", "average_rating"))],
            kind="average",
            y_range=(1.0, 5.0),
        ),
        "outcomes": hbar_chart(
            "chart-outcomes",
            f["outcomes"].title,
            names("outcomes", "outcome"),
            cells("outcomes", "people"),
            kind="count",
        ),
        "connections": month_chart(
            "chart-connections",
            f["connections"].title,
            months,
            bars=Series("New connections", cells("connections", "new_connections")),
            lines=[Series("Total so far", cells("connections", "cumulative_connections"))],
        ),
        "ties": hbar_chart(
            "chart-ties",
            f["ties"].title,
            names("ties", "measure"),
            cells("ties", "share"),
            kind="percent",
        ),
        "retention": hbar_chart(
            "chart-retention",
            f["retention"].title,
            names("retention", "measure"),
            cells("retention", "share"),
            kind="percent",
        ),
        "network": network_chart(
            "chart-network",
            f["network"].title,
            net.departments,
            net.people,
            [(e.a, e.b, Cell(float(e.meetings), e.people)) for e in net.edges],
        ),
    }
