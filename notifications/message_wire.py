"""Write a message straight to its wire bytes: ``message_bytes(build_message(...))``, cheaper.

The standard library builds a tree of ``EmailMessage`` objects, runs every header it is given
through the header registry, then parses and folds each one again while writing: about
1.5 ms of CPU per message, most of what a signup's email costs. This writer takes the same
checked headers (``notifications.message.checked_headers``), folds each with the same policy
object (so encoded words, quoting and folding are the library's own), encodes the bodies
with the library's own encoders, and writes the MIME tree directly. Header lines and body
encodings that repeat (the sender, the part headers, one invite sent to a whole group) are
computed once.

The result is byte for byte what ``message_bytes(build_message(...))`` writes, apart from
the random boundaries; tests/notifications/test_message_wire.py holds it to that.
"""

from __future__ import annotations

import binascii
import random
import re
import sys
from collections.abc import Mapping
from datetime import datetime
from email import quoprimime
from functools import lru_cache

from notifications.message import (
    MESSAGE_POLICY,
    checked_calendar_method,
    checked_headers,
)
from notifications.rendering import RenderedEmail

__all__ = ["build_message_bytes"]

_CRLF = b"\r\n"
_LINE_END = re.compile(r"\r\n|\r|\n")
# email.generator.Generator._make_boundary's format: 15 "=", a zero-padded random number, "==".
_BOUNDARY_WIDTH = len(repr(sys.maxsize - 1))
_SAMPLE_BOUNDARY = "=" * 15 + "0" * _BOUNDARY_WIDTH + "=="


def _header_line(name: str, value: str) -> bytes:
    """One header as MESSAGE_POLICY writes it: parsed by its registry class, then folded."""
    header = MESSAGE_POLICY.header_store_parse(name, value)[1]
    return MESSAGE_POLICY.fold_binary(name, header)


# Most header values repeat from one message to the next (sender, date within a second).
_cached_header_line = lru_cache(maxsize=1024)(_header_line)


@lru_cache(maxsize=8)
def _multipart_header(subtype: str) -> tuple[bytes, bytes]:
    """Content-Type of a multipart, split where the boundary goes.

    Every boundary has the same length and alphabet, so they all fold alike.
    """
    line = _header_line("Content-Type", f'multipart/{subtype}; boundary="{_SAMPLE_BOUNDARY}"')
    before, after = line.split(_SAMPLE_BOUNDARY.encode("ascii"))
    return before, after


def _boundary() -> str:
    token = random.randrange(sys.maxsize)
    return "=" * 15 + f"{token:0{_BOUNDARY_WIDTH}d}" + "=="


def _multipart(subtype: str, parts: list[bytes]) -> tuple[bytes, bytes]:
    """(Content-Type line, body) of a multipart holding `parts` (each headers + body)."""
    boundary = _boundary()
    marker = boundary.encode("ascii")
    # The library's generator picks another boundary if one occurs in the text; with every
    # part quoted-printable or base64 ("=" is escaped, runs of "=" cannot occur), never.
    while any(marker in part for part in parts):
        boundary = _boundary()
        marker = boundary.encode("ascii")
    delimiter = b"--" + marker
    body = (
        delimiter
        + _CRLF
        + (_CRLF + delimiter + _CRLF).join(parts)
        + _CRLF
        + delimiter
        + b"--"
        + _CRLF
    )
    before, after = _multipart_header(subtype)
    return before + marker + after, body


def _wire_lines(payload: str) -> bytes:
    # email.generator writes every line of a payload with the policy's line end.
    return "\r\n".join(_LINE_END.split(payload)).encode("ascii")


@lru_cache(maxsize=4)
def _text_part_headers(subtype: str) -> bytes:
    return (
        _header_line("Content-Type", f"text/{subtype}; charset=utf-8")
        + _header_line("Content-Transfer-Encoding", "quoted-printable")
        + _CRLF
    )


def _text_part(text: str, subtype: str) -> bytes:
    # As email.contentmanager.set_text_content with cte="quoted-printable".
    lines = text.encode("utf-8").splitlines()
    normal = b"\n".join(lines) + b"\n"
    encoded = quoprimime.body_encode(normal.decode("latin-1"), MESSAGE_POLICY.max_line_length)
    return _text_part_headers(subtype) + _wire_lines(encoded)


def _base64_lines(data: bytes) -> str:
    # As email.contentmanager's encoder: max_line_length // 4 * 3 bytes to a line.
    step = MESSAGE_POLICY.max_line_length // 4 * 3
    lines = (binascii.b2a_base64(data[i : i + step]) for i in range(0, len(data), step))
    return b"".join(lines).decode("ascii")


@lru_cache(maxsize=64)
def _calendar_parts(calendar: bytes, method: str) -> tuple[bytes, bytes]:
    # Cached: every member of a group gets the same .ics bytes.
    encoded = _wire_lines(_base64_lines(calendar))
    inline = (
        _header_line("Content-Type", f"text/calendar; method={method}; charset=UTF-8")
        + _header_line("Content-Transfer-Encoding", "base64")
        + _CRLF
        + encoded
    )
    attachment = (
        _header_line("Content-Transfer-Encoding", "base64")
        + _header_line("Content-Disposition", 'attachment; filename="invite.ics"')
        + _header_line("Content-Type", "application/ics; name=invite.ics")
        + _CRLF
        + encoded
    )
    return inline, attachment


def build_message_bytes(
    *,
    sender: str,
    sender_name: str,
    to: str,
    to_name: str,
    rendered: RenderedEmail,
    message_id: str,
    date: datetime | None = None,
    reply_to: str | None = None,
    list_unsubscribe_url: str | None = None,
    list_unsubscribe_mailto: str | None = None,
    headers: Mapping[str, str] | None = None,
    calendar: bytes | None = None,
    calendar_method: str | None = None,
) -> bytes:
    """``message_bytes(build_message(...))`` with the same arguments, checks and result."""
    fields = checked_headers(
        sender=sender,
        sender_name=sender_name,
        to=to,
        to_name=to_name,
        rendered=rendered,
        message_id=message_id,
        date=date,
        reply_to=reply_to,
        list_unsubscribe_url=list_unsubscribe_url,
        list_unsubscribe_mailto=list_unsubscribe_mailto,
        headers=headers,
    )
    method = checked_calendar_method(calendar, calendar_method)
    head = b"".join(
        # Message-IDs never repeat: not worth a cache slot.
        _header_line(name, str(value))
        if name == "Message-ID"
        else _cached_header_line(name, str(value))
        for name, value in fields
    )
    parts = [_text_part(rendered.text, "plain"), _text_part(rendered.html, "html")]
    if calendar is None or method is None:
        content_type, body = _multipart("alternative", parts)
        return head + content_type + _CRLF + body
    inline, attachment = _calendar_parts(calendar, method)
    alternative_type, alternative = _multipart("alternative", [*parts, inline])
    content_type, body = _multipart("mixed", [alternative_type + _CRLF + alternative, attachment])
    return head + content_type + _CRLF + body
