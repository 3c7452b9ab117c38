"""Make a month's round: snapshot → match → meeting times → groups, memberships, emails.

Idempotent: a round is unique per (organization, month). On PostgreSQL the whole thing runs
under a transaction-scoped advisory lock, so a second scheduler (or `coffeerounds round`)
waits and then finds the round made; on SQLite the first statement takes the write lock.
Either way the unique constraint is the guarantee.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

import matching
from service import outbox
from service.config import Settings
from service.db import utcnow
from service.library.picks import invite_picks
from service.links import LinkSigner
from service.models import MatchGroup, Membership, Organization, Participant, Round, Topic
from service.participants.service import resume_due
from service.rounds import cohort, invites
from service.rounds.timing import meeting_time, scheduling_window

NOT_ENOUGH_PEOPLE = (
    "Fewer than three colleagues were available this month, so we could not form a group. "
    "You will be first in line next month."
)
COULD_NOT_PLACE = (
    "We could not fit you into a group this month without breaking someone's preferences. "
    "You will be first in line next month."
)


@dataclass
class PlannedGroup:
    members: list[Participant]
    matched: matching.MatchedGroup
    topic: Topic | None
    start: datetime
    everyone_available: bool


@dataclass
class RoundPlan:
    month: str
    seed: int
    groups: list[PlannedGroup]
    unplaced: list[Participant]
    result: matching.RoundResult
    warnings: list[str] = field(default_factory=list)

    def stats(self) -> dict[str, object]:
        stats = self.result.stats.as_dict()
        stats["unplaced"] = len(self.unplaced)
        stats["groups_without_common_time"] = sum(not g.everyone_available for g in self.groups)
        stats["warnings"] = self.warnings[:50]
        return stats


@dataclass
class RoundRun:
    round: Round
    created: bool
    plan: RoundPlan | None = None
    emails_queued: int = 0


def lock_key(org_id: int, month: str) -> int:
    digest = hashlib.sha256(f"coffeerounds:round:{org_id}:{month}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def take_round_lock(session: Session, org: Organization, month: str) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(lock_key(org.id, month))))
    else:
        # SQLite: a write as the first statement takes the database write lock now, so the
        # existence check below sees any round committed by a concurrent run.
        session.execute(
            update(Organization).where(Organization.id == org.id).values(slug=Organization.slug)
        )


def plan_round(
    session: Session,
    org: Organization,
    month: str,
    *,
    seed: int = 0,
    now: datetime | None = None,
    time_limit: float | None = None,
) -> RoundPlan:
    """Everything a round would do, computed without writing anything (the dry run)."""
    now = now or utcnow()
    participants = cohort.active_participants(session, org)
    by_email = {p.email: p for p in participants}
    topics = {t.key: t for t in cohort.active_topics(session, org)}
    result = matching.match_round(
        [cohort.to_person(p) for p in participants],
        history=cohort.history(session, org, before_month=month),
        topics=[cohort.to_topic(t) for t in topics.values()],
        month=month,
        min_size=org.min_group_size,
        max_size=org.max_group_size,
        weights=cohort.weights_for(org),
        time_limit=time_limit,
        random_state=seed,
    )
    window = scheduling_window(org, month, now=now)
    groups = []
    for matched in result.groups:
        members = [by_email[key] for key in matched.members]
        start, everyone = meeting_time(org, [cohort.to_person(p) for p in members], window=window)
        topic = topics.get(matched.topic.key) if matched.topic is not None else None
        groups.append(PlannedGroup(members, matched, topic, start, everyone))
    unplaced = [by_email[key] for key in result.unplaced]
    return RoundPlan(month, seed, groups, unplaced, result, list(result.warnings))


def meeting_url(org: Organization) -> str:
    room = secrets.token_urlsafe(12).replace("-", "x").replace("_", "y")
    return org.meeting_url_template.replace("{room}", room)


def create_round(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    month: str,
    *,
    seed: int = 0,
    send: bool = True,
    now: datetime | None = None,
    time_limit: float | None = None,
) -> RoundRun:
    """Create the round for `month` unless it exists; with `send`, queue every email too."""
    now = now or utcnow()
    take_round_lock(session, org, month)
    existing = session.scalar(
        select(Round).where(Round.organization_id == org.id, Round.month == month)
    )
    if existing is not None:
        return RoundRun(existing, created=False)
    resume_due(session, today=now.date())
    plan = plan_round(session, org, month, seed=seed, now=now, time_limit=time_limit)
    round_ = Round(organization_id=org.id, month=month, status="preview", seed=seed)
    round_.stats = plan.stats()
    session.add(round_)
    session.flush()  # the unique (organization, month) key is checked here
    persist_groups(session, org, round_, plan)
    run = RoundRun(round_, created=True, plan=plan)
    if send:
        run.emails_queued = send_round(session, settings, links, org, round_, now=now)
    return run


def persist_groups(session: Session, org: Organization, round_: Round, plan: RoundPlan) -> None:
    duration = timedelta(minutes=org.meeting_minutes)
    groups = [
        MatchGroup(
            round_id=round_.id,
            number=number,
            topic_id=planned.topic.id if planned.topic is not None else None,
            topic_title=planned.matched.topic.title if planned.matched.topic else "",
            starters=list(planned.matched.starters),
            reason=planned.matched.reason,
            has_common_slot=planned.everyone_available,
            meeting_start=planned.start,
            meeting_end=planned.start + duration,
            meeting_url=meeting_url(org),
            ical_uid=f"{uuid.uuid4()}@coffeerounds",
            ical_sequence=0,
        )
        for number, planned in enumerate(plan.groups, start=1)
    ]
    # One flush for all groups (a multi-row INSERT ... RETURNING), not one round trip each.
    session.add_all(groups)
    session.flush()
    session.add_all(
        Membership(round_id=round_.id, group_id=group.id, participant_id=p.id)
        for group, planned in zip(groups, plan.groups, strict=True)
        for p in planned.members
    )
    session.flush()


def group_views(session: Session, org: Organization, round_: Round) -> list[invites.GroupView]:
    """Every group of a round with its active members, in two queries."""
    groups = list(
        session.scalars(
            select(MatchGroup).where(MatchGroup.round_id == round_.id).order_by(MatchGroup.number)
        )
    )
    rows = session.execute(
        select(Membership, Participant)
        .join(Participant, Participant.id == Membership.participant_id)
        .where(
            Membership.round_id == round_.id,
            Membership.status == "invited",
            # Someone who unsubscribed or deleted their data gets no more round emails and
            # is no longer listed as an attendee when the group's invite changes.
            Participant.status.not_in(("left", "deleted")),
        )
        .options(selectinload(Participant.avoid_entries))
        .order_by(Membership.group_id, Membership.id)
    ).all()
    members: dict[int, list[tuple[Membership, Participant]]] = {}
    for membership, participant in rows:
        members.setdefault(membership.group_id, []).append((membership, participant))
    return [invites.GroupView(org, round_, g, members.get(g.id, [])) for g in groups]


def send_round(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    round_: Round,
    *,
    now: datetime | None = None,
) -> int:
    """Queue every invite and "not matched" email of a round and mark it sent (idempotent)."""
    queued = 0
    descriptions = {t.id: t.description for t in cohort.active_topics(session, org)}
    batch = outbox.EmailBatch(session)
    views = group_views(session, org, round_)
    # Library resources fitting each group's topic: ranked once per topic, not per person.
    resources = invite_picks(session, org, [view.group.topic_id for view in views])
    for view in views:
        extra = {
            "topic_description": descriptions.get(view.group.topic_id or -1, ""),
            "resources": resources.get(view.group.topic_id or -1, []),
        }
        invites.queue_invites(session, settings, links, view, extra=extra, batch=batch)
    queued += batch.flush()
    # Who was in this round's snapshot but not placed: told so, and first in line next
    # month. Computed when the round goes out, so a discarded preview changes nothing.
    placed = select(Membership.participant_id).where(Membership.round_id == round_.id)
    left_out = list(
        session.scalars(
            select(Participant).where(
                Participant.organization_id == org.id,
                Participant.status == "active",
                Participant.undeliverable.is_(False),
                Participant.confirmed_at <= round_.created_at,
                Participant.id.not_in(placed),
            )
        )
    )
    session.execute(update(Participant).where(Participant.id.in_(placed)).values(priority=False))
    n_people = int(round_.stats.get("n_people", 0) or 0)
    reason = NOT_ENOUGH_PEOPLE if n_people < 3 else COULD_NOT_PLACE
    for participant in left_out:
        participant.priority = True
        queued += invites.queue_not_matched(
            session, settings, links, org, round_, participant, reason=reason
        )
    round_.status = "sent"
    round_.approved_at = round_.approved_at or (now or utcnow())
    round_.sent_at = now or utcnow()
    session.flush()
    return queued
