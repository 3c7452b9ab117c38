"""Asking colleagues one at a time: the next candidate, declines, expiry and "no match".

A request asks at most MAX_ASKS_PER_REQUEST colleagues, each with ANSWER_WITHIN to answer.
When the last one declines or lets it expire, or nobody suitable is left, the request is
closed as "unmatched" and the requester gets a kind email.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import utcnow
from service.introductions import ANSWER_WITHIN, candidates, emails
from service.links import LinkSigner
from service.models import IntroductionAsk, IntroductionRequest, Organization, Participant
from service.models.introductions import MAX_ASKS_PER_REQUEST

NOBODY_FITS = (
    "We could not find a colleague whose profile fits what you are looking for, or everyone "
    "who fits has been asked recently."
)
NOBODY_ACCEPTED = (
    "We asked the colleagues who fit best, but none of them could take it on this time."
)


def lock_row(session: Session, model: Any, row_id: int) -> None:
    """Serialize concurrent changes to one row on PostgreSQL (SQLite has one writer anyway)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(model.id).where(model.id == row_id).with_for_update())


def _requester_gone(requester: Participant | None) -> bool:
    return requester is None or requester.status in ("left", "deleted")


def ask_next(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    request: IntroductionRequest,
    *,
    now: datetime,
) -> list[str]:
    """Ask the best colleague not asked yet, or close the request; returns the email keys."""
    requester = session.get(Participant, request.requester_id)
    if _requester_gone(requester):
        request.status = "cancelled"
        request.closed_at = now
        session.flush()
        return []
    assert requester is not None
    position = 1 + max((a.position for a in request.asks), default=0)
    if position > MAX_ASKS_PER_REQUEST:
        return close_unmatched(
            session, settings, links, org, request, requester, now=now, reason=NOBODY_ACCEPTED
        )
    ranked = candidates.rank_candidates(session, request, requester, now=now, limit=1)
    if not ranked:
        reason = NOBODY_FITS if position == 1 else NOBODY_ACCEPTED
        return close_unmatched(
            session, settings, links, org, request, requester, now=now, reason=reason
        )
    best = ranked[0]
    candidate = session.get(Participant, best.key)
    assert candidate is not None
    ask = IntroductionAsk(
        request=request,
        candidate_id=candidate.id,
        position=position,
        status="asked",
        asked_at=now,
        expires_at=now + ANSWER_WITHIN,
    )
    session.add(ask)
    session.flush()
    return [
        emails.queue_ask(session, settings, links, org, request, ask, requester, candidate, best)
    ]


def close_unmatched(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    request: IntroductionRequest,
    requester: Participant,
    *,
    now: datetime,
    reason: str,
) -> list[str]:
    request.status = "unmatched"
    request.closed_at = now
    session.flush()
    return [
        emails.queue_unmatched(session, settings, links, org, request, requester, reason=reason)
    ]


def is_answerable(ask: IntroductionAsk, *, now: datetime) -> bool:
    """Still waiting for this colleague's answer (the expiry job may not have run yet)."""
    return ask.status == "asked" and ask.request.status == "open" and ask.expires_at > now


def decline(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    ask: IntroductionAsk,
    *,
    stop_asking: bool = False,
    now: datetime | None = None,
) -> list[str]:
    """The colleague says no: ask the next one. Declining twice changes nothing."""
    now = now or utcnow()
    lock_row(session, IntroductionRequest, ask.request_id)
    session.refresh(ask)
    session.refresh(ask.request)
    if stop_asking:
        candidate = session.get(Participant, ask.candidate_id)
        if candidate is not None:
            candidate.accepts_introductions = False
    if not is_answerable(ask, now=now):
        session.flush()
        return []
    ask.status = "declined"
    ask.answered_at = now
    session.flush()
    return ask_next(session, settings, links, org, ask.request, now=now)


def expire_ask(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    ask_id: int,
    *,
    now: datetime,
) -> list[str]:
    """No answer within ANSWER_WITHIN: mark it expired and ask the next colleague."""
    ask = session.get(IntroductionAsk, ask_id)
    if ask is None:
        return []
    lock_row(session, IntroductionRequest, ask.request_id)
    session.refresh(ask)
    request = ask.request
    session.refresh(request)
    if ask.status != "asked" or ask.expires_at > now:
        return []  # answered in the meantime, or another run got here first
    ask.status = "expired"
    session.flush()
    if request.status != "open":
        return []
    org = session.get(Organization, request.organization_id)
    assert org is not None
    return ask_next(session, settings, links, org, request, now=now)


def due_ask_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(IntroductionAsk.id)
            .where(IntroductionAsk.status == "asked", IntroductionAsk.expires_at <= now)
            .order_by(IntroductionAsk.expires_at, IntroductionAsk.id)
            .limit(limit)
        )
    )
