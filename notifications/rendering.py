"""Render an email (subject, plain text, HTML) from one template folder per message.

Templates live in ``notifications/templates/<message>/{subject.txt,body.txt,body.html}``.
HTML is autoescaped; the text parts are not (they are never interpreted as markup).
A missing context variable is an error, never an empty string in a clinician's inbox.

Messages and the context each one needs are listed in ``MESSAGE_CONTEXT``; the
package README (``notifications/README.md``) describes every key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

import jinja2

__all__ = ["MESSAGE_CONTEXT", "RenderedEmail", "render_email", "clean_header_text"]

_CYCLE_COMMON = ("participant_name", "organization_name", "month_label", "unsubscribe_url")

# Keys each message requires. Extra keys are allowed and ignored.
MESSAGE_CONTEXT: Mapping[str, tuple[str, ...]] = {
    "confirm_signup": ("participant_name", "organization_name", "confirm_url", "expires_hours"),
    "manage_link": ("participant_name", "organization_name", "manage_url", "expires_hours"),
    "already_registered": (
        "participant_name",
        "organization_name",
        "manage_url",
        "expires_hours",
    ),
    "admin_password_reset": ("admin_name", "organization_name", "reset_url", "expires_minutes"),
    "invite": (
        *_CYCLE_COMMON,
        "topic_title",
        "topic_description",
        "starters",
        "members",
        "reason",
        "meeting_start_local",
        "meeting_timezone",
        "meeting_url",
        "cant_make_it_url",
        "pause_url",
        "resources",
        "member_url",
    ),
    "reminder": (
        *_CYCLE_COMMON,
        "topic_title",
        "starters",
        "members",
        "meeting_start_local",
        "meeting_timezone",
        "meeting_url",
        "cant_make_it_url",
    ),
    "checkin": (
        *_CYCLE_COMMON, "met_yes_url", "met_no_url", "feedback_url", "share_url", "member_url"
    ),
    "followup": (*_CYCLE_COMMON, "feedback_url", "share_url", "member_url"),
    "not_matched": (*_CYCLE_COMMON, "reason", "pause_url"),
    "invite_update": (
        *_CYCLE_COMMON,
        "change_summary",
        "topic_title",
        "members",
        "meeting_start_local",
        "meeting_timezone",
        "meeting_url",
        "cant_make_it_url",
    ),
    "invite_cancel": (
        *_CYCLE_COMMON,
        "reason",
        "meeting_start_local",
        "meeting_timezone",
        "pause_url",
    ),
    "introduction_ask": (
        "participant_name",
        "organization_name",
        "need",
        "skill",
        "specialty",
        "site",
        "requester_description",
        "why_you",
        "accept_url",
        "decline_url",
        "answer_by",
    ),
    "introduction_made": (
        "participant_name",
        "organization_name",
        "you_asked",
        "need",
        "other_name",
        "other_email",
        "other_description",
        "meeting_start_local",
        "meeting_timezone",
        "meeting_url",
        "everyone_available",
        "met_yes_url",
        "met_no_url",
    ),
    "introduction_unmatched": (
        "participant_name",
        "organization_name",
        "need",
        "reason",
        "introductions_url",
    ),
}

_MEMBER_KEYS = ("name", "role", "specialty", "department")
_RESOURCE_KEYS = ("title", "url", "why")
# Header text may not carry control characters (a CR/LF would start a new header).
_HEADER_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@dataclass(frozen=True, slots=True)
class RenderedEmail:
    """The three rendered parts of one email."""

    subject: str
    text: str
    html: str


def clean_header_text(value: str) -> str:
    """Collapse control characters (CR, LF, TAB, ...) to single spaces and trim."""
    return " ".join(_HEADER_CONTROL.sub(" ", value).split())


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("notifications", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html",),
            disabled_extensions=("txt",),
            default_for_string=True,
            default=True,
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def _check_context(name: str, context: Mapping[str, object]) -> None:
    missing = [key for key in MESSAGE_CONTEXT[name] if key not in context]
    if missing:
        raise ValueError(f"render_email({name!r}): missing context keys: {', '.join(missing)}")
    members = context.get("members")
    if "members" in MESSAGE_CONTEXT[name]:
        if not isinstance(members, list | tuple):
            raise ValueError(f"render_email({name!r}): members must be a list of dicts")
        for index, member in enumerate(members):
            if not isinstance(member, Mapping):
                raise ValueError(f"render_email({name!r}): members[{index}] must be a dict")
            absent = [key for key in _MEMBER_KEYS if key not in member]
            if absent:
                raise ValueError(
                    f"render_email({name!r}): members[{index}] is missing {', '.join(absent)}"
                )
    if "resources" in MESSAGE_CONTEXT[name]:
        _check_resources(name, context.get("resources"))
    starters = context.get("starters")
    if "starters" in MESSAGE_CONTEXT[name] and (
        isinstance(starters, str) or not isinstance(starters, list | tuple)
    ):
        raise ValueError(f"render_email({name!r}): starters must be a list of strings")


def _check_resources(name: str, resources: object) -> None:
    if not isinstance(resources, list | tuple):
        raise ValueError(f"render_email({name!r}): resources must be a list of dicts")
    for index, resource in enumerate(resources):
        if not isinstance(resource, Mapping) or any(k not in resource for k in _RESOURCE_KEYS):
            raise ValueError(
                f"render_email({name!r}): resources[{index}] needs {', '.join(_RESOURCE_KEYS)}"
            )
        if not str(resource["url"]).startswith(("http://", "https://")):
            raise ValueError(f"render_email({name!r}): resources[{index}] url must be http(s)")


def render_email(name: str, context: Mapping[str, object]) -> RenderedEmail:
    """Render message ``name`` with ``context``.

    Raises ``ValueError`` for an unknown message or a missing/malformed context value.
    """
    if name not in MESSAGE_CONTEXT:
        known = ", ".join(sorted(MESSAGE_CONTEXT))
        raise ValueError(f"unknown email message {name!r}; known messages: {known}")
    if not isinstance(context, Mapping):
        raise TypeError(f"context must be a mapping, got {type(context).__name__}")
    _check_context(name, context)
    environment = _environment()
    values = dict(context)
    try:
        subject = environment.get_template(f"{name}/subject.txt").render(values)
        text = environment.get_template(f"{name}/body.txt").render(values)
        html = environment.get_template(f"{name}/body.html").render(values)
    except jinja2.UndefinedError as exc:
        raise ValueError(f"render_email({name!r}): {exc}") from exc
    return RenderedEmail(
        subject=clean_header_text(subject),
        text=_tidy_text(text),
        html=html.strip() + "\n",
    )


def _tidy_text(text: str) -> str:
    # Templates are written for readability; collapse the blank-line runs that
    # conditional blocks leave behind so the plain-text part looks hand-written.
    lines = [line.rstrip() for line in text.strip().splitlines()]
    tidy: list[str] = []
    for line in lines:
        if line == "" and tidy and tidy[-1] == "":
            continue
        tidy.append(line)
    return "\n".join(tidy) + "\n"
