"""Batched reads for the Rounds pages: per-round counts, emails and feedback per person.

Outbox rows do not name their round; their idempotency keys do ("invite:<group>:<person>:<seq>",
"reminder:<membership>", "checkin:<membership>", "not_matched:<round>:<person>"). The number
after the first colon (`key_ref`) is indexed with the kind and status
(``ix_outbox_message_key_ref``), so a round's emails are counted from that index alone: a
round's groups (memberships) are almost always one unbroken run of ids, made together, and
then its emails are the index range of those ids. A round whose ids are not one run is joined
row by row instead. A fixed handful of queries per page, whatever the size of the organization.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    case,
    func,
    literal,
    literal_column,
    select,
    union_all,
)
from sqlalchemy.orm import Session

from service.models import Feedback, MatchGroup, Membership, Organization, OutboxMessage, Round
from service.models.outbox import OUTBOX_STATUSES, key_ref
from service.rounds.feedback import MET_QUORUM
from service.rounds.jobs import current_month
from service.rounds.timing import parse_month

GROUP_KINDS = ("invite", "invite_update", "invite_cancel")
# Reminders are keyed like check-ins: one per person and meeting (`invites.followup_key`).
MEMBERSHIP_KINDS = ("reminder", "checkin", "followup")
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


@dataclass(frozen=True)
class IdSpan:
    """The lowest and highest id of a round's groups (or memberships), and how many."""

    low: int
    high: int
    count: int

    @property
    def unbroken(self) -> bool:
        """True when every id from low to high is this round's: a range is then exact."""
        return self.high - self.low + 1 == self.count


def id_spans(
    session: Session, model: type[MatchGroup] | type[Membership], round_ids: list[int]
) -> dict[int, IdSpan]:
    rows = session.execute(
        select(model.round_id, func.min(model.id), func.max(model.id), func.count())
        .where(model.round_id.in_(round_ids))
        .group_by(model.round_id)
    )
    return {round_id: IdSpan(low, high, n) for round_id, low, high, n in rows}


def email_counts(
    session: Session,
    org: Organization,
    round_ids: list[int],
    *,
    group_spans: dict[int, IdSpan] | None = None,
    membership_spans: dict[int, IdSpan] | None = None,
) -> dict[int, Counter]:
    """{round id: Counter(status → emails)} over every email of those rounds, in one query.

    Pass the rounds' `id_spans` when the caller has them already.
    """
    counts: dict[int, Counter] = defaultdict(Counter)
    if not round_ids:
        return counts
    ref = key_ref(OutboxMessage.idempotency_key)
    mine = OutboxMessage.organization_id == org.id
    # A column per status rather than GROUP BY status: grouping would tempt SQLite into the
    # (organization, status) index, which reads every email's row.
    per_status = [func.count(case((OutboxMessage.status == s, 1))) for s in OUTBOX_STATUSES]
    parts: list[Select[Any]] = []
    for kinds, model, spans in (
        (GROUP_KINDS, MatchGroup, group_spans),
        (MEMBERSHIP_KINDS, Membership, membership_spans),
    ):
        if spans is None:
            spans = id_spans(session, model, round_ids)
        scattered = []
        for round_id, span in spans.items():
            if not span.unbroken:
                scattered.append(round_id)
                continue
            parts.append(
                select(literal(round_id, Integer), *per_status).where(
                    mine, OutboxMessage.kind.in_(kinds), ref.between(span.low, span.high)
                )
            )
        if scattered:
            parts.append(
                select(model.round_id, *per_status)
                .join(model, model.id == ref)
                .where(mine, OutboxMessage.kind.in_(kinds), model.round_id.in_(scattered))
                .group_by(model.round_id)
            )
    parts.append(
        select(ref, *per_status)
        .where(mine, OutboxMessage.kind.in_(ROUND_KINDS), ref.in_(round_ids))
        .group_by(literal_column("1"))
    )
    for round_id, *numbers in session.execute(union_all(*parts)):
        for state, n in zip(OUTBOX_STATUSES, numbers, strict=True):
            if n:
                counts[int(round_id)][state] += int(n)
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
    group_spans = id_spans(session, MatchGroup, ids)
    membership_spans, people = {}, {}
    for round_id, low, high, n, invited in session.execute(
        select(
            Membership.round_id,
            func.min(Membership.id),
            func.max(Membership.id),
            func.count(),
            func.count(case((Membership.status == "invited", 1))),
        )
        .where(Membership.round_id.in_(ids))
        .group_by(Membership.round_id)
    ):
        membership_spans[round_id] = IdSpan(low, high, n)
        people[round_id] = invited
    # Groups where at least two members still in them said they met (feedback.group_met),
    # counted per round in SQL.
    met_groups = (
        select(Membership.round_id.label("round_id"))
        .join(Feedback, Feedback.membership_id == Membership.id)
        .where(
            Membership.round_id.in_(ids),
            Membership.status == "invited",
            Feedback.kind == "checkin",
            Feedback.met.is_(True),
        )
        .group_by(Membership.round_id, Membership.group_id)
        .having(func.count() >= MET_QUORUM)
        .subquery()
    )
    met = dict(
        session.execute(
            select(met_groups.c.round_id, func.count()).group_by(met_groups.c.round_id)
        ).all()
    )
    emails = email_counts(
        session, org, ids, group_spans=group_spans, membership_spans=membership_spans
    )
    return [
        RoundRow(
            r,
            group_spans[r.id].count if r.id in group_spans else 0,
            people.get(r.id, 0),
            emails[r.id],
            met.get(r.id, 0),
        )
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
    columns = (
        OutboxMessage.id,
        OutboxMessage.participant_id,
        OutboxMessage.kind,
        OutboxMessage.status,
        OutboxMessage.attempts,
        OutboxMessage.last_error,
        OutboxMessage.to_address,
        OutboxMessage.created_at,
    )
    ref = key_ref(OutboxMessage.idempotency_key)
    mine = (
        OutboxMessage.organization_id == org.id,
        OutboxMessage.participant_id.in_(participant_ids),
    )
    # Looked up by what the keys name (the key_ref index), not by person: a person has a
    # year of emails, the page wants this round's.
    rows = session.execute(
        union_all(
            select(*columns).where(*mine, OutboxMessage.kind.in_(GROUP_KINDS), ref.in_(group_ids)),
            select(*columns).where(
                *mine, OutboxMessage.kind.in_(MEMBERSHIP_KINDS), ref.in_(membership_ids)
            ),
            select(*columns).where(*mine, OutboxMessage.kind.in_(ROUND_KINDS), ref == round_.id),
        ).order_by(literal_column("1"))
    )
    out: dict[int, list[EmailRow]] = defaultdict(list)
    for email_id, participant_id, *rest in rows:
        out[participant_id].append(EmailRow(email_id, *rest))
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
            key_ref(OutboxMessage.idempotency_key) == round_.id,
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
