"""Helpers to build a real organization with participants and topics for round tests."""

from __future__ import annotations

from sqlalchemy.orm import Session

import matching
from service.models import Organization, Topic
from service.participants.schemas import ParticipantIn
from service.participants.service import register

ROLES = ("attending", "resident", "nurse", "fellow", "np_pa", "student")


def make_org(
    session: Session,
    *,
    slug: str = "stmarys",
    timezone: str = "America/New_York",
    people: int = 12,
    availability: str = "Mon 12:00-13:00; Tue 12:00-13:00; Wed 07:00-08:00",
) -> Organization:
    org = Organization(slug=slug, name=f"{slug.title()} Hospital", timezone=timezone)
    session.add(org)
    session.flush()
    for topic in matching.default_topics():
        session.add(
            Topic(
                organization_id=org.id,
                key=topic.key,
                title=topic.title,
                description=topic.description,
                starters=list(topic.starters),
                tags=list(topic.tags),
            )
        )
    for i in range(people):
        register(
            session,
            org,
            ParticipantIn(
                email=f"person{i}@{slug}.example",
                full_name=f"Person {i}",
                role=ROLES[i % len(ROLES)],
                department=f"Dept {i % 4}",
                interests=["quality improvement", "running"] if i % 2 else ["teaching"],
                timezone=timezone,
                availability=availability,
            ),
            source="import",
            active=True,
        )
    session.flush()
    return org

