"""When a round runs, when its meetings may happen, and the meeting time of a group."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import matching
from service.models import Organization


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def parse_month(month: str) -> tuple[int, int]:
    try:
        year, mon = (int(part) for part in month.split("-"))
    except ValueError:
        raise ValueError(f"'{month}' is not a month like 2026-03") from None
    if not (2000 <= year <= 2100 and 1 <= mon <= 12) or len(month) != 7:
        raise ValueError(f"'{month}' is not a month like 2026-03")
    return year, mon


def month_label(month: str) -> str:
    year, mon = parse_month(month)
    return f"{calendar.month_name[mon]} {year}"


def round_due_at(org: Organization, month: str) -> datetime:
    """The moment this organization's round for `month` is due, e.g. the first Monday 09:00."""
    year, mon = parse_month(month)
    first = date(year, mon, 1)
    offset = (org.round_weekday - first.weekday()) % 7
    day = first + timedelta(days=offset + 7 * (org.round_week_of_month - 1))
    local = datetime.combine(day, time(org.round_hour, org.round_minute), ZoneInfo(org.timezone))
    return local.astimezone(UTC)


def scheduling_window(org: Organization, month: str, *, now: datetime) -> tuple[date, date]:
    """The dates meetings may fall on: by default the 2nd and 3rd weeks of the month.

    A round made late (a catch-up, or by hand) never schedules in the past: it moves the window
    to start two days from now and, if need be, stretches it to the end of the month.
    """
    year, mon = parse_month(month)
    last_day = calendar.monthrange(year, mon)[1]
    start = date(year, mon, min(org.schedule_window_start_day, last_day))
    end = date(year, mon, min(max(org.schedule_window_end_day, 1), last_day))
    earliest = (now + timedelta(days=2)).date()
    if start < earliest:
        start = earliest
        if end < start + timedelta(days=6):
            end = max(date(year, mon, last_day), start + timedelta(days=6))
    return start, end


def meeting_time(
    org: Organization, people: list[matching.Person], *, window: tuple[date, date]
) -> tuple[datetime, bool]:
    """The earliest slot everyone can make, or a weekday lunch hour when there is none.

    Returns (start in UTC, everyone_available).
    """
    duration = org.meeting_minutes
    found = matching.find_meeting_time(
        people, start=window[0], end=window[1], duration_minutes=duration, weekdays_only=True
    )
    if found is not None:
        return found, True
    # No common time: propose lunchtime in the hospital's own zone; the email says so.
    zone = ZoneInfo(org.timezone)
    day = window[0]
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return datetime.combine(day, time(12, 0), zone).astimezone(UTC), False


def format_local(moment: datetime, zone_name: str) -> str:
    local = moment.astimezone(ZoneInfo(zone_name))
    return local.strftime("%A %d %B %Y, %H:%M").replace(" 0", " ", 1)
