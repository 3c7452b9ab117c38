"""Build RFC 5322/MIME messages from rendered emails, optionally carrying an invite.

Structure without a calendar::

    multipart/alternative [text/plain, text/html]

With a calendar (RFC 6047 §5.2; Outlook and Gmail only show RSVP buttons for an
inline ``text/calendar`` alternative, the attachment serves clients that don't)::

    multipart/mixed
      multipart/alternative [text/plain, text/html, text/calendar; method=...]
      application/ics  (attachment, invite.ics)

Every part is 7-bit on the wire (quoted-printable text, base64 calendar), so delivery
never depends on the relay supporting 8BITMIME, and no line exceeds 998 octets.
"""

from __future__ import annotations

import email.policy
import email.utils
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.headerregistry import (
    Address,
    BaseHeader,
    ContentTypeHeader,
    HeaderRegistry,
    UnstructuredHeader,
)
from email.message import EmailMessage
from functools import lru_cache
from typing import Any, cast

from icalendar import Calendar

from notifications.rendering import RenderedEmail, clean_header_text

__all__ = ["MESSAGE_POLICY", "build_message", "message_bytes"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_MESSAGE_ID = re.compile(r"^<[!-;=?-~]+@[!-;=?-~]+>$")  # printable ASCII without < >
_HEADER_NAME = re.compile(r"^[!-9;-~]+$")  # RFC 5322 ftext
_URL_TOKEN = re.compile(r"^[!-~]+$")
_MIME_TOKEN = re.compile(r"^[!#$%&'*+\-.0-9A-Z^_`a-z{|}~]+$")  # RFC 2045 token
_MAX_URL_LENGTH = 900  # keeps the List-Unsubscribe line under the 998-octet limit
_MANAGED_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "reply-to",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "list-unsubscribe",
        "list-unsubscribe-post",
    }
)


class _UrlListHeader(UnstructuredHeader):
    """List-Unsubscribe: folded only between URLs, never turned into encoded words.

    The stock folder RFC 2047-encodes any token longer than the line limit, which would
    make a long unsubscribe URL unusable.
    """

    name: str  # provided by BaseHeader, which the registry mixes in

    def fold(self, *, policy: Any) -> str:
        urls = [url.strip() for url in str(self).split(",")]
        separator = "," + str(policy.linesep) + " "
        return f"{self.name}: {separator.join(urls)}{policy.linesep}"


class _TokenParamsContentTypeHeader(ContentTypeHeader):
    """Content-Type with token parameter values unquoted: ``method=REQUEST; charset=UTF-8``.

    The stock folder quotes every value (``method="REQUEST"``). That is valid MIME, but
    writing what Outlook and Google themselves emit removes one way for a client to balk.
    Values that are not RFC 2045 tokens (boundaries, filenames) keep the stock quoting.
    """

    name: str  # provided by BaseHeader, which the registry mixes in

    def fold(self, *, policy: Any) -> str:
        params = dict(self.params)
        if all(_MIME_TOKEN.match(value) for value in params.values()):
            rendered = "; ".join(
                [self.content_type, *(f"{key}={value}" for key, value in params.items())]
            )
            line = f"{self.name}: {rendered}"
            if len(line) <= 78:
                return f"{line}{policy.linesep}"
        return str(cast(BaseHeader, super()).fold(policy=policy))


def _header_registry() -> HeaderRegistry:
    registry = HeaderRegistry()
    registry.map_to_type("list-unsubscribe", cast("type[BaseHeader]", _UrlListHeader))
    registry.map_to_type("content-type", cast("type[BaseHeader]", _TokenParamsContentTypeHeader))
    return registry


# email.policy.SMTP (CRLF line ends, 78-column folding) with the two header tweaks above.
MESSAGE_POLICY = email.policy.SMTP.clone(header_factory=_header_registry())


def _address(addr_spec: str, display_name: str, field: str) -> Address:
    if not isinstance(addr_spec, str):
        raise TypeError(f"{field} must be a str email address, got {type(addr_spec).__name__}")
    return _checked_address(addr_spec, display_name or "", field)


@lru_cache(maxsize=256)  # the sender repeats on every message; an Address never changes
def _checked_address(addr_spec: str, display_name: str, field: str) -> Address:
    if _CONTROL.search(addr_spec):
        raise ValueError(f"{field} must not contain CR, LF or control characters: {addr_spec!r}")
    if addr_spec.count("@") != 1 or addr_spec.startswith("@") or addr_spec.endswith("@"):
        raise ValueError(f"{field} is not an email address (local@domain): {addr_spec!r}")
    try:
        address = Address(display_name=clean_header_text(display_name), addr_spec=addr_spec)
    except (ValueError, IndexError) as exc:
        raise ValueError(f"{field} is not a valid email address: {addr_spec!r} ({exc})") from exc
    if address.addr_spec != addr_spec:
        raise ValueError(f"{field} is not a plain email address: {addr_spec!r}")
    return address


def _message_id(value: str) -> str:
    if not isinstance(value, str):
        raise TypeError("message_id must be a str")
    candidate = value if value.startswith("<") else f"<{value}>"
    if not _MESSAGE_ID.match(candidate):
        raise ValueError(f"message_id must look like <unique@domain>: {value!r}")
    return candidate


def _check_url(url: str, field: str, schemes: tuple[str, ...]) -> str:
    if not isinstance(url, str) or not url.startswith(schemes):
        raise ValueError(f"{field} must start with {' or '.join(schemes)}: {url!r}")
    if not _URL_TOKEN.match(url) or any(ch in url for ch in "<>,"):
        raise ValueError(f"{field} must be printable ASCII without spaces, <, > or commas")
    if len(url) > _MAX_URL_LENGTH:
        raise ValueError(f"{field} is longer than {_MAX_URL_LENGTH} characters")
    return url


@lru_cache(maxsize=64)
def _calendar_method(calendar: bytes) -> str:
    # Cached: every member of a group gets the same .ics bytes, parsed once.
    try:
        parsed = Calendar.from_ical(calendar)
    except ValueError as exc:
        raise ValueError(f"calendar is not valid iCalendar data: {exc}") from exc
    method = parsed.get("METHOD")
    if method is None:
        raise ValueError("calendar has no METHOD property (iTIP needs REQUEST or CANCEL)")
    return str(method).upper()


def _part() -> EmailMessage:
    return EmailMessage(policy=MESSAGE_POLICY)


def _drop_mime_version(*parts: EmailMessage) -> None:
    # set_content() gives every EmailMessage a MIME-Version; only the top level needs one.
    for part in parts:
        del part["MIME-Version"]


def _alternative_parts(rendered: RenderedEmail) -> tuple[EmailMessage, EmailMessage]:
    text = _part()
    text.set_content(rendered.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    html = _part()
    html.set_content(rendered.html, subtype="html", charset="utf-8", cte="quoted-printable")
    _drop_mime_version(text, html)
    return text, html


def _calendar_parts(calendar: bytes, method: str) -> tuple[EmailMessage, EmailMessage]:
    inline = _part()
    # Base64 so the invite survives relays without 8BITMIME (RFC 6047 §2.5).
    inline.set_content(calendar, maintype="text", subtype="calendar", cte="base64")
    inline.replace_header("Content-Type", f"text/calendar; method={method}; charset=UTF-8")
    attachment = _part()
    attachment.set_content(
        calendar,
        maintype="application",
        subtype="ics",
        cte="base64",
        disposition="attachment",
        filename="invite.ics",
        params={"name": "invite.ics"},
    )
    _drop_mime_version(inline, attachment)
    return inline, attachment


def checked_headers(
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
) -> list[tuple[str, Address | str]]:
    """The top-level headers in writing order (Content-Type excluded), every value checked.

    Shared by `build_message` and `notifications.message_wire`, so both refuse the same input.
    """
    if not isinstance(rendered, RenderedEmail):
        raise TypeError("rendered must be a RenderedEmail (see render_email)")
    fields: list[tuple[str, Address | str]] = [
        ("From", _address(sender, sender_name, "sender")),
        ("To", _address(to, to_name, "to")),
    ]
    if reply_to is not None:
        fields.append(("Reply-To", _address(reply_to, "", "reply_to")))
    fields.append(("Subject", clean_header_text(rendered.subject)))
    if date is None:
        date = datetime.now(UTC)
    if date.tzinfo is None or date.utcoffset() is None:
        raise ValueError("date must be timezone-aware")
    fields.append(("Date", email.utils.format_datetime(date)))
    fields.append(("Message-ID", _message_id(message_id)))
    fields.append(("MIME-Version", "1.0"))
    fields.extend(_unsubscribe_headers(list_unsubscribe_url, list_unsubscribe_mailto))
    for name, value in (headers or {}).items():
        if not isinstance(name, str) or not _HEADER_NAME.match(name):
            raise ValueError(f"invalid header name: {name!r}")
        if name.lower() in _MANAGED_HEADERS:
            raise ValueError(f"header {name!r} is set by build_message; pass it as an argument")
        if not isinstance(value, str) or _CONTROL.search(value):
            raise ValueError(f"header {name!r} must be a str without control characters")
        fields.append((name, value))
    return fields


def checked_calendar_method(calendar: bytes | None, calendar_method: str | None) -> str | None:
    """The iTIP METHOD of `calendar` (None without one), checked against `calendar_method`."""
    if calendar is None:
        if calendar_method is not None:
            raise ValueError("calendar_method given without calendar")
        return None
    if not isinstance(calendar, bytes):
        raise TypeError("calendar must be bytes (from build_invite)")
    method = _calendar_method(calendar)
    if calendar_method is not None and calendar_method.upper() != method:
        raise ValueError(
            f"calendar_method {calendar_method!r} does not match METHOD:{method} in calendar"
        )
    return method


def build_message(
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
) -> EmailMessage:
    """Return a ready-to-send message; see the module docstring for the MIME tree.

    Addresses containing CR/LF or control characters raise ``ValueError``; display names
    and the subject have control characters collapsed to spaces. ``message_id`` is used
    verbatim (keep it stable across retries). ``calendar_method`` defaults to the METHOD
    found in ``calendar`` and must match it when given.
    """
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
    message = EmailMessage(policy=MESSAGE_POLICY)
    for name, value in fields:
        message[name] = value
    text, html = _alternative_parts(rendered)
    message.make_alternative()
    message.attach(text)
    message.attach(html)
    if calendar is not None and method is not None:
        inline, attachment = _calendar_parts(calendar, method)
        message.attach(inline)
        message.make_mixed()
        message.attach(attachment)
    return message


def _unsubscribe_headers(url: str | None, mailto: str | None) -> list[tuple[str, str]]:
    targets = []
    if url is not None:
        targets.append(_check_url(url, "list_unsubscribe_url", ("https://", "http://")))
    if mailto is not None:
        if not mailto.startswith("mailto:"):
            _address(mailto, "", "list_unsubscribe_mailto")
            mailto = f"mailto:{mailto}"
        targets.append(_check_url(mailto, "list_unsubscribe_mailto", ("mailto:",)))
    fields = []
    if targets:
        fields.append(("List-Unsubscribe", ", ".join(f"<{target}>" for target in targets)))
    # RFC 8058 §3.1: one-click needs an HTTPS URI; an http:// URL (local development)
    # keeps the plain List-Unsubscribe header only.
    if url is not None and url.startswith("https://"):
        fields.append(("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"))
    return fields


def message_bytes(message: EmailMessage) -> bytes:
    """Serialise ``message`` for SMTP: CRLF line ends, 7-bit clean."""
    return message.as_bytes(policy=MESSAGE_POLICY)
