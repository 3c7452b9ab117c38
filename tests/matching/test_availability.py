"""UTC slots and meeting times, including the weeks when the US and the EU switch DST on
different dates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from matching import Person, find_meeting_time, group_common_window, start_matrix, weekly_slots

MON_NOON = ((0, 12 * 60, 13 * 60),)  # Monday 12:00-13:00 local


def person(key: str, tz: str, windows=MON_NOON) -> Person:
    return Person(key=key, name=key, role="attending", timezone=tz, availability=windows)


def utc_hours_set(slots: np.ndarray) -> list[float]:
    return [t / 4 for t in np.flatnonzero(slots)]


def test_weekly_slots_are_utc_quarter_hours_of_the_local_window() -> None:
    slots = weekly_slots(person("a", "UTC"), "2026-06")
    assert slots.shape == (672,)
    assert utc_hours_set(slots) == [12.0, 12.25, 12.5, 12.75]


@pytest.mark.parametrize(
    ("month", "new_york_utc_hour", "berlin_utc_hour"),
    [
        ("2026-01", 17, 11),  # both standard time
        ("2026-03", 16, 11),  # US on daylight time from Mar 8, Berlin standard until Mar 29
        ("2026-07", 16, 10),  # both summer time
        ("2026-10", 16, 10),  # Berlin back to CET only on Oct 25: summer time most of October
        ("2026-11", 17, 11),  # US back to EST on Nov 1
    ],
)
def test_month_slots_follow_the_offset_in_effect_most_of_the_month(
        month: str, new_york_utc_hour: int, berlin_utc_hour: int) -> None:
    assert utc_hours_set(weekly_slots(person("ny", "America/New_York"), month))[0] == \
        new_york_utc_hour
    assert utc_hours_set(weekly_slots(person("be", "Europe/Berlin"), month))[0] == berlin_utc_hour


@pytest.mark.parametrize(
    ("week_of", "new_york_utc_hour", "berlin_utc_hour"),
    [
        (dt.date(2026, 3, 2), 17, 11),   # before either switch
        (dt.date(2026, 3, 16), 16, 11),  # the gap weeks: New York already on EDT
        (dt.date(2026, 3, 30), 16, 10),  # both on summer time
        (dt.date(2026, 10, 26), 16, 11),  # late October: Berlin on CET, New York still EDT
        (dt.date(2026, 11, 2), 17, 11),  # November: both standard
    ],
)
def test_exact_week_slots_across_dst_switches(week_of: dt.date, new_york_utc_hour: int,
                                              berlin_utc_hour: int) -> None:
    assert utc_hours_set(weekly_slots(person("ny", "America/New_York"), week_of))[0] == \
        new_york_utc_hour
    assert utc_hours_set(weekly_slots(person("be", "Europe/Berlin"), week_of))[0] == \
        berlin_utc_hour


def test_window_past_midnight_on_sunday_wraps_into_monday() -> None:
    late = person("late", "UTC", windows=((6, 23 * 60 + 30, 24 * 60 + 30),))
    assert utc_hours_set(weekly_slots(late, "2026-06")) == [0.0, 0.25, 167.5, 167.75]


def test_no_availability_means_always_available() -> None:
    assert weekly_slots(Person(key="x", name="X", role="nurse"), "2026-06").all()


def test_group_window_needs_all_members_not_just_pairs() -> None:
    # a: 12:00-13:00, b: 12:30-14:00, c: 13:00-14:00 -> a-b and b-c overlap, a-c does not.
    people = [person("a", "UTC", ((0, 720, 780),)), person("b", "UTC", ((0, 750, 840),)),
              person("c", "UTC", ((0, 780, 840),))]
    starts = start_matrix(np.stack([weekly_slots(p, "2026-06") for p in people]))
    assert group_common_window(starts, [[0, 1], [1, 2], [0, 1, 2]]).tolist() == [True, True,
                                                                                 False]


def test_fifteen_minute_overlap_is_not_a_30_minute_window() -> None:
    people = [person("a", "UTC", ((0, 720, 780),)), person("b", "UTC", ((0, 765, 840),))]
    starts = start_matrix(np.stack([weekly_slots(p, "2026-06") for p in people]))
    assert not group_common_window(starts, [[0, 1]])[0]


def test_find_meeting_time_uses_each_concrete_date_across_the_march_gap() -> None:
    ny = person("ny", "America/New_York", ((0, 11 * 60, 12 * 60),))  # Mon 11-12 New York
    berlin = person("be", "Europe/Berlin", ((0, 16 * 60, 17 * 60),))  # Mon 16-17 Berlin
    # Mar 2: NY 16-17 UTC, Berlin 15-16 UTC -> none. Mar 9 (US switched): both 15-16 UTC.
    found = find_meeting_time([ny, berlin], start=dt.date(2026, 3, 1), end=dt.date(2026, 3, 31))
    assert found == dt.datetime(2026, 3, 9, 15, 0, tzinfo=dt.UTC)
    # From Mar 30 Berlin is on CEST (14-15 UTC) and they no longer overlap.
    assert find_meeting_time([ny, berlin], start=dt.date(2026, 3, 30),
                             end=dt.date(2026, 4, 20)) is None


def test_find_meeting_time_late_october_gap_week() -> None:
    ny = person("ny", "America/New_York", ((0, 10 * 60, 11 * 60),))  # Mon 10-11 New York
    berlin = person("be", "Europe/Berlin", ((0, 15 * 60, 16 * 60),))  # Mon 15-16 Berlin
    # Only on Mon Oct 26 2026 (Berlin CET, New York EDT) do both map to 14:00-15:00 UTC.
    found = find_meeting_time([ny, berlin], start=dt.date(2026, 10, 1),
                              end=dt.date(2026, 11, 30))
    assert found == dt.datetime(2026, 10, 26, 14, 0, tzinfo=dt.UTC)


def test_find_meeting_time_weekdays_only_and_duration() -> None:
    weekend = person("w", "UTC", ((5, 600, 660),))
    assert find_meeting_time([weekend], start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30)) \
        is None
    found = find_meeting_time([weekend], start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30),
                              weekdays_only=False, duration_minutes=60)
    assert found == dt.datetime(2026, 6, 6, 10, 0, tzinfo=dt.UTC)
    assert find_meeting_time([weekend], start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30),
                             weekdays_only=False, duration_minutes=61) is None


def test_find_meeting_time_rejects_bad_ranges() -> None:
    with pytest.raises(ValueError, match="before start"):
        find_meeting_time([person("a", "UTC")], start=dt.date(2026, 6, 2),
                          end=dt.date(2026, 6, 1))
    with pytest.raises(ValueError, match="at least one person"):
        find_meeting_time([], start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 2))


def test_weekly_slots_rejects_bad_month() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        weekly_slots(person("a", "UTC"), "March 2026")
