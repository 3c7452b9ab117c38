"""Weekly availability in UTC 15-minute slots, group common windows and concrete meeting times.

A week has 672 UTC slots of 15 minutes, slot 0 = Monday 00:00-00:15 UTC. A group has a common
30-minute window exactly when the AND of its members' slot vectors has two consecutive set
slots (wrapping from Sunday night into Monday). We therefore keep, per person, the *start*
vector ``a[t] & a[t+1]``: a group has a common window iff the AND of its members' start vectors
is non-zero, which needs one AND per member and no pairwise approximation.

A person with no availability listed is treated as available at any time (the form field is
optional), so they never block a group's common window.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import Counter
from collections.abc import Sequence

import numpy as np

from ._people import Person, check_month, zone

__all__ = [
    "SLOTS_PER_WEEK",
    "find_meeting_time",
    "group_common_window",
    "slot_matrix",
    "start_matrix",
    "weekly_slots",
]

SLOTS_PER_WEEK = 672
_SLOT = 15
_WEEK_MINUTES = 7 * 1440


def _month_offset_minutes(tz_name: str, month: str) -> int:
    """UTC offset (minutes) in effect on most days of ``month`` (ties: the later offset)."""
    year, mon = (int(p) for p in month.split("-"))
    tz = zone(tz_name)
    days = calendar.monthrange(year, mon)[1]
    offsets = [
        int(dt.datetime(year, mon, d, 12, tzinfo=tz).utcoffset().total_seconds() // 60)
        for d in range(1, days + 1)
    ]
    counts = Counter(offsets)
    best = max(counts.values())
    return next(o for o in reversed(offsets) if counts[o] == best)


def _mark(slots: np.ndarray, utc_start_minute: int, utc_end_minute: int) -> None:
    """Set every slot fully inside ``[start, end)`` (minutes from Monday 00:00 UTC, unwrapped)."""
    first = -(-utc_start_minute // _SLOT)
    last = utc_end_minute // _SLOT
    if last > first:
        slots[np.arange(first, last) % SLOTS_PER_WEEK] = True


def weekly_slots(person: Person, month: str | dt.date) -> np.ndarray:
    """Return the person's weekly availability as 672 UTC 15-minute slots.

    Parameters
    ----------
    person : Person
        Availability is read in ``person.timezone``.
    month : str or datetime.date
        ``"YYYY-MM"``: the UTC offset in effect on most days of that month is used (so a March
        round uses US daylight time but European standard time, as both are for most of March).
        A ``date``: the exact offsets of the Monday-to-Sunday week containing that date.

    Returns
    -------
    numpy.ndarray of bool, shape (672,)
        Slot 0 is Monday 00:00-00:15 UTC. All True when the person listed no availability.
    """
    slots = np.zeros(SLOTS_PER_WEEK, dtype=bool)
    if not person.availability:
        slots[:] = True
        return slots
    if isinstance(month, dt.datetime):
        month = month.date()
    if isinstance(month, dt.date):
        tz = zone(person.timezone)
        monday = month - dt.timedelta(days=month.weekday())
        for weekday, start, end in person.availability:
            local = dt.datetime.combine(monday + dt.timedelta(days=weekday), dt.time(),
                                        tzinfo=tz) + dt.timedelta(minutes=start)
            offset = int(local.utcoffset().total_seconds() // 60)
            base = weekday * 1440 - offset
            _mark(slots, base + start + _WEEK_MINUTES, base + end + _WEEK_MINUTES)
        return slots
    offset = _month_offset_minutes(person.timezone, check_month(month))
    for weekday, start, end in person.availability:
        base = weekday * 1440 - offset + _WEEK_MINUTES
        _mark(slots, base + start, base + end)
    return slots


def slot_matrix(people: Sequence[Person], month: str | dt.date) -> np.ndarray:
    """Stack :func:`weekly_slots` for a cohort into a ``(n, 672)`` bool array."""
    if not people:
        return np.zeros((0, SLOTS_PER_WEEK), dtype=bool)
    return np.stack([weekly_slots(p, month) for p in people])


def start_matrix(slots: np.ndarray) -> np.ndarray:
    """Slots where a 30-minute meeting can start: ``a[t] & a[t+1]`` (week wraps around)."""
    return slots & np.roll(slots, -1, axis=-1)


def group_common_window(starts: np.ndarray, groups: Sequence[Sequence[int]]) -> np.ndarray:
    """For each group (indices into ``starts`` rows) whether all members share a 30-min window."""
    out = np.zeros(len(groups), dtype=bool)
    for g, members in enumerate(groups):
        if len(members):
            out[g] = bool(np.logical_and.reduce(starts[list(members)], axis=0).any())
    return out


def _merged_intervals(person: Person, first: dt.date, last: dt.date,
                      weekdays_only: bool) -> list[tuple[dt.datetime, dt.datetime]]:
    tz = zone(person.timezone)
    intervals = []
    day = first
    while day <= last:
        for weekday, start, end in person.availability:
            if weekday != day.weekday() or (weekdays_only and weekday >= 5):
                continue
            midnight = dt.datetime.combine(day, dt.time(), tzinfo=tz)
            begin = (midnight + dt.timedelta(minutes=start)).astimezone(dt.UTC)
            # Wall-clock end; across a DST switch the UTC difference changes, which is the point.
            end_local = dt.datetime.combine(day + dt.timedelta(days=end // 1440),
                                            dt.time(), tzinfo=tz) + dt.timedelta(minutes=end % 1440)
            intervals.append((begin, end_local.astimezone(dt.UTC)))
        day += dt.timedelta(days=1)
    intervals.sort()
    merged: list[tuple[dt.datetime, dt.datetime]] = []
    for begin, end in intervals:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((begin, end))
    return merged


def find_meeting_time(people: Sequence[Person], *, start: dt.date, end: dt.date,
                      duration_minutes: int = 30, weekdays_only: bool = True) -> dt.datetime | None:
    """Earliest UTC time in ``[start, end]`` (UTC dates, inclusive) when everyone is available.

    Every concrete date is converted with ``zoneinfo``, so daylight-saving switches inside the
    range are exact. With ``weekdays_only`` a window counts only on a member's local Monday to
    Friday. People without availability are treated as always available.

    Returns
    -------
    datetime.datetime or None
        A timezone-aware UTC datetime, or None when no common time exists.
    """
    if not isinstance(start, dt.date) or not isinstance(end, dt.date):
        raise TypeError("start and end must be datetime.date objects")
    if isinstance(start, dt.datetime):
        start = start.date()
    if isinstance(end, dt.datetime):
        end = end.date()
    if end < start:
        raise ValueError(f"end {end} is before start {start}")
    if duration_minutes <= 0:
        raise ValueError("duration_minutes must be positive")
    if not people:
        raise ValueError("find_meeting_time needs at least one person")
    lo = dt.datetime.combine(start, dt.time(), tzinfo=dt.UTC)
    hi = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)
    duration = dt.timedelta(minutes=duration_minutes)
    constrained = [p for p in people if p.availability]
    if not constrained:
        t = lo
        while weekdays_only and t.weekday() >= 5:
            t += dt.timedelta(days=1)
        return t if t + duration <= hi else None
    # Local dates can be a day off the UTC range, and windows may run past midnight.
    first, last = start - dt.timedelta(days=2), end + dt.timedelta(days=1)
    per_person = [_merged_intervals(p, first, last, weekdays_only) for p in constrained]
    candidates = sorted({lo, *(b for ivs in per_person for b, _ in ivs if lo <= b < hi)})
    for t in candidates:
        if t + duration > hi:
            break
        if all(any(b <= t and t + duration <= e for b, e in ivs) for ivs in per_person):
            return t
    return None
