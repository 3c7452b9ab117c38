"""iCalendar (RFC 5545/5546) invites that Outlook, Gmail and Apple Calendar accept.

Everything is serialised by ``icalendar`` (>= 7.3), which folds lines and escapes TEXT
values and parameters; nothing here concatenates .ics text by hand, so a participant's
name can never smuggle in a property or a second VEVENT.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Literal

from icalendar import Alarm, Calendar, Event, vCalAddress

__all__ = ["PRODID", "build_invite", "clean_ics_line", "clean_ics_name", "clean_ics_text"]

PRODID = "-//Coffee Rounds//Invites 1.0//EN"

_METHODS = ("REQUEST", "CANCEL")
_STATUSES = ("CONFIRMED", "CANCELLED")
# C0 controls except TAB and LF, plus DEL and the C1 block: RFC 5545 §3.3.11 forbids CTLs
# other than HTAB in TEXT, and a lone CR cannot be represented at all.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_BREAKS = re.compile(r"\r\n|\r|\n|\u2028|\u2029|\x85")
_WHITESPACE_RUN = re.compile(r"[ \t]+")
_ADDRESS = re.compile(r"^[^\s@<>\"()\[\],;:\\]+@[^\s@<>\"()\[\],;:\\]+$")


def clean_ics_line(value: str) -> str:
    """Return a one-line TEXT value: line breaks and control characters become spaces.

    Names and titles are single-line fields; iCalendar cannot carry a bare CR anyway, so
    normalising up front keeps a re-parse byte-for-byte equal to what we meant to send.
    """
    collapsed = _CONTROL.sub(" ", _LINE_BREAKS.sub(" ", value))
    return _WHITESPACE_RUN.sub(" ", collapsed).strip()


def clean_ics_name(value: str) -> str:
    """Return a display name safe for a CN parameter: one line, backslashes as slashes.

    RFC 5545 has no backslash escapes in parameter values, but icalendar 7.3's parser
    (and possibly others) treats them as escapes: ``CN=Ann\\;PARTSTAT=...`` would swallow
    the next parameter. Nobody's name needs a backslash, so it is replaced.
    """
    return clean_ics_line(value).replace("\\", "/")


def clean_ics_text(value: str) -> str:
    """Return a multi-line TEXT value with LF line ends and no other control characters."""
    return _CONTROL.sub(" ", _LINE_BREAKS.sub("\n", value)).strip()


def _check_address(value: str, field: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be a str email address, got {type(value).__name__}")
    if _CONTROL.search(value) or _LINE_BREAKS.search(value):
        raise ValueError(f"{field} must not contain CR, LF or control characters: {value!r}")
    if not _ADDRESS.match(value):
        raise ValueError(f"{field} is not a bare email address (local@domain): {value!r}")
    return value


def _to_utc(value: datetime, field: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{field} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware (got a naive datetime)")
    # Floor to whole seconds: iCalendar DATE-TIME has no sub-second precision.
    return value.astimezone(UTC).replace(microsecond=0)


def _check_choice(value: str, allowed: Sequence[str], field: str) -> str:
    if value not in allowed:
        raise ValueError(f"{field} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def build_invite(
    *,
    uid: str,
    sequence: int,
    method: Literal["REQUEST", "CANCEL"],
    organizer_email: str,
    organizer_name: str,
    attendees: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
    summary: str,
    description: str,
    location: str,
    url: str | None,
    dtstamp: datetime,
    status: Literal["CONFIRMED", "CANCELLED"],
    alarm_minutes: int | None = 15,
) -> bytes:
    """Return the bytes of a one-event iTIP calendar (METHOD REQUEST or CANCEL).

    ``uid`` must be stored by the caller and reused for every update and cancellation of
    the same meeting; ``sequence`` must grow on each significant change and stay the same
    on retries. Times are written in UTC (``...Z``) so no VTIMEZONE is needed.
    Names are normalised with ``clean_ics_name``, summary and location to one line
    (``clean_ics_line``) and the description to LF-separated lines (``clean_ics_text``).
    """
    _check_choice(method, _METHODS, "method")
    _check_choice(status, _STATUSES, "status")
    if method == "CANCEL" and status != "CANCELLED":
        raise ValueError("status must be CANCELLED when method is CANCEL")
    if method == "REQUEST" and status != "CONFIRMED":
        raise ValueError("status must be CONFIRMED when method is REQUEST")
    if not isinstance(uid, str) or not uid.strip() or clean_ics_line(uid) != uid:
        raise ValueError(f"uid must be a non-empty single-line string: {uid!r}")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 0:
        raise ValueError(f"sequence must be an int >= 0, got {sequence!r}")
    if alarm_minutes is not None and (
        isinstance(alarm_minutes, bool) or not isinstance(alarm_minutes, int) or alarm_minutes < 0
    ):
        raise ValueError(f"alarm_minutes must be None or an int >= 0, got {alarm_minutes!r}")
    start_utc = _to_utc(start, "start")
    end_utc = _to_utc(end, "end")
    if end_utc <= start_utc:
        raise ValueError("end must be after start")
    stamp_utc = _to_utc(dtstamp, "dtstamp")
    organizer_email = _check_address(organizer_email, "organizer_email")
    if not attendees:
        raise ValueError("attendees must contain at least one (email, name) pair")
    attendee_addresses = []
    for index, pair in enumerate(attendees):
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise ValueError(f"attendees[{index}] must be an (email, name) pair")
        email, name = pair
        email = _check_address(email, f"attendees[{index}] email")
        if email.lower() == organizer_email.lower():
            raise ValueError(f"attendees[{index}] must not be the organizer ({email})")
        attendee_addresses.append(
            vCalAddress.new(
                email,
                cn=clean_ics_name(name) or None,
                role="REQ-PARTICIPANT",
                partstat="NEEDS-ACTION",
                rsvp=True,
            )
        )
    if url is not None:
        _check_url(url)
    if not clean_ics_line(summary):
        raise ValueError("summary must contain visible text (iTIP requires SUMMARY)")

    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add("calscale", "GREGORIAN")

    event = Event.new(
        uid=uid,
        sequence=sequence,
        stamp=stamp_utc,
        start=start_utc,
        end=end_utc,
        summary=clean_ics_line(summary),
        description=clean_ics_text(description),
        location=clean_ics_line(location) or None,
        url=url,
        organizer=vCalAddress.new(organizer_email, cn=clean_ics_name(organizer_name) or None),
        attendees=attendee_addresses,
    )
    event.add("status", status)
    # No one reads the service mailbox, so Outlook's "propose new time" must not be offered.
    event.add("X-MICROSOFT-DISALLOW-COUNTER", "TRUE")
    if method == "REQUEST" and alarm_minutes is not None:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", clean_ics_line(summary) or "Reminder")
        alarm.add("trigger", timedelta(minutes=-alarm_minutes))
        event.add_component(alarm)
    calendar.add_component(event)
    data: bytes = calendar.to_ical()
    return data


def _check_url(url: str) -> None:
    if not isinstance(url, str) or not url.startswith(("https://", "http://")):
        raise ValueError(f"url must be an http(s) URL, got {url!r}")
    if _CONTROL.search(url) or _LINE_BREAKS.search(url) or " " in url:
        raise ValueError(f"url must not contain spaces or control characters: {url!r}")
