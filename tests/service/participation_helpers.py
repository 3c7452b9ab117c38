"""Building a participation history by hand: people, sent rounds with groups, check-ins and
accepted introductions, with exact meeting times so durations and totals are known."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import (
    Feedback,
    IntroductionAsk,
    IntroductionRequest,
    MatchGroup,
    Membership,
    Organization,
    Participant,
    Round,
)

_UIDS = itertools.count(1)


def person(
    db: Session, org: Organization, name: str, department: str, **fields: Any
) -> Participant:
    values: dict[str, Any] = {
        "organization_id": org.id,
        "email": name.lower().replace(" ", ".") + "@stmarys.example",
        "full_name": name,
        "role": "nurse",
        "department": department,
        "timezone": "America/New_York",
        "status": "active",
        "confirmed_at": datetime(2025, 6, 1, tzinfo=UTC),
        "avoid_entries": [],
    }
    values.update(fields)
    participant = Participant(**values)
    db.add(participant)
    db.flush()
    return participant


def round_of(db: Session, org: Organization, month: str, status: str = "sent") -> Round:
    existing = db.scalar(select(Round).where(Round.organization_id == org.id, Round.month == month))
    if existing is not None:
        return existing
    round_ = Round(organization_id=org.id, month=month, status=status)
    db.add(round_)
    db.flush()
    return round_


def chat(
    db: Session,
    org: Organization,
    month: str,
    members: list[Participant],
    *,
    topic: str = "What keeps you going",
    minutes: int | None = 30,
    dropped: tuple[Participant, ...] = (),
    status: str = "sent",
) -> dict[int, Membership]:
    """A group of `members` in `month`'s round; {participant id: membership}."""
    round_ = round_of(db, org, month, status)
    start = datetime(int(month[:4]), int(month[5:]), 12, 17, tzinfo=UTC)
    group = MatchGroup(
        round_id=round_.id,
        number=(db.scalar(select(func.count()).where(MatchGroup.round_id == round_.id)) or 0) + 1,
        topic_title=topic,
        meeting_start=start if minutes else None,
        meeting_end=start + timedelta(minutes=minutes) if minutes else None,
        ical_uid=f"group-{next(_UIDS)}@test",
    )
    db.add(group)
    db.flush()
    out = {}
    for member in members:
        membership = Membership(
            round_id=round_.id,
            group_id=group.id,
            participant_id=member.id,
            status="dropped" if member in dropped else "invited",
        )
        db.add(membership)
        out[member.id] = membership
    db.flush()
    return out


def checkin(
    db: Session, membership: Membership, *, met: bool | None, learned: str = "", **extra: Any
) -> Feedback:
    feedback = Feedback(membership_id=membership.id, kind="checkin", met=met, learned=learned)
    for name, value in extra.items():
        setattr(feedback, name, value)
    db.add(feedback)
    db.flush()
    return feedback


def introduction(
    db: Session,
    org: Organization,
    requester: Participant,
    candidate: Participant,
    *,
    when: datetime,
    minutes: int = 20,
    skill: str = "Grant writing",
    met: bool | None = True,
    need: str = "Help with my first grant application",
) -> IntroductionRequest:
    request = IntroductionRequest(
        organization_id=org.id,
        requester_id=requester.id,
        need=need,
        skill=skill,
        status="accepted",
        created_at=when - timedelta(days=3),
        closed_at=when - timedelta(days=2),
        meeting_start=when,
        meeting_end=when + timedelta(minutes=minutes),
        ical_uid=f"intro-{next(_UIDS)}@test",
        met=met,
    )
    db.add(request)
    db.flush()
    db.add(
        IntroductionAsk(
            request_id=request.id,
            candidate_id=candidate.id,
            position=1,
            status="accepted",
            asked_at=when - timedelta(days=3),
            expires_at=when,
            answered_at=when - timedelta(days=2),
        )
    )
    db.flush()
    return request
