"""The weekly availability text format: `Mon 12:00-13:00; Thu 07:00-07:30`."""

from __future__ import annotations

import re
from functools import lru_cache

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
MAX_WINDOWS = 28
_WINDOW = re.compile(
    r"^(?P<day>[A-Za-z]{3})[a-z]*\.?\s+(?P<h1>\d{1,2}):(?P<m1>\d{2})\s*[-–]\s*(?P<h2>\d{1,2}):(?P<m2>\d{2})$"
)

Window = tuple[int, int, int]


def _minutes(hours: str, minutes: str, *, allow_24: bool) -> int:
    h, m = int(hours), int(minutes)
    if m > 59 or h > 24 or (h == 24 and (m != 0 or not allow_24)):
        raise ValueError(f"{hours}:{minutes} is not a time of day (use 24-hour HH:MM)")
    return h * 60 + m


def parse_window(text: str) -> Window:
    """Parse one `Mon 12:00-13:00` window; an end before the start runs past midnight."""
    match = _WINDOW.match(text.strip())
    if not match:
        raise ValueError(
            f"'{text.strip()[:40]}' is not a window like 'Mon 12:00-13:00' "
            "(weekday, then 24-hour start-end)"
        )
    day = match["day"].capitalize()
    if day not in WEEKDAYS:
        raise ValueError(
            f"'{match['day']}' is not a weekday (use Mon, Tue, Wed, Thu, Fri, Sat, Sun)"
        )
    start = _minutes(match["h1"], match["m1"], allow_24=False)
    end = _minutes(match["h2"], match["m2"], allow_24=True)
    if end == start:
        raise ValueError(f"'{text.strip()}' starts and ends at the same time")
    if end < start:
        end += 24 * 60
    if end - start < 15:
        raise ValueError(f"'{text.strip()}' is shorter than 15 minutes")
    return (WEEKDAYS.index(day), start, end)


def parse_availability(value: str | list[str] | list[list[int]] | None) -> list[Window]:
    """Parse `;`-separated windows (or a list of them); merge duplicates, keep a stable order."""
    if value is None:
        return []
    items: list[str | list[int] | tuple[int, ...]]
    if isinstance(value, str):
        items = [part for part in re.split(r"[;\n]", value) if part.strip()]
    else:
        items = list(value)
    windows: set[Window] = set()
    for item in items:
        if isinstance(item, str):
            windows.add(parse_window(item))
        elif (
            isinstance(item, list | tuple)
            and len(item) == 3
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
        ):
            day, start, end = item
            # Shorter than a day, or midnight to midnight: the text form of a whole day from
            # any other time ("Mon 10:00-10:00") would read as "starts and ends at once".
            length_ok = start + 15 <= end < start + 1440 or (start, end) == (0, 1440)
            if not (0 <= day <= 6 and 0 <= start < 1440 and length_ok):
                raise ValueError(f"{list(item)} is not a valid [weekday, start, end] window")
            windows.add((day, start, end))
        else:
            raise ValueError(f"{str(item)[:40]!r} is not an availability window")
    if len(windows) > MAX_WINDOWS:
        raise ValueError(f"at most {MAX_WINDOWS} weekly windows, please")
    return sorted(windows)


@lru_cache(maxsize=24 * 60)
def _clock(minutes: int) -> str:
    minutes %= 24 * 60
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def format_window(window: Window | list[int]) -> str:
    day, start, end = window
    end_text = "24:00" if end == 24 * 60 else _clock(end)
    return f"{WEEKDAYS[day]} {_clock(start)}-{end_text}"


def format_availability(windows: list[Window] | list[list[int]]) -> str:
    return "; ".join(format_window(w) for w in windows)
