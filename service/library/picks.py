"""Library resources for a chat topic: the "from the library" part of each monthly invite.

A round sends one invite per person (10,000 in a large hospital) but has only a few dozen
distinct topics, so the library is vectorised once and ranked once per topic.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from matching import ResourceRanker
from service.models import Organization, Resource, Topic

PER_INVITE = 2
# The newest and most appreciated links are the candidates; older ones rarely matter and
# would only make the ranking slower.
MAX_CANDIDATES = 5000


def topic_text(title: str, description: str, tags: Iterable[str]) -> str:
    return " ".join([title, description, *tags])


def resource_text(title: str, why: str, tags: Iterable[str], topic_title: str = "") -> str:
    # A link shared after a chat on a topic belongs to that topic too.
    return " ".join([title, why, *tags, topic_title])


def invite_picks(
    session: Session, org: Organization, topic_ids: Iterable[int | None], *, limit: int = PER_INVITE
) -> dict[int, list[dict[str, str]]]:
    """{topic id: up to `limit` visible resources as {title, url, why}}, best first.

    Topics with nothing relevant enough are left out (an invite then shows no resources).
    """
    wanted = sorted({t for t in topic_ids if t is not None})
    if not wanted:
        return {}
    titles = dict(
        session.execute(select(Topic.id, Topic.title).where(Topic.organization_id == org.id)).all()
    )
    rows = session.execute(
        select(Resource.url, Resource.title, Resource.why, Resource.tags, Resource.topic_id)
        .where(Resource.organization_id == org.id, Resource.hidden_at.is_(None))
        # Ties in the ranking keep this order: most appreciated, then newest.
        .order_by(Resource.useful_count.desc(), Resource.created_at.desc(), Resource.id.desc())
        .limit(MAX_CANDIDATES)
    ).all()
    if not rows:
        return {}
    topics = list(
        session.scalars(
            select(Topic).where(Topic.organization_id == org.id, Topic.id.in_(wanted))
        )
    )
    ranker = ResourceRanker().fit(
        [
            resource_text(title, why, tags, titles.get(topic_id, "") if topic_id else "")
            for _, title, why, tags, topic_id in rows
        ]
    )
    ranked = ranker.rank_many(
        [topic_text(t.title, t.description, t.tags) for t in topics], limit=limit
    )
    picks: dict[int, list[dict[str, str]]] = {}
    for topic, indices in zip(topics, ranked, strict=True):
        if indices:
            picks[topic.id] = [
                {"title": rows[i].title, "url": rows[i].url, "why": rows[i].why} for i in indices
            ]
    return picks
