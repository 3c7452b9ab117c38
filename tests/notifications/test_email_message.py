"""MIME building: tree shape, encodings, wire format and header injection."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from notifications import RenderedEmail, build_invite, build_message, message_bytes, render_email
from tests.notifications.notification_samples import CONTEXTS

SENDER = "coffee@hospital.example"
TO = "maya.patel@hospital.example"
UNSUBSCRIBE = "https://coffee.example.org/u/" + "t" * 120  # longer than one folded line
BASE_HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]


def _calendar(method: str = "REQUEST") -> bytes:
    start = datetime(2026, 3, 5, 17, 30, tzinfo=UTC)
    return build_invite(
        uid="6f0b1c1e-3f7a-4f4e-9a51-5d2f0c8b7a10",
        sequence=0 if method == "REQUEST" else 1,
        method=method,  # type: ignore[arg-type]
        organizer_email=SENDER,
        organizer_name="Coffee Rounds",
        attendees=[(TO, "Maya Patel"), ("li@hospital.example", "李雷")],
        start=start,
        end=start + timedelta(minutes=30),
        summary="Coffee Rounds",
        description="Join: https://meet.example.org/abc",
        location="https://meet.example.org/abc",
        url="https://meet.example.org/abc",
        dtstamp=datetime(2026, 3, 1, 9, tzinfo=UTC),
        status="CONFIRMED" if method == "REQUEST" else "CANCELLED",
    )


def _build(**overrides: Any) -> EmailMessage:
    options: dict[str, Any] = {
        "sender": SENDER,
        "sender_name": "Coffee Rounds",
        "to": TO,
        "to_name": "Maya Patel",
        "rendered": render_email("invite", CONTEXTS["invite"]),
        "message_id": "<outbox-42@hospital.example>",
        "date": datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
    }
    options.update(overrides)
    return build_message(**options)


def _parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def _lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def _shape(message: EmailMessage) -> Any:
    if message.is_multipart():
        return (message.get_content_type(), [_shape(p) for p in message.iter_parts()])
    return message.get_content_type()


def _assert_wire_format(data: bytes) -> None:
    assert data.isascii(), "every part must be 7-bit on the wire"
    assert re.search(rb"(?<!\r)\n", data) is None, "bare LF found"
    assert re.search(rb"\r(?!\n)", data) is None, "bare CR found"
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    assert data.count(b"MIME-Version: 1.0\r\n") == 1, "only the top level has MIME-Version"


def test_plain_message_is_text_then_html_alternative() -> None:
    rendered = render_email("confirm_signup", CONTEXTS["confirm_signup"])
    data = message_bytes(_build(rendered=rendered))
    _assert_wire_format(data)
    parsed = _parse(data)
    assert _shape(parsed) == ("multipart/alternative", ["text/plain", "text/html"])
    text, html = parsed.iter_parts()
    assert _lf(text.get_content()) == rendered.text
    assert _lf(html.get_content()) == rendered.html
    assert text["Content-Transfer-Encoding"] == "quoted-printable"
    assert list(parsed.keys()) == BASE_HEADERS
    assert parsed["Message-ID"] == "<outbox-42@hospital.example>"
    assert parsed["Date"] == "Sun, 01 Mar 2026 09:00:00 +0000"
    assert parsed["From"] == "Coffee Rounds <coffee@hospital.example>"
    assert parsed["Subject"] == rendered.subject


@pytest.mark.parametrize("method", ["REQUEST", "CANCEL"])
def test_invite_mime_tree_and_calendar_part(method: str) -> None:
    calendar = _calendar(method)
    data = message_bytes(_build(calendar=calendar, calendar_method=method))
    _assert_wire_format(data)
    parsed = _parse(data)
    assert _shape(parsed) == (
        "multipart/mixed",
        [
            ("multipart/alternative", ["text/plain", "text/html", "text/calendar"]),
            "application/ics",
        ],
    )
    alternative, attachment = parsed.iter_parts()
    inline = list(alternative.iter_parts())[2]
    assert inline.get_param("method") == method
    assert f"\r\nMETHOD:{method}\r\n".encode() in calendar
    assert f"Content-Type: text/calendar; method={method}; charset=UTF-8\r\n".encode() in data
    assert inline["Content-Transfer-Encoding"] == "base64"
    assert inline.get_content_disposition() is None
    assert inline.get_content().encode("utf-8") == calendar
    assert attachment.get_content_disposition() == "attachment"
    assert attachment.get_filename() == "invite.ics"
    assert attachment["Content-Transfer-Encoding"] == "base64"
    assert attachment.get_content() == calendar


def test_calendar_method_must_match_the_ics() -> None:
    with pytest.raises(ValueError, match="does not match METHOD:REQUEST"):
        _build(calendar=_calendar("REQUEST"), calendar_method="CANCEL")
    with pytest.raises(ValueError, match="without calendar"):
        _build(calendar_method="REQUEST")
    with pytest.raises(ValueError, match="METHOD"):
        _build(calendar=b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")


def test_list_unsubscribe_headers_survive_folding() -> None:
    data = message_bytes(
        _build(
            list_unsubscribe_url=UNSUBSCRIBE, list_unsubscribe_mailto="unsubscribe@hospital.example"
        )
    )
    _assert_wire_format(data)
    parsed = _parse(data)
    assert parsed["List-Unsubscribe"] == f"<{UNSUBSCRIBE}>, <mailto:unsubscribe@hospital.example>"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert b"=?" not in data.split(b"\r\n\r\n")[0], "no RFC 2047 encoded words in URLs"


def test_one_click_header_only_with_an_https_url() -> None:
    parsed = _parse(message_bytes(_build(list_unsubscribe_mailto="mailto:u@hospital.example")))
    assert parsed["List-Unsubscribe"] == "<mailto:u@hospital.example>"
    assert "List-Unsubscribe-Post" not in parsed
    dev = _parse(message_bytes(_build(list_unsubscribe_url="http://localhost:8000/u/tok")))
    assert dev["List-Unsubscribe"] == "<http://localhost:8000/u/tok>"
    assert "List-Unsubscribe-Post" not in dev  # RFC 8058 one-click requires HTTPS
    assert "List-Unsubscribe" not in _build()


@pytest.mark.parametrize(
    "name", ['Dr. "Ali" Khan, MD; ICU: nights', "عمر الفاروق", "李雷", "Ελένη Παπαδοπούλου"]
)
def test_display_names_in_any_script_round_trip(name: str) -> None:
    rendered = RenderedEmail(subject=f"Coffee with {name}", text=f"Hi {name}\n", html="<p>x</p>\n")
    data = message_bytes(_build(to_name=name, sender_name=name, rendered=rendered))
    _assert_wire_format(data)
    parsed = _parse(data)
    assert parsed["To"].addresses[0].display_name == name
    assert parsed["To"].addresses[0].addr_spec == TO
    assert parsed["From"].addresses[0].display_name == name
    assert parsed["Subject"] == f"Coffee with {name}"
    assert _lf(parsed.get_body(("plain",)).get_content()) == f"Hi {name}\n"


def test_crlf_in_names_and_subject_never_creates_a_header() -> None:
    evil = "Maya\r\nBcc: victim@example.com\nX-Injected: 1\r"
    rendered = RenderedEmail(subject=evil, text="t\n", html="<p>t</p>\n")
    data = message_bytes(_build(to_name=evil, sender_name=evil, rendered=rendered))
    parsed = _parse(data)
    assert list(parsed.keys()) == BASE_HEADERS
    assert parsed["Subject"] == "Maya Bcc: victim@example.com X-Injected: 1"
    assert parsed["To"].addresses[0].addr_spec == TO


_header_text = st.text(
    st.one_of(st.sampled_from('\r\n\t:;,"<>@\\=?'), st.characters(exclude_categories=("Cs",))),
    max_size=40,
)


@settings(max_examples=100, deadline=None, database=None, derandomize=True)
@given(to_name=_header_text, sender_name=_header_text, subject=_header_text)
def test_fuzzed_names_and_subjects_never_add_headers(
    to_name: str, sender_name: str, subject: str
) -> None:
    rendered = RenderedEmail(subject=subject, text="t\n", html="<p>t</p>\n")
    data = message_bytes(
        _build(to_name=to_name, sender_name=sender_name, rendered=rendered, calendar=_calendar())
    )
    _assert_wire_format(data)
    parsed = _parse(data)
    assert list(parsed.keys()) == BASE_HEADERS
    assert [a.addr_spec for a in parsed["To"].addresses] == [TO]
    assert [a.addr_spec for a in parsed["From"].addresses] == [SENDER]
    assert "\n" not in parsed["Subject"] and "\r" not in parsed["Subject"]


@pytest.mark.parametrize(
    ("overrides", "match"),
    [
        ({"to": "maya@hospital.example\r\nBcc: x@example.com"}, "to"),
        ({"sender": "coffee@hospital.example\n"}, "sender"),
        ({"to": "not-an-address"}, "to"),
        ({"to": "Maya <maya@hospital.example>"}, "to"),
        ({"reply_to": "a@b.example\rX: y"}, "reply_to"),
        ({"message_id": "no-angle brackets"}, "message_id"),
        ({"message_id": "<a@b>\r\nBcc: x@y"}, "message_id"),
        ({"date": datetime(2026, 3, 1, 9, 0)}, "timezone-aware"),
        ({"list_unsubscribe_url": "https://x.example/u\r\nBcc: y"}, "list_unsubscribe_url"),
        ({"list_unsubscribe_url": "ftp://x.example/u"}, "list_unsubscribe_url"),
        ({"headers": {"X-Tag": "a\r\nBcc: x@y"}}, "X-Tag"),
        ({"headers": {"Bad Name": "v"}}, "header name"),
        ({"headers": {"Subject": "other"}}, "set by build_message"),
    ],
)
def test_bad_header_input_is_rejected(overrides: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        _build(**overrides)


def test_extra_headers_and_reply_to_are_added() -> None:
    parsed = _parse(
        message_bytes(
            _build(reply_to="wellness@hospital.example", headers={"X-Coffee-Round": "2026-03"})
        )
    )
    assert parsed["Reply-To"] == "wellness@hospital.example"
    assert parsed["X-Coffee-Round"] == "2026-03"


def test_message_id_without_brackets_is_wrapped() -> None:
    assert _build(message_id="outbox-7@hospital.example")["Message-ID"] == (
        "<outbox-7@hospital.example>"
    )
