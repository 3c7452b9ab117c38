"""build_message_bytes writes exactly what message_bytes(build_message(...)) writes.

The stdlib path is the reference (tests/notifications/test_email_message.py checks it against
the RFCs); here both paths get the same input and must agree byte for byte, boundaries aside.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications import RenderedEmail, build_message, message_bytes, render_email
from notifications.message_wire import build_message_bytes
from tests.notifications.notification_samples import CONTEXTS
from tests.notifications.test_email_message import SENDER, TO, UNSUBSCRIBE, _calendar

_BOUNDARY = re.compile(rb"={15}\d+==")


def _without_boundaries(data: bytes) -> bytes:
    """Each distinct boundary replaced by its order of first appearance."""
    seen: dict[bytes, bytes] = {}
    return _BOUNDARY.sub(lambda m: seen.setdefault(m[0], b"<boundary %d>" % len(seen)), data)


def _options(**overrides: Any) -> dict[str, Any]:
    options: dict[str, Any] = {
        "sender": SENDER,
        "sender_name": "Coffee Rounds",
        "to": TO,
        "to_name": "Maya Patel",
        "rendered": render_email("confirm_signup", CONTEXTS["confirm_signup"]),
        "message_id": "<outbox-42@hospital.example>",
        "date": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    }
    options.update(overrides)
    return options


def _assert_same(**overrides: Any) -> bytes:
    options = _options(**overrides)
    expected = message_bytes(build_message(**options))
    written = build_message_bytes(**options)
    assert _without_boundaries(written) == _without_boundaries(expected)
    assert len(set(_BOUNDARY.findall(written))) == len(set(_BOUNDARY.findall(expected)))
    return written


@pytest.mark.parametrize("template", sorted(CONTEXTS))
def test_every_email_is_written_alike(template: str) -> None:
    _assert_same(
        rendered=render_email(template, CONTEXTS[template]),
        list_unsubscribe_url=UNSUBSCRIBE,
        list_unsubscribe_mailto="unsubscribe@hospital.example",
    )


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_invites_are_written_alike(method: str) -> None:
    calendar = _calendar(method)
    rendered = render_email("invite", CONTEXTS["invite"])
    _assert_same(rendered=rendered, calendar=calendar, calendar_method=method)
    _assert_same(rendered=rendered, calendar=calendar)  # the method read from the .ics
    # Cached calendar parts: the second member of the group gets the same bytes.
    _assert_same(rendered=rendered, calendar=calendar, to="li@hospital.example", to_name="李雷")


@pytest.mark.parametrize(
    "overrides",
    [
        {"reply_to": "wellness@hospital.example", "headers": {"X-Coffee-Round": "2026-03"}},
        {"list_unsubscribe_url": "http://localhost:8000/u/tok"},
        {"list_unsubscribe_mailto": "mailto:u@hospital.example?subject=unsubscribe"},
        {"to_name": 'Dr. "Ali" Khan, MD; ICU: nights', "sender_name": "عمر الفاروق"},
        {"to_name": "Ελένη Παπαδοπούλου " * 6, "sender_name": "Coffee Rounds at " + "St " * 30},
        {"message_id": "outbox-7@" + "sub." * 20 + "hospital.example"},
        {"date": datetime(2026, 7, 1, 23, 59, 59, tzinfo=timezone(timedelta(hours=-9.5)))},
        {"rendered": RenderedEmail(subject="x " * 80 + "=?utf-8?q?hi?=", text="", html="")},
        {"rendered": RenderedEmail(subject="Ünïcode " * 12, text="a\rb\r\nc" * 90, html="\n")},
    ],
)
def test_unusual_headers_and_bodies_are_written_alike(overrides: dict[str, Any]) -> None:
    _assert_same(**overrides)


_header_text = st.text(
    st.one_of(st.sampled_from('\r\n\t:;,"<>@\\=? ()'), st.characters(exclude_categories=("Cs",))),
    max_size=90,
)
_body_text = st.text(
    st.one_of(st.sampled_from("\r\n\t =.-"), st.characters(exclude_categories=("Cs",))),
    max_size=400,
)


@settings(max_examples=150, deadline=None, database=None, derandomize=True)
@given(
    to_name=_header_text,
    sender_name=_header_text,
    subject=_header_text,
    text=_body_text,
    html=_body_text,
    offset_minutes=st.integers(min_value=-23 * 60, max_value=23 * 60),
    with_calendar=st.booleans(),
)
def test_fuzzed_messages_are_written_alike(
    to_name: str,
    sender_name: str,
    subject: str,
    text: str,
    html: str,
    offset_minutes: int,
    with_calendar: bool,
) -> None:
    date = datetime(2026, 3, 1, 9, 0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    _assert_same(
        to_name=to_name,
        sender_name=sender_name,
        rendered=RenderedEmail(subject=subject, text=text, html=html),
        date=date,
        calendar=_calendar() if with_calendar else None,
        list_unsubscribe_url=UNSUBSCRIBE,
    )


@pytest.mark.parametrize(
    "overrides",
    [
        {"to": "maya@hospital.example\r\nBcc: x@example.com"},
        {"to": "Maya <maya@hospital.example>"},
        {"message_id": "<a@b>\r\nBcc: x@y"},
        {"date": datetime(2026, 3, 1, 9, 0)},
        {"list_unsubscribe_url": "https://x.example/u\r\nBcc: y"},
        {"headers": {"Subject": "other"}},
        {"calendar": _calendar("REQUEST"), "calendar_method": "CANCEL"},
        {"calendar_method": "REQUEST"},
    ],
)
def test_bad_input_is_refused_alike(overrides: dict[str, Any]) -> None:
    options = _options(**overrides)
    with pytest.raises(ValueError) as stdlib_error:
        build_message(**options)
    with pytest.raises(ValueError) as wire_error:
        build_message_bytes(**options)
    assert str(wire_error.value) == str(stdlib_error.value)
