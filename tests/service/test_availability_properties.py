"""Property tests for the weekly availability format (`Mon 12:00-13:00; Thu 07:00-07:30`)."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.participants.availability import (
    MAX_WINDOWS,
    WEEKDAYS,
    format_availability,
    parse_availability,
)

DAY = 24 * 60
FAST = settings(
    max_examples=200,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def windows(draw: st.DrawFn) -> tuple[int, int, int]:
    day = draw(st.integers(0, 6))
    start = draw(st.integers(0, DAY - 1))
    if start == 0 and draw(st.booleans()):
        return day, 0, DAY  # the whole day
    # Shorter than a day; a window may run past midnight.
    end = draw(st.integers(start + 15, start + DAY - 1))
    return day, start, end


_clock = st.builds("{}:{:02d}".format, st.integers(0, 30), st.integers(0, 99))
_window_like = st.builds(
    "{} {}{}{}".format,
    st.sampled_from([*WEEKDAYS, "mon", "Monday", "Tues.", "Xyz", "", "Mo"]),
    _clock,
    st.sampled_from(["-", "–", " - ", "", "to"]),
    _clock,
)
# Text that is sometimes valid and often broken in every way the parser must survive.
_availability_text = st.lists(st.one_of(_window_like, st.text(max_size=20)), max_size=8).flatmap(
    lambda parts: st.sampled_from(["; ", ";", "\n", "\r\n", ", "]).map(lambda sep: sep.join(parts))
)


@FAST
@given(text=_availability_text)
def test_any_text_gives_windows_or_one_readable_error(text: str) -> None:
    try:
        parsed = parse_availability(text)
    except ValueError as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 300
        return
    assert len(parsed) <= MAX_WINDOWS
    for day, start, end in parsed:
        assert 0 <= day <= 6 and 0 <= start < DAY and start + 15 <= end <= start + DAY
        assert end - start < DAY or (start, end) == (0, DAY)


@FAST
@given(st.lists(windows(), max_size=MAX_WINDOWS, unique=True))
def test_windows_survive_their_text_form(chosen: list[tuple[int, int, int]]) -> None:
    text = format_availability(chosen)
    assert parse_availability(text) == sorted(chosen)
    # Each window in the text reads like a person would write it.
    for part in text.split("; ") if text else []:
        assert re.fullmatch(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d:\d\d-\d\d:\d\d", part), part


@FAST
@given(st.lists(windows(), max_size=MAX_WINDOWS, unique=True))
def test_the_json_form_and_the_text_form_agree(chosen: list[tuple[int, int, int]]) -> None:
    as_lists = [list(w) for w in chosen]
    assert parse_availability(as_lists) == parse_availability(format_availability(chosen))


def test_only_midnight_to_midnight_is_a_whole_day_in_both_forms() -> None:
    assert parse_availability([[0, 0, DAY]]) == parse_availability("Mon 00:00-24:00")
    with pytest.raises(ValueError, match="not a valid"):
        parse_availability([[0, 600, 600 + DAY]])
    with pytest.raises(ValueError, match="starts and ends at the same time"):
        parse_availability("Mon 10:00-10:00")
