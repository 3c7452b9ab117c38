"""An organization's topic catalog: seeded from the default topics, read by the matcher."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

import matching
import matching.datasets
from service.models import Organization, Topic


@dataclass(frozen=True)
class SeedReport:
    created: int
    updated: int
    unchanged: int


def _content(topic: matching.Topic) -> dict[str, object]:
    return {
        "title": topic.title,
        "description": topic.description,
        "starters": list(topic.starters),
        "tags": list(topic.tags),
    }


def seed_topics(
    session: Session,
    org: Organization,
    topics: Iterable[matching.Topic] | None = None,
    *,
    update_existing: bool = True,
) -> SeedReport:
    """Upsert topics by key (default: `matching.datasets.default_topics()`); flush only.

    A topic the organization retired stays retired; with `update_existing=False` topics that
    exist keep whatever the wellness lead made of them.
    """
    if topics is None:
        topics = matching.datasets.default_topics()
    current = {
        row.key: row
        for row in session.scalars(select(Topic).where(Topic.organization_id == org.id))
    }
    created = updated = unchanged = 0
    for topic in topics:
        content = _content(topic)
        row = current.get(topic.key)
        if row is None:
            row = Topic(organization_id=org.id, key=topic.key, **content)
            session.add(row)
            current[topic.key] = row
            created += 1
        elif update_existing and any(getattr(row, k) != v for k, v in content.items()):
            for name, value in content.items():
                setattr(row, name, value)
            updated += 1
        else:
            unchanged += 1
    session.flush()
    return SeedReport(created=created, updated=updated, unchanged=unchanged)


def active_topics(session: Session, org: Organization) -> list[Topic]:
    """The organization's topics that are not retired, by key."""
    return list(
        session.scalars(
            select(Topic)
            .where(Topic.organization_id == org.id, Topic.retired_at.is_(None))
            .order_by(Topic.key)
        )
    )


def to_matching_topic(row: Topic) -> matching.Topic:
    """A catalog row as the matcher's Topic."""
    return matching.Topic(
        key=row.key,
        title=row.title,
        description=row.description,
        starters=tuple(row.starters),
        tags=tuple(row.tags),
    )
