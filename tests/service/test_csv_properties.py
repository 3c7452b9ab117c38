"""Property tests for participant CSV files: any bytes give rows or line-numbered errors,
never an exception; whatever can be stored survives export and import unchanged."""

from __future__ import annotations

import io
import re

from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from service.models import Participant
from service.participants import csv_io
from service.participants.schemas import ParticipantIn
from service.participants.service import apply_profile

PROPERTIES = settings(
    max_examples=100,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
HEADER = ",".join(csv_io.COLUMNS)
# Whole-file problems either say where (line N) or are about the file itself.
FILE_MESSAGE = re.compile(r"^(line \d+: |the file |more than )")

_tricky = st.sampled_from(
    [",", ";", '"', "'", "\r", "\n", "\r\n", "\t", "=", "+", "-", "@", "\x00", "\ufeff",
     "\u202e", " ", "nurse", "UTC", "Mon 12:00-13:00", "a@stmarys.example"]
)  # fmt: skip
_cell = st.lists(st.one_of(_tricky, st.characters(codec="utf-8")), max_size=12).map("".join)
_row = st.lists(_cell, min_size=10, max_size=16).map(lambda cells: ",".join(cells))


@st.composite
def csv_files(draw: st.DrawFn) -> bytes:
    """A right or nearly right header, rows of hostile cells, any line endings; or noise."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.binary(max_size=400))
    header = draw(st.sampled_from([HEADER, HEADER.replace(",", ";"), HEADER.upper(), "email"]))
    ending = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = ending.join([header, *draw(st.lists(_row, max_size=6))])
    data = text.encode("utf-8", "surrogatepass")
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + data


@PROPERTIES
@given(data=csv_files())
def test_any_bytes_give_rows_or_line_numbered_errors(data: bytes) -> None:
    try:
        result = csv_io.read_participants_csv(data)
    except csv_io.CsvFileError as exc:
        assert FILE_MESSAGE.match(str(exc)), str(exc)
        return
    lines = data.count(b"\n") + data.count(b"\r") + 1
    for error in result.errors:
        assert 2 <= error.line <= lines
        assert str(error).startswith(f"line {error.line}: ")
        assert error.field in ("", *csv_io.COLUMNS)
    assert not {r.line for r in result.rows} & set(result.invalid_lines)


# --- export, then import -------------------------------------------------------------------

# Anything a person may type in a one-line field, including what spreadsheets take for a
# formula and the apostrophe that is used to escape one.
_typed = st.lists(
    st.one_of(
        st.sampled_from(["=", "+", "-", "@", "'", '"', ",", " ", "SUM(A1)"]),
        st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Zs")),
    ),
    max_size=15,
).map("".join)
_item = _typed.filter(lambda s: ";" not in s)
_address = st.from_regex(r"[a-z]{1,8}(\.[a-z]{1,8})?@[a-z]{2,8}\.example", fullmatch=True)


@st.composite
def profiles(draw: st.DrawFn) -> ParticipantIn:
    values = {
        "email": draw(_address),
        "full_name": draw(_typed),
        "role": draw(st.sampled_from(csv_io.CHOICES["role"])),
        "specialty": draw(_typed),
        "department": draw(_typed),
        "site": draw(_typed),
        "interests": draw(st.lists(_item, max_size=4)),
        "goals": draw(st.lists(_typed, max_size=3).map("\n".join)),
        "mentoring": draw(st.sampled_from(csv_io.CHOICES["mentoring"])),
        "can_teach": draw(st.lists(_item, max_size=3)),
        "wants_to_learn": draw(st.lists(_item, max_size=3)),
        "timezone": draw(st.sampled_from(["UTC", "America/New_York", "Asia/Kolkata"])),
        "availability": draw(st.sampled_from(["", "Mon 12:00-13:00", "Sun 23:00-01:00"])),
        "avoid": draw(st.lists(_address, max_size=2)),
    }
    try:
        return ParticipantIn.model_validate(values)
    except ValidationError:
        reject()


def stored(data: ParticipantIn) -> Participant:
    person = Participant(email=data.email, avoid_entries=[])
    apply_profile(person, data)
    return person


@settings(PROPERTIES, max_examples=50)
@given(people=st.lists(profiles(), min_size=1, max_size=3, unique_by=lambda p: p.email))
def test_whatever_is_stored_survives_export_and_import(people: list[ParticipantIn]) -> None:
    buffer = io.StringIO(newline="")
    assert csv_io.write_participants_csv([stored(p) for p in people], buffer) == len(people)
    result = csv_io.read_participants_csv(buffer.getvalue().encode("utf-8"))
    assert result.errors == []
    expected = [
        p.model_copy(update={"avoid": [a for a in p.avoid if a != p.email]}) for p in people
    ]
    assert [row.participant for row in result.rows] == expected


def test_a_cell_that_starts_like_an_escaped_formula_round_trips() -> None:
    person = ParticipantIn(
        email="ann@stmarys.example", full_name="'=not a formula", role="nurse", timezone="UTC"
    )
    buffer = io.StringIO(newline="")
    csv_io.write_participants_csv([stored(person)], buffer)
    [row] = csv_io.read_participants_csv(buffer.getvalue().encode()).rows
    assert row.participant.full_name == "'=not a formula"
