"""Who may be asked for an introduction, ranked by `matching.introductions`.

Candidates are, by construction, colleagues of the same organization: active (not paused,
not left), accepting introductions, reachable by email, not the requester, on nobody's avoid
list in either direction, not yet asked for this request, and not asked by this requester in
the last 90 days. People the requester already shared a round group with are ranked after
comparable newcomers.

The ranker is fitted on the whole organization's profiles and kept current in memory
(`service.introductions.fitted`). Who may be asked is read fresh for every search, so a
pause, an opt-out or a bounced address counts at once even when it did not touch
`updated_at`, and a kept model a little behind never offers the wrong person. At 10,000
people a search with the kept or refreshed model costs 15-40 ms of CPU
(bench/introductions.py, docs/benchmarks.md).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from matching.introductions import IntroductionQuery, RankedCandidate
from service.introductions import REPEAT_ASK_AFTER
from service.introductions.fitted import fitted_rankers
from service.models import (
    AvoidEntry,
    IntroductionAsk,
    IntroductionRequest,
    Membership,
    Participant,
)


def eligible_ids(session: Session, requester: Participant) -> set[int]:
    """Everyone in the requester's organization who may be asked at all."""
    return set(
        session.connection()
        .execute(
            select(Participant.id).where(
                Participant.organization_id == requester.organization_id,
                Participant.status == "active",
                Participant.accepts_introductions.is_(True),
                Participant.undeliverable.is_(False),
                Participant.id != requester.id,
            )
        )
        .scalars()
    )


def excluded_ids(
    session: Session, request: IntroductionRequest, requester: Participant, *, now: datetime
) -> set[int]:
    """Never ask: people already asked for this request or by this requester lately, and
    anyone on an avoid list (the requester's, or theirs naming the requester)."""
    asked = session.scalars(
        select(IntroductionAsk.candidate_id)
        .join(IntroductionRequest, IntroductionRequest.id == IntroductionAsk.request_id)
        .where(
            IntroductionRequest.requester_id == requester.id,
            (IntroductionAsk.request_id == request.id)
            | (IntroductionAsk.asked_at > now - REPEAT_ASK_AFTER),
        )
    )
    excluded = set(asked)
    avoided = requester.avoid_emails
    if avoided:
        excluded.update(
            session.scalars(
                select(Participant.id).where(
                    Participant.organization_id == requester.organization_id,
                    Participant.email.in_(avoided),
                )
            )
        )
    theirs = select(AvoidEntry.participant_id).where(AvoidEntry.email == requester.email)
    excluded.update(session.scalars(theirs))
    return excluded


def met_ids(session: Session, requester: Participant) -> set[int]:
    """Everyone who was in a round group with the requester (both still in it)."""
    mine, theirs = aliased(Membership), aliased(Membership)
    return set(
        session.scalars(
            select(theirs.participant_id)
            .join(mine, mine.group_id == theirs.group_id)
            .where(
                mine.participant_id == requester.id,
                mine.status == "invited",
                theirs.status == "invited",
                theirs.participant_id != requester.id,
            )
        )
    )


def query_of(request: IntroductionRequest) -> IntroductionQuery:
    return IntroductionQuery(
        need=request.need,
        skill=request.skill or "",
        specialty=request.specialty or "",
        site=request.site or "",
    )


def rank_candidates(
    session: Session,
    request: IntroductionRequest,
    requester: Participant,
    *,
    now: datetime,
    limit: int | None = 1,
) -> list[RankedCandidate]:
    """The best colleagues to ask next for this request, best first (keys are participant ids)."""
    ranker = fitted_rankers.get(session, requester.organization_id)
    eligible = eligible_ids(session, requester)
    excluded = excluded_ids(session, request, requester, now=now)
    excluded.update(key for key in ranker.keys_ if key not in eligible)
    return ranker.rank(
        query_of(request), exclude=excluded, met=met_ids(session, requester), limit=limit
    )
