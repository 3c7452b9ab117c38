"""The three introduction emails, each queued in the outbox with a fixed idempotency key.

- `introduction_ask` to a colleague: the need and the requester's role, specialty and
  department, never the requester's name; Accept / Decline links.
- `introduction_made` to both, once someone accepts: names, emails, the call (.ics attached)
  and one-click "did you meet?" links.
- `introduction_unmatched` to the requester: nobody could be found or nobody accepted.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from matching.introductions import RankedCandidate
from service import outbox
from service.config import Settings
from service.introductions import links as intro_links
from service.links import LinkSigner
from service.member_links import member_url
from service.models import IntroductionAsk, IntroductionRequest, Organization, Participant
from service.rounds.invites import SHORT_ROLES
from service.rounds.timing import format_local


def describe(person: Participant) -> str:
    """'a resident in Cardiology, Department of Medicine': who, without the name."""
    role = SHORT_ROLES.get(person.role, "colleague")
    article = "an" if role[0].lower() in "aeiou" or role == "NP/PA" else "a"
    text = f"{article} {role}"
    if person.specialty:
        text += f" in {person.specialty}"
    if person.department:
        text += f", {person.department}"
    return text


def why_you(request: IntroductionRequest, ranked: RankedCandidate) -> str:
    reasons = []
    if ranked.skill_match:
        reasons.append(f"what you can teach matches “{request.skill}”")
    if ranked.specialty_match:
        reasons.append(f"your specialty or department matches “{request.specialty}”")
    if ranked.site_match:
        reasons.append(f"you work at {request.site}")
    if not reasons:
        reasons.append("your profile fits what they are looking for")
    return "We thought of you because " + " and ".join(reasons) + "."


def format_day(moment: datetime, zone_name: str) -> str:
    return moment.astimezone(ZoneInfo(zone_name)).strftime("%A %d %B").replace(" 0", " ", 1)


def _queue(
    session: Session,
    settings: Settings,
    org: Organization,
    to: Participant,
    *,
    template: str,
    context: dict[str, object],
    key: str,
    calendar: bytes | None = None,
) -> str:
    outbox.enqueue_email(
        session,
        settings=settings,
        org=org,
        participant=to,
        to=to.email,
        to_name=to.full_name,
        kind=template,
        template=template,
        context={"participant_name": to.full_name, "organization_name": org.name, **context},
        idempotency_key=key,
        calendar=calendar,
        calendar_method="REQUEST" if calendar is not None else None,
    )
    return key


def queue_ask(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    request: IntroductionRequest,
    ask: IntroductionAsk,
    requester: Participant,
    candidate: Participant,
    ranked: RankedCandidate,
) -> str:
    token = intro_links.ask_token(links, candidate, ask)
    context = {
        "need": request.need,
        "skill": request.skill,
        "specialty": request.specialty,
        "site": request.site,
        "requester_description": describe(requester),
        "why_you": why_you(request, ranked),
        "accept_url": intro_links.intro_url(settings, org, token, "answer=accept"),
        "decline_url": intro_links.intro_url(settings, org, token, "answer=decline"),
        "answer_by": format_day(ask.expires_at, candidate.timezone),
    }
    return _queue(
        session,
        settings,
        org,
        candidate,
        template="introduction_ask",
        context=context,
        key=f"introduction_ask:{ask.id}",
    )


def queue_made(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    request: IntroductionRequest,
    me: Participant,
    other: Participant,
    *,
    you_asked: bool,
    token: str,
    calendar: bytes,
    everyone_available: bool,
) -> str:
    assert request.meeting_start is not None
    context = {
        "you_asked": you_asked,
        "need": request.need,
        "other_name": other.full_name,
        "other_email": other.email,
        "other_description": describe(other),
        "meeting_start_local": format_local(request.meeting_start, me.timezone),
        "meeting_timezone": me.timezone,
        "meeting_url": request.meeting_url,
        "everyone_available": everyone_available,
        "met_yes_url": intro_links.intro_url(settings, org, token, "met=yes"),
        "met_no_url": intro_links.intro_url(settings, org, token, "met=no"),
    }
    return _queue(
        session,
        settings,
        org,
        me,
        template="introduction_made",
        context=context,
        key=f"introduction_made:{request.id}:{me.id}",
        calendar=calendar,
    )


def queue_unmatched(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    request: IntroductionRequest,
    requester: Participant,
    *,
    reason: str,
) -> str:
    context = {
        "need": request.need,
        "reason": reason,
        "introductions_url": member_url(settings, links, org, requester, "introductions"),
    }
    return _queue(
        session,
        settings,
        org,
        requester,
        template="introduction_unmatched",
        context=context,
        key=f"introduction_unmatched:{request.id}",
    )
