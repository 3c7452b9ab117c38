"""Input validation of people, topics, history and weights: clear messages, never tracebacks
from deep inside NumPy."""

from __future__ import annotations

import pytest

from matching import MatchWeights, PastGroup, Person, parse_availability


def test_csv_row_is_parsed_with_past_midnight_windows() -> None:
    row = {"email": "ana@h.org", "full_name": "Ana Ruiz", "role": "Resident",
           "specialty": "cardiology", "department": "medicine", "site": "north",
           "interests": "quality improvement; sepsis", "goals": "learn QI",
           "mentoring": "seek", "can_teach": "", "wants_to_learn": "grant writing",
           "timezone": "America/Chicago", "availability": "Mon 12:00-13:00; Tue 23:00-01:00",
           "avoid": "bob@h.org"}
    p = Person.from_row(row)
    assert p.role == "resident"
    assert p.interests == ("quality improvement", "sepsis")
    assert p.availability == ((0, 720, 780), (1, 1380, 1500))
    assert p.avoid == frozenset({"bob@h.org"})
    assert p.is_trainee and not p.is_senior


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
        ({"role": "surgeon"}, "role 'surgeon'"),
        ({"mentoring": "maybe"}, "mentoring 'maybe'"),
        ({"availability": ((7, 0, 60),)}, "weekday 7"),
        ({"availability": ((0, 600, 500),)}, "start_minute < end_minute"),
        ({"availability": ((0, 600),)}, "must be a tuple"),
        ({"availability": ((0, "9:00", 700),)}, "must hold integers"),
        ({"availability": ((0, 1500, 1600),)}, "not in 0..1439"),
    ],
)
def test_bad_person_fields_name_the_person_and_field(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as info:
        Person(key="x@h.org", name="X", role=kwargs.pop("role", "nurse"), **kwargs)
    assert "x@h.org" in str(info.value) or "time zone" in str(info.value)


def test_empty_key_is_rejected() -> None:
    with pytest.raises(ValueError, match="key"):
        Person(key=" ", name="X", role="nurse")


@pytest.mark.parametrize("text", ["Monday noon", "Xyz 10:00-11:00", "Mon 25:00-26:00"])
def test_bad_availability_text(text: str) -> None:
    with pytest.raises(ValueError, match="availability"):
        parse_availability(text, key="x@h.org")


def test_bad_history_month_and_members() -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        PastGroup("2026/01", ("a", "b"))
    with pytest.raises(TypeError, match="tuple of keys"):
        PastGroup("2026-01", "ab")


def test_weights_must_be_non_negative() -> None:
    with pytest.raises(ValueError, match="MatchWeights.interests"):
        MatchWeights(interests=-1.0)
    assert MatchWeights.equal().interests == 0.0
