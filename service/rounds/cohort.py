"""The thin adapter between our tables and the `matching` library."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

import matching
from service.models import MatchGroup, Membership, Organization, Participant, Round, Topic

# Organization weights are multipliers of the library's documented defaults (1.0 = default).
_DEFAULTS = matching.MatchWeights()


def to_person(participant: Participant) -> matching.Person:
    return matching.Person(
        key=participant.email,
        name=participant.full_name,
        role=participant.role,
        specialty=participant.specialty,
        department=participant.department,
        site=participant.site,
        interests=tuple(participant.interests),
        goals=participant.goals,
        mentoring=participant.mentoring,
        can_teach=tuple(participant.can_teach),
        wants_to_learn=tuple(participant.wants_to_learn),
        timezone=participant.timezone,
        availability=tuple(tuple(w) for w in participant.availability),  # type: ignore[misc]
        avoid=frozenset(participant.avoid_emails),
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
