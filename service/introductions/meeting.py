"""Someone accepted: a 20-minute call at a time both listed, introduced by email to each
other with the invite attached; afterwards either can say whether they met."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

import matching
from notifications import build_invite
from service import outbox
from service.config import Settings
from service.db import utcnow
from service.errors import Conflict
from service.introductions import MEETING_MINUTES, MEETING_WINDOW_DAYS, emails
from service.introductions import links as intro_links
from service.introductions.asking import is_answerable, lock_row
from service.introductions.links import IntroLink
from service.links import LinkSigner
from service.models import IntroductionRequest, Organization, Participant
from service.rounds.cohort import to_person
from service.rounds.create import meeting_url
from service.rounds.invites import SHORT_ROLES


def meeting_window(now: datetime) -> tuple[date, date]:
    """Tomorrow (UTC) to two weeks later: never today, so nobody is invited to a call that
    starts before they read the email."""
    first = (now + timedelta(days=1)).date()
    return first, first + timedelta(days=MEETING_WINDOW_DAYS - 1)


def meeting_slot(
    org: Organization, people: list[Participant], *, now: datetime
) -> tuple[datetime, bool]:
    """The earliest weekday slot both listed, or lunch in the hospital's zone when none.

    Returns (start in UTC, both_available). Someone who listed no times counts as free.
    """
    window = meeting_window(now)
    if any(p.availability for p in people):
        found = matching.find_meeting_time(
            [to_person(p) for p in people],
            start=window[0],
            end=window[1],
            duration_minutes=MEETING_MINUTES,
            weekdays_only=True,
        )
        if found is not None:
            return found, True
    day = window[0]
    while day.weekday() >= 5:
        day += timedelta(days=1)
    start = datetime.combine(day, time(12, 0), ZoneInfo(org.timezone)).astimezone(UTC)
    return start, False


def _who(p: Participant) -> str:
    detail = ", ".join(x for x in (SHORT_ROLES.get(p.role, p.role), p.specialty) if x)
    return f"- {p.full_name} ({detail})"


def calendar_bytes(
    settings: Settings,
    org: Organization,
    request: IntroductionRequest,
    requester: Participant,
    candidate: Participant,
) -> bytes:
    assert request.meeting_start and request.meeting_end and request.ical_uid
    sender, sender_name = outbox.sender_identity(settings, org)
    description = "\n".join(
        [
            f"An introduction through Coffee Rounds at {org.name}.",
            "",
            f"What {requester.full_name} is looking for: {request.need}",
            "",
            "Who's who:",
            _who(requester),
            _who(candidate),
            "",
            f"Join the video call: {request.meeting_url}",
        ]
    )
    return build_invite(
        uid=request.ical_uid,
        sequence=0,
        method="REQUEST",
        organizer_email=sender,
        organizer_name=sender_name,
        attendees=[(requester.email, requester.full_name), (candidate.email, candidate.full_name)],
        start=request.meeting_start,
        end=request.meeting_end,
        summary=f"Introduction: {requester.full_name} and {candidate.full_name}",
        description=description,
        location=request.meeting_url,
        url=request.meeting_url,
        dtstamp=utcnow(),
        status="CONFIRMED",
    )


def accept(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    link: IntroLink,
    *,
    now: datetime | None = None,
) -> list[str]:
    """The asked colleague says yes: schedule the call and introduce both. Accepting twice,
    or after the request closed, changes nothing (returns no email keys)."""
    now = now or utcnow()
    ask, request, org = link.ask, link.request, link.org
    assert ask is not None
    lock_row(session, IntroductionRequest, request.id)
    session.refresh(request)
    session.refresh(ask)
    if not is_answerable(ask, now=now):
        return []
    requester = session.get(Participant, request.requester_id)
    candidate = link.participant
    if requester is None or requester.status in ("left", "deleted"):
        ask.status = "withdrawn"
        ask.answered_at = now
        request.status = "cancelled"
        request.closed_at = now
        session.flush()
        return []
    start, both_available = meeting_slot(org, [requester, candidate], now=now)
    ask.status = "accepted"
    ask.answered_at = now
    request.status = "accepted"
    request.closed_at = now
    request.meeting_start = start
    request.meeting_end = start + timedelta(minutes=MEETING_MINUTES)
    request.meeting_url = meeting_url(org)
    request.ical_uid = f"{uuid.uuid4()}@coffeerounds"
    session.flush()
    calendar = calendar_bytes(settings, org, request, requester, candidate)
    return [
        emails.queue_made(
            session,
            settings,
            links,
            org,
            request,
            requester,
            candidate,
            you_asked=True,
            token=intro_links.requester_token(links, requester, request),
            calendar=calendar,
            everyone_available=both_available,
        ),
        emails.queue_made(
            session,
            settings,
            links,
            org,
            request,
            candidate,
            requester,
            you_asked=False,
            token=intro_links.ask_token(links, candidate, ask),
            calendar=calendar,
            everyone_available=both_available,
        ),
    ]


def can_say_met(request: IntroductionRequest, *, now: datetime) -> bool:
    return (
        request.status == "accepted"
        and request.meeting_start is not None
        and request.meeting_start <= now
    )


def record_met(
    session: Session, link: IntroLink, *, met: bool, now: datetime | None = None
) -> None:
    """Either side answers "did you meet?"; the latest answer stands."""
    now = now or utcnow()
    request = link.request
    if link.ask is not None and link.ask.status != "accepted":
        raise Conflict("This introduction was not yours to answer.")
    if not can_say_met(request, now=now):
        raise Conflict("You can tell us whether you met once the call's time has come.")
    request.met = met
    session.flush()
