"""Batched reads for the Rounds pages: per-round counts, emails and feedback per person.

Outbox rows do not name their round; their idempotency keys do ("invite:<group>:<person>:<seq>",
"checkin:<membership>", "not_matched:<round>:<person>"), so the number after the first colon
is joined to the group, membership or round it names — in SQL, a handful of queries per page
whatever the size of the organization.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Integer, case, cast, func, literal_column, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from service.models import Feedback, MatchGroup, Membership, Organization, OutboxMessage, Round
from service.rounds.feedback import MET_QUORUM
from service.rounds.jobs import current_month
from service.rounds.timing import parse_month

GROUP_KINDS = ("invite", "invite_update", "invite_cancel", "reminder")
MEMBERSHIP_KINDS = ("checkin", "followup")
ROUND_KINDS = ("not_matched",)


def next_round_month(session: Session, org: Organization, now: datetime) -> str:
    """This month unless its round has gone out (or was cancelled), otherwise next month.

    A preview of this month that nobody has approved yet is still "the next round".
    """
    month = current_month(org, now)
    status = session.scalar(
        select(Round.status).where(Round.organization_id == org.id, Round.month == month)
    )
    if status in (None, "preview", "approved"):
        return month
    year, mon = parse_month(month)
    return f"{year + mon // 12:04d}-{mon % 12 + 1:02d}"


def following_months(month: str, count: int) -> list[str]:
    year, mon = parse_month(month)
    out = []
    for _ in range(count):
        out.append(f"{year:04d}-{mon:02d}")
        year, mon = (year + 1, 1) if mon == 12 else (year, mon + 1)
    return out


def _key_ref(session: Session) -> ColumnElement[Any]:
    """The number after the first colon of an idempotency key (NULL when there is none)."""
    key = OutboxMessage.idempotency_key
    if session.get_bind().dialect.name == "postgresql":
        part = func.split_part(key, ":", 2)
        return case((part.regexp_match("^[0-9]{1,9}$"), cast(part, Integer)), else_=None)
    # SQLite casts the leading digits of "12:34:0" to 12.
    return cast(func.substr(key, func.instr(key, ":") + 1), Integer)


def email_counts(session: Session, org: Organization, round_ids: list[int]) -> dict[int, Counter]:
    """{round id: Counter(status → emails)} over every email of those rounds."""
    counts: dict[int, Counter] = defaultdict(Counter)
    if not round_ids:
        return counts
    ref = _key_ref(session)
    mine = OutboxMessage.organization_id == org.id
    queries = [
        select(MatchGroup.round_id, OutboxMessage.status, func.count())
        .join(MatchGroup, MatchGroup.id == ref)
        .where(mine, OutboxMessage.kind.in_(GROUP_KINDS), MatchGroup.round_id.in_(round_ids)),
        select(Membership.round_id, OutboxMessage.status, func.count())
        .join(Membership, Membership.id == ref)
        .where(mine, OutboxMessage.kind.in_(MEMBERSHIP_KINDS), Membership.round_id.in_(round_ids)),
        select(ref, OutboxMessage.status, func.count()).where(
            mine, OutboxMessage.kind.in_(ROUND_KINDS), ref.in_(round_ids)
        ),
    ]
    for query in queries:
        # Positional GROUP BY: PostgreSQL would not match the key expression's bound parameters.
        grouped = query.group_by(literal_column("1"), literal_column("2"))
        for round_id, status, n in session.execute(grouped):
            counts[int(round_id)][status] += int(n)
    return counts


@dataclass(frozen=True)
class RoundRow:
    round: Round
    groups: int
    people: int
    emails: Counter
    groups_met: int

    @property
    def met_rate(self) -> float | None:
        return self.groups_met / self.groups if self.groups else None


def round_rows(session: Session, org: Organization, rounds: list[Round]) -> list[RoundRow]:
    """The past-rounds table: a fixed number of grouped queries for any number of rounds."""
    ids = [r.id for r in rounds]
    if not ids:
        return []
    groups = dict(
        session.execute(
            select(MatchGroup.round_id, func.count())
            .where(MatchGroup.round_id.in_(ids))
            .group_by(MatchGroup.round_id)
        ).all()
    )
    people = dict(
        session.execute(
            select(Membership.round_id, func.count())
            .where(Membership.round_id.in_(ids), Membership.status == "invited")
            .group_by(Membership.round_id)
        ).all()
    )
    # Groups where at least two members still in them said they met (feedback.group_met).
    votes = session.execute(
        select(Membership.round_id, Membership.group_id)
        .join(Feedback, Feedback.membership_id == Membership.id)
        .where(
            Membership.round_id.in_(ids),
            Membership.status == "invited",
            Feedback.kind == "checkin",
            Feedback.met.is_(True),
        )
        .group_by(Membership.round_id, Membership.group_id)
        .having(func.count() >= MET_QUORUM)
    ).all()
    met = Counter(round_id for round_id, _ in votes)
    emails = email_counts(session, org, ids)
    return [
        RoundRow(r, groups.get(r.id, 0), people.get(r.id, 0), emails[r.id], met[r.id])
        for r in rounds
    ]


@dataclass(frozen=True)
class EmailRow:
    id: int
    kind: str
    status: str
    attempts: int
    last_error: str
    to_address: str
    created_at: datetime


def emails_by_person(
    session: Session,
    org: Organization,
    round_: Round,
    group_ids: list[int],
    membership_ids: list[int],
    participant_ids: list[int],
) -> dict[int, list[EmailRow]]:
    """{participant id: emails of this round}, for one page of groups (bodies never loaded)."""
    if not participant_ids:
        return {}
    ref = _key_ref(session)
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.participant_id,
            OutboxMessage.kind,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.to_address,
            OutboxMessage.created_at,
            ref.label("ref"),
        )
        .where(
            OutboxMessage.organization_id == org.id,
            OutboxMessage.participant_id.in_(participant_ids),
            OutboxMessage.kind.in_(GROUP_KINDS + MEMBERSHIP_KINDS + ROUND_KINDS),
        )
        .order_by(OutboxMessage.id)
    )
    groups, memberships = set(group_ids), set(membership_ids)
    out: dict[int, list[EmailRow]] = defaultdict(list)
    for row in rows:
        belongs = (
            (row.kind in GROUP_KINDS and row.ref in groups)
            or (row.kind in MEMBERSHIP_KINDS and row.ref in memberships)
            or (row.kind in ROUND_KINDS and row.ref == round_.id)
        )
        if belongs:
            out[row.participant_id].append(
                EmailRow(
                    row.id,
                    row.kind,
                    row.status,
                    row.attempts,
                    row.last_error,
                    row.to_address,
                    row.created_at,
                )
            )
    return out


def not_matched_emails(session: Session, org: Organization, round_: Round) -> list[EmailRow]:
    rows = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.to_address,
            OutboxMessage.created_at,
        )
        .where(
            OutboxMessage.organization_id == org.id,
            OutboxMessage.kind == "not_matched",
            OutboxMessage.idempotency_key.startswith(f"not_matched:{round_.id}:"),
        )
        .order_by(OutboxMessage.id)
        .limit(500)
    )
    return [EmailRow(*row) for row in rows]


def feedback_by_membership(
    session: Session, membership_ids: list[int]
) -> dict[int, dict[str, Feedback]]:
    """{membership id: {kind: feedback}} for one page of groups."""
    out: dict[int, dict[str, Feedback]] = defaultdict(dict)
    if membership_ids:
        for fb in session.scalars(
            select(Feedback).where(Feedback.membership_id.in_(membership_ids))
        ):
            out[fb.membership_id][fb.kind] = fb
    return out
