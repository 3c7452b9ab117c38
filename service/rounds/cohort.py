"""The thin adapter between our tables and the `matching` library."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import matching
from service.models import MatchGroup, Membership, Organization, Participant, Round, Topic
from service.participants.schemas import ProfileIn

# Organization weights are multipliers of the library's documented defaults (1.0 = default).
_DEFAULTS = matching.MatchWeights()


def person_from_profile(
    profile: Participant | ProfileIn, *, email: str, avoid: Iterable[str], priority: bool = False
) -> matching.Person:
    """A matcher `Person` from a stored participant or a validated profile (CSV, API)."""
    return matching.Person(
        key=email,
        name=profile.full_name,
        role=profile.role,
        specialty=profile.specialty,
        department=profile.department,
        site=profile.site,
        interests=tuple(profile.interests),
        goals=profile.goals,
        mentoring=profile.mentoring,
        can_teach=tuple(profile.can_teach),
        wants_to_learn=tuple(profile.wants_to_learn),
        timezone=profile.timezone,
        availability=tuple((w[0], w[1], w[2]) for w in profile.availability),
        avoid=frozenset(avoid),
        priority=priority,
    )


def to_person(participant: Participant) -> matching.Person:
    return person_from_profile(
        participant,
        email=participant.email,
        avoid=participant.avoid_emails,
        priority=participant.priority,
    )


def to_topic(topic: Topic) -> matching.Topic:
    return matching.Topic(
        key=topic.key,
        title=topic.title,
        description=topic.description,
        starters=tuple(topic.starters),
        tags=tuple(topic.tags),
    )


def weights_for(org: Organization) -> matching.MatchWeights:
    return matching.MatchWeights(
        interests=_DEFAULTS.interests * org.weight_interests,
        teaching=_DEFAULTS.teaching * org.weight_mentoring,
        mentoring=_DEFAULTS.mentoring * org.weight_mentoring,
        seniority_mix=_DEFAULTS.seniority_mix * org.weight_seniority_mix,
        cross_department=_DEFAULTS.cross_department * org.weight_cross_department,
    )


def active_participants(session: Session, org: Organization) -> list[Participant]:
    """Everyone who should be matched this month (active and reachable by email)."""
    return list(
        session.scalars(
            select(Participant)
            .where(
                Participant.organization_id == org.id,
                Participant.status == "active",
                Participant.undeliverable.is_(False),
            )
            .options(selectinload(Participant.avoid_entries))
            .order_by(Participant.id)
        )
    )


def active_topics(session: Session, org: Organization) -> list[Topic]:
    return list(
        session.scalars(
            select(Topic)
            .where(Topic.organization_id == org.id, Topic.retired_at.is_(None))
            .order_by(Topic.id)
        )
    )


def history(session: Session, org: Organization, *, before_month: str) -> list[matching.PastGroup]:
    """Every earlier group of this organization, as the matcher needs it (one query)."""
    rows = session.execute(
        select(Round.month, MatchGroup.id, Topic.key, Participant.email)
        .join(MatchGroup, MatchGroup.round_id == Round.id)
        .join(Membership, Membership.group_id == MatchGroup.id)
        .join(Participant, Participant.id == Membership.participant_id)
        .outerjoin(Topic, Topic.id == MatchGroup.topic_id)
        .where(
            Round.organization_id == org.id,
            Round.month < before_month,
            Round.status.in_(("approved", "sent")),
            Participant.status != "deleted",
        )
        .order_by(Round.month, MatchGroup.id)
    )
    members: dict[int, list[str]] = defaultdict(list)
    meta: dict[int, tuple[str, str | None]] = {}
    for month, group_id, topic_key, email in rows:
        members[group_id].append(email)
        meta[group_id] = (month, topic_key)
    return [
        matching.PastGroup(month=meta[g][0], members=tuple(emails), topic_key=meta[g][1])
        for g, emails in members.items()
    ]
