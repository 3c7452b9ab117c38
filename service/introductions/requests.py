"""Asking for an introduction: the request's fields, the limits, cancelling and listing.

The fields are free text from a participant and end up in pages, emails and a calendar
invite: they are plain text only (markup is refused with a message, and everything is
escaped on output anyway), single-line except the need, and length-limited.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from service.config import Settings
from service.db import utcnow
from service.errors import InvalidInput, NotFound
from service.introductions import MAX_OPEN_REQUESTS, asking
from service.links import LinkSigner
from service.models import IntroductionAsk, IntroductionRequest, Organization, Participant

MAX_NEED = 500
MAX_SHORT = 120  # the column size of skill, specialty and site
FIELDS = ("need", "skill", "specialty", "site")
# "<b", "</", "<!--", "<?xml": the start of a tag. "a < b" or "<5 years" stay allowed.
_TAG_START = re.compile(r"<\s*[/!?]?\s*[A-Za-z]")
# Bidi overrides can make text display differently from what is stored.
_BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


@dataclass(frozen=True)
class RequestFields:
    need: str
    skill: str = ""
    specialty: str = ""
    site: str = ""


def _clean(value: str, *, max_length: int, multiline: bool) -> str:
    text = unicodedata.normalize("NFC", value).replace("\r\n", "\n").strip()
    for char in text:
        if char in _BIDI_CONTROLS or (
            unicodedata.category(char) in ("Cc", "Cf", "Cs")
            and not (multiline and char in "\n\t")
            and char not in "\u200d\u200c"  # joiners are needed by several scripts
        ):
            raise ValueError(
                "Remove the line breaks or invisible control characters."
                if not multiline
                else "Remove the invisible control characters (they often come from a copy "
                "and paste)."
            )
    if _TAG_START.search(text):
        raise ValueError("Use plain text without HTML: remove the < and > around words.")
    if not multiline:
        text = re.sub(r"\s+", " ", text)
    if len(text) > max_length:
        raise ValueError(f"Use at most {max_length} characters (you wrote {len(text)}).")
    return text


def clean_fields(raw: Mapping[str, object]) -> RequestFields:
    """Validated, normalized fields, or InvalidInput with one message per bad field."""
    values: dict[str, str] = {}
    errors: dict[str, str] = {}
    for name in FIELDS:
        value = raw.get(name, "")
        if not isinstance(value, str):
            errors[name] = "Enter text."
            continue
        try:
            values[name] = _clean(
                value,
                max_length=MAX_NEED if name == "need" else MAX_SHORT,
                multiline=name == "need",
            )
        except ValueError as exc:
            errors[name] = str(exc)
    if "need" not in errors and not values.get("need"):
        errors["need"] = "Tell us who you would like to meet and what about."
    if errors:
        raise InvalidInput("Please check the form.", fields=errors)
    return RequestFields(**values)


@dataclass
class Created:
    request: IntroductionRequest
    email_keys: list[str] = field(default_factory=list)


def open_count(session: Session, requester: Participant) -> int:
    return int(
        session.scalar(
            select(func.count(IntroductionRequest.id)).where(
                IntroductionRequest.requester_id == requester.id,
                IntroductionRequest.status == "open",
            )
        )
        or 0
    )


def create_request(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    requester: Participant,
    fields: RequestFields,
    *,
    now: datetime | None = None,
) -> Created:
    """Store the request and ask the best colleague (or close it as "no match" at once)."""
    now = now or utcnow()
    if requester.organization_id != org.id:
        raise NotFound("No such participant.")
    # Two tabs sending at once must not make a third open request.
    asking.lock_row(session, Participant, requester.id)
    if open_count(session, requester) >= MAX_OPEN_REQUESTS:
        raise InvalidInput(
            "You already have two open requests.",
            fields={
                "form": "You already have two open requests. You can ask again once one of "
                "them is answered, or cancel one below."
            },
        )
    request = IntroductionRequest(
        organization_id=org.id,
        requester_id=requester.id,
        need=fields.need,
        skill=fields.skill,
        specialty=fields.specialty,
        site=fields.site,
        status="open",
        created_at=now,
        meeting_url="",
    )
    session.add(request)
    session.flush()
    keys = asking.ask_next(session, settings, links, org, request, now=now)
    return Created(request, keys)


def get_own_request(
    session: Session, requester: Participant, request_id: int
) -> IntroductionRequest:
    request = session.get(IntroductionRequest, request_id)
    if request is None or request.requester_id != requester.id:
        raise NotFound("No such introduction request.")
    return request


def cancel_request(
    session: Session, requester: Participant, request_id: int, *, now: datetime | None = None
) -> bool:
    """Cancel an open request (a colleague being asked is told it was withdrawn).

    Returns False when there was nothing to cancel (already answered or cancelled).
    """
    request = get_own_request(session, requester, request_id)
    asking.lock_row(session, IntroductionRequest, request.id)
    session.refresh(request)
    if request.status != "open":
        return False
    now = now or utcnow()
    request.status = "cancelled"
    request.closed_at = now
    for ask in request.asks:
        if ask.status == "asked":
            ask.status = "withdrawn"
            ask.answered_at = now
    session.flush()
    return True


def requests_of(session: Session, requester: Participant) -> list[IntroductionRequest]:
    """The requester's own requests, newest first, with their asks."""
    return list(
        session.scalars(
            select(IntroductionRequest)
            .where(IntroductionRequest.requester_id == requester.id)
            .options(selectinload(IntroductionRequest.asks))
            .order_by(IntroductionRequest.created_at.desc(), IntroductionRequest.id.desc())
        )
    )


def accepted_candidate(session: Session, request: IntroductionRequest) -> Participant | None:
    """Who accepted; None while nobody has (names are never revealed before that)."""
    if request.status != "accepted":
        return None
    ask = next((a for a in request.asks if a.status == "accepted"), None)
    return session.get(Participant, ask.candidate_id) if ask is not None else None


def current_ask(request: IntroductionRequest) -> IntroductionAsk | None:
    return next((a for a in request.asks if a.status == "asked"), None)
