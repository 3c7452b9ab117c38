"""The SQL behind the Impact page: a handful of aggregate queries, scoped to one organization.

Each function returns small results (one row per round, or one row), except `met_members`,
which returns compact NumPy arrays for the pair computations in `pairs.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Select, String, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session, aliased

from service.models import Feedback, MatchGroup, Membership, Organization, Participant, Round
from service.rounds.feedback import MET_QUORUM, OUTCOMES

TRAINEE_ROLES = ("resident", "student")
SENIOR_ROLES = ("attending", "fellow")
STAYING_STATUSES = ("active", "paused")


@dataclass(frozen=True)
class RoundRow:
    id: int
    month: str


def sent_rounds(session: Session, org: Organization, up_to_month: str) -> list[RoundRow]:
    """Every sent round up to a month, oldest first (the history new connections need)."""
    rows = session.execute(
        select(Round.id, Round.month)
        .where(Round.organization_id == org.id, Round.status == "sent", Round.month <= up_to_month)
        .order_by(Round.month)
    ).all()
    return [RoundRow(r.id, r.month) for r in rows]


def _met_votes(round_ids: list[int]) -> Any:
    """Groups of these rounds that met: at least MET_QUORUM remaining members said so."""
    return (
        select(Membership.group_id.label("group_id"))
        .join(Feedback, Feedback.membership_id == Membership.id)
        .where(
            Membership.round_id.in_(round_ids),
            Membership.status == "invited",
            Feedback.kind == "checkin",
            Feedback.met.is_(True),
        )
        .group_by(Membership.group_id)
        .having(func.count() >= MET_QUORUM)
        .subquery()
    )


def raw_rows(session: Session, stmt: Select[*tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Run a SELECT and return plain tuples from the DB-API cursor of the session's own
    connection (same transaction): for tens of thousands of rows, building SQLAlchemy Row
    objects would cost more than the query itself. Only for columns needing no conversion."""
    connection = session.connection()
    compiled = stmt.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        if compiled.positiontup is not None:
            cursor.execute(str(compiled), [params[name] for name in compiled.positiontup])
        else:
            cursor.execute(str(compiled), params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def int_rows(session: Session, stmt: Select[*tuple[Any, ...]], width: int) -> np.ndarray:
    """Run a SELECT of integer columns and return an (n, width) int64 array."""
    rows = raw_rows(session, stmt)
    if not rows:
        return np.zeros((0, width), dtype=np.int64)
    return np.array(rows, dtype=np.int64).reshape(-1, width)


def met_members(session: Session, round_ids: list[int]) -> np.ndarray:
    """(round id, group id, person id) rows: every remaining member of every group that met."""
    if not round_ids:
        return np.zeros((0, 3), dtype=np.int64)
    met = _met_votes(round_ids)
    stmt = (
        select(Membership.round_id, Membership.group_id, Membership.participant_id)
        .join(met, met.c.group_id == Membership.group_id)
        .where(Membership.status == "invited")
    )
    return int_rows(session, stmt, 3)


def window_members(session: Session, round_ids: list[int]) -> np.ndarray:
    """One row per person placed in a round (and not dropped or removed): round id, group id,
    person id, their check-in's answer to "did you meet" (1 yes, 0 no, -1 no check-in), its
    rating (0 when none), and their follow-up's outcomes as bits in `OUTCOMES` order (-1 when
    no follow-up)."""
    if not round_ids:
        return np.zeros((0, 6), dtype=np.int64)
    checkin = aliased(Feedback)
    followup = aliased(Feedback)
    said = case((checkin.met.is_(True), 1), (checkin.met.is_(False), 0), else_=-1)
    # Outcomes are a JSON list of known keys; a quoted-key match works on SQLite and PostgreSQL.
    text = cast(followup.outcomes, String)
    bits = sum(
        (case((text.like(f'%"{key}"%'), 1 << bit), else_=0) for bit, key in enumerate(OUTCOMES)),
        start=literal(0),
    )
    stmt = (
        select(
            Membership.round_id,
            Membership.group_id,
            Membership.participant_id,
            said,
            func.coalesce(checkin.rating, 0),
            case((followup.id.is_(None), -1), else_=bits),
        )
        .outerjoin(checkin, and_(checkin.membership_id == Membership.id, checkin.kind == "checkin"))
        .outerjoin(
            followup, and_(followup.membership_id == Membership.id, followup.kind == "followup")
        )
        .where(Membership.round_id.in_(round_ids), Membership.status == "invited")
    )
    return int_rows(session, stmt, 6)


def groups_per_round(
    session: Session, round_ids: list[int], *, checked_in_by: datetime
) -> dict[int, int]:
    """Groups whose check-in has gone out: a meeting still ahead is neither met nor missed."""
    rows = session.execute(
        select(MatchGroup.round_id, func.count())
        .where(
            MatchGroup.round_id.in_(round_ids),
            MatchGroup.meeting_end <= checked_in_by,
        )
        .group_by(MatchGroup.round_id)
    ).all()
    return {r[0]: r[1] for r in rows}


def people(
    session: Session, org: Organization
) -> tuple[np.ndarray, list[str], list[str], list[str]]:
    """Every participant's id (ascending), department, site and role."""
    rows = raw_rows(
        session,
        select(Participant.id, Participant.department, Participant.site, Participant.role)
        .where(Participant.organization_id == org.id)
        .order_by(Participant.id),
    )
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    return ids, [r[1] or "" for r in rows], [r[2] or "" for r in rows], [r[3] for r in rows]


def enrolment(
    session: Session, org: Organization, month_ends: list[datetime], joined_before: list[datetime]
) -> tuple[list[int], list[tuple[int, int]]]:
    """People signed up (confirmed, not left) at each month end; and, per cut-off date, people
    who confirmed before it and how many of them are still active or paused."""
    enrolled = [
        func.sum(
            case(
                (
                    and_(
                        Participant.confirmed_at < end,
                        (Participant.left_at.is_(None)) | (Participant.left_at >= end),
                    ),
                    1,
                ),
                else_=0,
            )
        )
        for end in month_ends
    ]
    retained = []
    for cutoff in joined_before:
        joined = Participant.confirmed_at <= cutoff
        retained.append(func.sum(case((joined, 1), else_=0)))
        staying = and_(joined, Participant.status.in_(STAYING_STATUSES))
        retained.append(func.sum(case((staying, 1), else_=0)))
    row = session.execute(
        select(*enrolled, *retained).where(Participant.organization_id == org.id)
    ).one()
    values = [int(v or 0) for v in row]
    n = len(month_ends)
    pairs = [(values[n + 2 * i], values[n + 2 * i + 1]) for i in range(len(joined_before))]
    return values[:n], pairs


def learned_quotes(session: Session, round_ids: list[int], limit: int = 6) -> list[str]:
    """The latest "one thing I learned" answers (by when first given), text only: never who
    wrote them."""
    return list(
        session.scalars(
            select(Feedback.learned)
            .join(Membership, Membership.id == Feedback.membership_id)
            .where(
                # "+ 0" keeps SQLite from starting at the round index and sorting every
                # check-in of the window: walking feedback by id from the newest is instant.
                (Membership.round_id + 0).in_(round_ids),
                Feedback.kind == "checkin",
                Feedback.learned != "",
            )
            # Newest answers first; the primary key avoids sorting every check-in.
            .order_by(Feedback.id.desc())
            .limit(limit)
        )
    )
