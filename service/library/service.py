"""The resource library's rules: sharing, "useful" votes, hiding, suggested tags.
(Searching is in `search`.)

Functions flush and never commit: the request (or CLI command) that calls them owns the
transaction. Both inserts that can race with another request (the same link shared twice at
once, a double-clicked "useful") are single INSERT ... ON CONFLICT DO NOTHING statements, so
the unique keys decide and nobody sees an error.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service import audit
from service.db import utcnow
from service.errors import InvalidInput, NotFound
from service.library.validation import MAX_TAG, ResourceDraft
from service.models import (
    MatchGroup,
    Membership,
    Organization,
    Participant,
    Resource,
    ResourceVote,
    Topic,
)

# Enough for a keen reader, few enough that one person cannot flood the library.
MAX_SHARES_PER_DAY = 10
SUGGESTED_TAGS = 16

ShareStatus = Literal["added", "already", "hidden"]
VoteStatus = Literal["counted", "already", "own"]


# Ids come from URLs and forms: anything outside the INTEGER range is simply not found
# (PostgreSQL would refuse to compare it with an INTEGER column).
MAX_ID = 2**31 - 1


def _by_id(session: Session, model: type[Any], raw_id: int | None) -> Any:
    if raw_id is None or not 1 <= raw_id <= MAX_ID:
        return None
    return session.get(model, raw_id)


# --- sharing -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareOutcome:
    """`added`: new; `already`: the link was in the library; `hidden`: it was, and is hidden
    (pages must not tell the person: they get the same answer as for `added`)."""

    resource: Resource
    status: ShareStatus


def _insert_ignoring_conflict(
    session: Session, model: type[Any], values: dict[str, Any], keys: Sequence[str]
) -> bool:
    """INSERT ... ON CONFLICT (keys) DO NOTHING; True when a row was inserted."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = (
        insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=list(keys))
        # RETURNING rather than rowcount, which psycopg reports as -1 here.
        .returning(getattr(model, keys[0]))
    )
    return session.execute(statement).first() is not None


def _find(session: Session, org: Organization, url: str) -> Resource | None:
    return session.scalar(
        select(Resource).where(Resource.organization_id == org.id, Resource.url == url)
    )


def shares_today(session: Session, participant: Participant, *, now: datetime) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Resource)
        .where(
            Resource.participant_id == participant.id,
            Resource.created_at > now - timedelta(days=1),
        )
    ) or 0


def topic_of(session: Session, org: Organization, topic_id: int | None) -> Topic | None:
    """The organization's topic with this id, or None (also for another hospital's id)."""
    topic = _by_id(session, Topic, topic_id)
    return topic if topic is not None and topic.organization_id == org.id else None


def share(
    session: Session,
    org: Organization,
    draft: ResourceDraft,
    *,
    participant: Participant | None,
    membership: Membership | None = None,
    topic_id: int | None = None,
    source: str = "participant",
    now: datetime | None = None,
) -> ShareOutcome:
    """Add a link to the library, or find it there already (it is never duplicated).

    Shared from a chat (`membership`), the resource records that chat and its topic.
    A participant can add at most MAX_SHARES_PER_DAY links a day (InvalidInput beyond).
    """
    now = now or utcnow()
    existing = _find(session, org, draft.url)
    if existing is not None:
        return ShareOutcome(existing, "hidden" if existing.hidden_at else "already")
    if participant is not None and shares_today(session, participant, now=now) >= (
        MAX_SHARES_PER_DAY
    ):
        message = (
            f"You've shared {MAX_SHARES_PER_DAY} links today, the most for one day. "
            "Thank you! Please come back tomorrow for more."
        )
        raise InvalidInput(message, fields={"form": message})
    if membership is not None:
        group = session.get(MatchGroup, membership.group_id)
        topic_id = group.topic_id if group is not None else None
    topic = topic_of(session, org, topic_id)
    values = {
        "organization_id": org.id,
        "participant_id": participant.id if participant is not None else None,
        "membership_id": membership.id if membership is not None else None,
        "topic_id": topic.id if topic is not None else None,
        "url": draft.url,
        "title": draft.title,
        "why": draft.why,
        "tags": list(draft.tags),
        "source": source,
        "useful_count": 0,
        "hidden_by": "",
        "created_at": now,
    }
    inserted = _insert_ignoring_conflict(session, Resource, values, ("organization_id", "url"))
    resource = _find(session, org, draft.url)
    assert resource is not None
    if not inserted:  # someone shared the same link a moment ago
        return ShareOutcome(resource, "hidden" if resource.hidden_at else "already")
    return ShareOutcome(resource, "added")


# --- useful votes --------------------------------------------------------------------------


def visible_resource(session: Session, org: Organization, resource_id: int) -> Resource:
    """A resource participants may see; NotFound for hidden ones and other hospitals'."""
    resource = _by_id(session, Resource, resource_id)
    if resource is None or resource.organization_id != org.id or resource.hidden_at is not None:
        raise NotFound("This resource is not in the library.")
    return resource


def mark_useful(session: Session, resource: Resource, participant: Participant) -> VoteStatus:
    """Count the participant's "useful" once; their own links are not theirs to vote for."""
    if resource.participant_id == participant.id:
        return "own"
    inserted = _insert_ignoring_conflict(
        session,
        ResourceVote,
        {"resource_id": resource.id, "participant_id": participant.id, "created_at": utcnow()},
        ("resource_id", "participant_id"),
    )
    if not inserted:
        return "already"
    # An UPDATE relative to the stored value: two votes at once both count.
    session.execute(
        update(Resource)
        .where(Resource.id == resource.id)
        .values(useful_count=Resource.useful_count + 1)
    )
    session.refresh(resource)
    return "counted"


def voted_ids(session: Session, participant: Participant, resource_ids: Iterable[int]) -> set[int]:
    ids = list(resource_ids)
    if not ids:
        return set()
    return set(
        session.scalars(
            select(ResourceVote.resource_id).where(
                ResourceVote.participant_id == participant.id,
                ResourceVote.resource_id.in_(ids),
            )
        )
    )


# --- hiding (admins) -----------------------------------------------------------------------


def org_resource(session: Session, org: Organization, resource_id: int) -> Resource:
    """Any resource of the organization, hidden or not (for admins)."""
    resource = _by_id(session, Resource, resource_id)
    if resource is None or resource.organization_id != org.id:
        raise NotFound("No such resource.")
    return resource


def set_hidden(
    session: Session, org: Organization, resource: Resource, *, hidden: bool, actor: str
) -> bool:
    """Hide (or show again) a resource, audited; False when it already was."""
    if (resource.hidden_at is not None) == hidden:
        return False
    resource.hidden_at = utcnow() if hidden else None
    resource.hidden_by = actor[:254] if hidden else ""
    audit.record(
        session,
        org=org,
        actor=actor,
        action="resource.hide" if hidden else "resource.unhide",
        target_type="resource",
        target_id=resource.id,
        before={"hidden": not hidden},
        after={"hidden": hidden, "url": resource.url, "title": resource.title},
    )
    session.flush()
    return True


def suggested_tags(
    session: Session, org: Organization, *, first: Sequence[str] = ()
) -> list[str]:
    """Tags from the topic catalog to offer on the share form: `first` (the chat's topic),
    then the catalog's tags the library already uses most, then those most topics carry."""
    in_topics: Counter[str] = Counter()
    for tags in session.scalars(
        select(Topic.tags).where(Topic.organization_id == org.id, Topic.retired_at.is_(None))
    ):
        in_topics.update({" ".join(t.split()).lower() for t in tags})
    catalog = {t for t in in_topics if t and len(t) <= MAX_TAG}
    used: Counter[str] = Counter()
    for tags in session.scalars(
        select(Resource.tags).where(
            Resource.organization_id == org.id, Resource.hidden_at.is_(None)
        )
    ):
        used.update(t for t in tags if t in catalog)
    ordered = [t.lower() for t in first if t.lower() in catalog]
    ordered += sorted(catalog - set(ordered), key=lambda t: (-used[t], -in_topics[t], t))
    return ordered[:SUGGESTED_TAGS]
