"""iCalendar invites: iTIP properties, re-parsing, DST, injection and validation."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest
import vobject
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from notifications import PRODID, build_invite
from notifications.ics import clean_ics_line, clean_ics_name, clean_ics_text

UID = "6f0b1c1e-3f7a-4f4e-9a51-5d2f0c8b7a10"
ORGANIZER = "coffee@hospital.example"
NEW_YORK = ZoneInfo("America/New_York")
PEOPLE = [
    ("amina@hospital.example", "Dr. Amina Yusuf"),
    ("li@hospital.example", "Li Wei"),
    ("sam@hospital.example", "Sam O'Neill"),
]


def _invite(**overrides: Any) -> bytes:
    options: dict[str, Any] = {
        "uid": UID,
        "sequence": 0,
        "method": "REQUEST",
        "organizer_email": ORGANIZER,
        "organizer_name": "Coffee Rounds",
        "attendees": PEOPLE,
        "start": datetime(2026, 3, 5, 12, 30, tzinfo=NEW_YORK),
        "end": datetime(2026, 3, 5, 13, 0, tzinfo=NEW_YORK),
        "summary": "Coffee Rounds: Amina, Li and Sam",
        "description": "Join: https://meet.example.org/abc\nTopic: a small win this week",
        "location": "https://meet.example.org/abc",
        "url": "https://meet.example.org/abc",
        "dtstamp": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        "status": "CONFIRMED",
    }
    options.update(overrides)
    return build_invite(**options)


def _parse(data: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(data)
    for component in calendar.walk():
        assert component.errors == [], (component.name, component.errors)
    assert calendar.get_missing_tzids() == set()
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0]


def _attendees(event: icalendar.Event) -> list[Any]:
    value = event.get("ATTENDEE", [])
    return value if isinstance(value, list) else [value]


def _vobject_check(data: bytes) -> Any:
    parsed = vobject.readOne(data.decode("utf-8"), validate=True)
    parsed.validate(raiseException=True)
    return parsed


def _rfc6868(value: str) -> str:
    # vobject does not decode RFC 6868 parameter escapes; icalendar writes them.
    return re.sub(r"\^([\^n'])", lambda m: {"^": "^", "n": "\n", "'": '"'}[m[1]], value)


def test_request_has_everything_clients_need() -> None:
    data = _invite()
    calendar, event = _parse(data)
    assert calendar["METHOD"] == "REQUEST"
    assert calendar["PRODID"] == PRODID
    assert calendar["VERSION"] == "2.0"
    assert event["UID"] == UID
    assert event["SEQUENCE"] == 0
    assert event["STATUS"] == "CONFIRMED"
    assert event["SUMMARY"] == "Coffee Rounds: Amina, Li and Sam"
    assert event["LOCATION"] == "https://meet.example.org/abc"
    assert event["URL"] == "https://meet.example.org/abc"
    assert event["X-MICROSOFT-DISALLOW-COUNTER"] == "TRUE"
    assert b"\r\nDTSTART:20260305T173000Z\r\n" in data
    assert b"\r\nDTEND:20260305T180000Z\r\n" in data
    assert b"\r\nDTSTAMP:20260301T090000Z\r\n" in data
    organizer = event["ORGANIZER"]
    assert str(organizer) == f"mailto:{ORGANIZER}"
    assert organizer.params["CN"] == "Coffee Rounds"
    attendees = _attendees(event)
    assert [str(a) for a in attendees] == [f"mailto:{email}" for email, _ in PEOPLE]
    for attendee, (_, name) in zip(attendees, PEOPLE, strict=True):
        assert attendee.params["CN"] == name
        assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
        assert attendee.params["PARTSTAT"] == "NEEDS-ACTION"
        assert attendee.params["RSVP"] == "TRUE"
    [alarm] = event.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm["TRIGGER"].dt == timedelta(minutes=-15)
    _vobject_check(data)


def test_output_is_folded_crlf_and_deterministic() -> None:
    data = _invite(summary="Λέσχη καφέ " * 12)
    assert data == _invite(summary="Λέσχη καφέ " * 12)
    assert data.endswith(b"\r\n")
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert all(len(line) <= 75 for line in data.split(b"\r\n"))


def test_cancel_keeps_uid_and_drops_alarm() -> None:
    data = _invite(method="CANCEL", status="CANCELLED", sequence=2)
    calendar, event = _parse(data)
    assert calendar["METHOD"] == "CANCEL"
    assert event["STATUS"] == "CANCELLED"
    assert event["UID"] == UID
    assert event["SEQUENCE"] == 2
    assert len(_attendees(event)) == 3
    assert "ORGANIZER" in event
    assert event.walk("VALARM") == []
    _vobject_check(data)


def test_lifecycle_request_update_cancel() -> None:
    stamps = [datetime(2026, 3, 1, 9, tzinfo=UTC) + timedelta(hours=h) for h in range(3)]
    versions = [
        _invite(sequence=0, dtstamp=stamps[0]),
        _invite(sequence=1, dtstamp=stamps[1], attendees=PEOPLE[:2]),
        _invite(sequence=2, dtstamp=stamps[2], method="CANCEL", status="CANCELLED"),
    ]
    events = [_parse(data)[1] for data in versions]
    assert {str(e["UID"]) for e in events} == {UID}
    assert [e["SEQUENCE"] for e in events] == [0, 1, 2]
    assert [e["DTSTAMP"].dt for e in events] == stamps


def test_no_alarm_when_disabled() -> None:
    _, event = _parse(_invite(alarm_minutes=None))
    assert event.walk("VALARM") == []


@pytest.mark.parametrize(
    ("local_start", "utc_start"),
    [
        # US DST began on 2026-03-08: noon in New York is 17:00Z before and 16:00Z after.
        (datetime(2026, 3, 5, 12, 0, tzinfo=NEW_YORK), b"DTSTART:20260305T170000Z"),
        (datetime(2026, 3, 12, 12, 0, tzinfo=NEW_YORK), b"DTSTART:20260312T160000Z"),
    ],
)
def test_new_york_meeting_across_the_march_dst_switch(
    local_start: datetime, utc_start: bytes
) -> None:
    data = _invite(start=local_start, end=local_start + timedelta(minutes=30))
    assert utc_start in data
    _, event = _parse(data)
    assert event["DTSTART"].dt.astimezone(NEW_YORK).hour == 12
    assert event["DTSTART"].dt.tzinfo is not None and event["DTSTART"].dt.utcoffset() == timedelta(
        0
    )


TRICKY_NAMES = [
    'Dr. "Ali" Khan; MD, ICU: nights',
    "عمر الفاروق",  # Arabic
    "李雷",  # Chinese
    "Ελένη Παπαδοπούλου",  # Greek
    "caret ^ and ^n and ^' literal",
    "ends with a backslash \\",  # written as "/", see clean_ics_name
]


def test_special_characters_and_scripts_round_trip_unchanged() -> None:
    people = [(f"p{i}@hospital.example", name) for i, name in enumerate(TRICKY_NAMES)]
    summary = 'Coffee: "Λέσχη"; 咖啡, قهوة'
    description = 'Line one; with, punctuation: "quoted"\nسطر ثاني\n第三行 \\ done'
    data = _invite(attendees=people, summary=summary, description=description)
    _, event = _parse(data)
    assert all(clean_ics_name(name) == name for name in TRICKY_NAMES[:-1])
    assert [a.params["CN"] for a in _attendees(event)] == [clean_ics_name(n) for n in TRICKY_NAMES]
    assert event["SUMMARY"] == summary
    assert event["DESCRIPTION"] == description
    parsed = _vobject_check(data)
    assert len(parsed.vevent_list) == 1
    cns = [_rfc6868(a.params["CN"][0]) for a in parsed.vevent.attendee_list]
    assert cns == [clean_ics_name(n) for n in TRICKY_NAMES]
    assert parsed.vevent.summary.value == summary
    assert parsed.vevent.description.value == description


def test_line_breaks_cannot_inject_properties_or_events() -> None:
    evil = "Eve\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil\nATTENDEE:mailto:x@evil.example\rX"
    data = _invite(
        attendees=[("eve@hospital.example", evil), *PEOPLE],
        organizer_name=evil,
        summary=evil,
        description=evil,
        location=evil,
    )
    _, event = _parse(data)
    assert len(_attendees(event)) == 4
    assert event["UID"] == UID
    assert _attendees(event)[0].params["CN"] == clean_ics_name(evil)
    assert "\n" not in event["SUMMARY"] and event["SUMMARY"] == clean_ics_line(evil)
    assert event["DESCRIPTION"] == clean_ics_text(evil)
    lines = data.replace(b"\r\n ", b"").split(b"\r\n")  # unfolded content lines
    assert sum(line.startswith(b"ATTENDEE") for line in lines) == 4
    assert sum(line.startswith(b"UID") for line in lines) == 1
    assert lines.count(b"BEGIN:VEVENT") == 1 and lines.count(b"END:VEVENT") == 1
    assert len(_vobject_check(data).vevent.attendee_list) == 4


_EXPECTED_EVENT_PROPERTIES = {
    "UID", "SEQUENCE", "DTSTAMP", "DTSTART", "DTEND", "SUMMARY", "DESCRIPTION", "LOCATION",
    "URL", "ORGANIZER", "ATTENDEE", "STATUS", "X-MICROSOFT-DISALLOW-COUNTER",
}  # fmt: skip

_nasty_text = st.lists(
    st.one_of(
        st.sampled_from(list('\r\n;,"^:\\\t=<>') + ["BEGIN:VEVENT", "END:VCALENDAR", "mailto:"]),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    max_size=30,
).map("".join)


@settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(names=st.lists(_nasty_text, min_size=1, max_size=4), summary=_nasty_text, text=_nasty_text)
def test_fuzzed_names_and_titles_never_change_the_structure(
    names: list[str], summary: str, text: str
) -> None:
    people = [(f"p{i}@hospital.example", name) for i, name in enumerate(names)]
    summary = f"Coffee {summary}"
    text = f"Join: https://meet.example.org/abc\n{text}"
    data = _invite(attendees=people, organizer_name=summary, summary=summary, description=text)
    calendar, event = _parse(data)
    assert [c.name for c in calendar.walk()] == ["VCALENDAR", "VEVENT", "VALARM"]
    assert set(event.keys()) == _EXPECTED_EVENT_PROPERTIES
    assert len(_attendees(event)) == len(names)
    assert [str(a) for a in _attendees(event)] == [f"mailto:{email}" for email, _ in people]
    expected_cns = [clean_ics_name(name) for name in names]
    assert [a.params.get("CN", "") for a in _attendees(event)] == expected_cns
    assert event["ORGANIZER"].params["CN"] == clean_ics_name(summary)
    parsed = _vobject_check(data)
    assert len(parsed.vevent_list) == 1
    assert len(parsed.vevent.attendee_list) == len(names)
    assert parsed.vevent.summary.value == clean_ics_line(summary)
    assert [
        _rfc6868(a.params["CN"][0]) for a in parsed.vevent.attendee_list if "CN" in a.params
    ] == [cn for cn in expected_cns if cn]
    assert event["SUMMARY"] == clean_ics_line(summary)
    assert event["DESCRIPTION"] == clean_ics_text(text)
    assert calendar["METHOD"] == "REQUEST"


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"organizer_email": "coffee@hospital.example\r\nX-EVIL:1"}, "organizer_email"),
        ({"attendees": [("a@h.example\nATTENDEE:mailto:b@h.example", "A")]}, r"attendees\[0\]"),
        ({"attendees": [("Name <a@h.example>", "A")]}, "bare email"),
        ({"attendees": []}, "at least one"),
        ({"attendees": [(ORGANIZER, "Me")]}, "organizer"),
        ({"start": datetime(2026, 3, 5, 12, 0)}, "timezone-aware"),
        ({"end": datetime(2026, 3, 5, 17, 0, tzinfo=UTC)}, "after start"),
        ({"method": "PUBLISH"}, "method"),
        ({"status": "CANCELLED"}, "CONFIRMED"),
        ({"method": "CANCEL"}, "CANCELLED"),
        ({"sequence": -1}, "sequence"),
        ({"uid": "a\r\nb"}, "uid"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"alarm_minutes": -5}, "alarm_minutes"),
        ({"summary": " \r\n "}, "summary"),
    ],
)
def test_invalid_input_is_rejected_with_the_field_named(
    overrides: dict[str, Any], match: str
) -> None:
    with pytest.raises(ValueError, match=match):
        _invite(**overrides)
