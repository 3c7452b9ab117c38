"""Email rendering, MIME building, sending and iCalendar invites for Coffee Rounds.

A pure library: it never imports the web service, the database layer or settings;
everything it needs arrives as arguments. See ``notifications/README.md``.
"""

from notifications.ics import PRODID, build_invite
from notifications.message import MESSAGE_POLICY, build_message, message_bytes
from notifications.message_wire import build_message_bytes
from notifications.rendering import MESSAGE_CONTEXT, RenderedEmail, render_email
from notifications.senders import (
    EmailSender,
    FileSender,
    PermanentSendError,
    SendError,
    SmtpSecurityError,
    SmtpSender,
    TransientSendError,
)

__all__ = [
    "MESSAGE_CONTEXT",
    "MESSAGE_POLICY",
    "PRODID",
    "EmailSender",
    "FileSender",
    "PermanentSendError",
    "RenderedEmail",
    "SendError",
    "SmtpSecurityError",
    "SmtpSender",
    "TransientSendError",
    "build_invite",
    "build_message",
    "build_message_bytes",
    "message_bytes",
    "render_email",
]
