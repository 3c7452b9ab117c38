"""Feedback from the links in round emails: the check-in and the follow-up.

One row per membership and kind; answering again updates it. A group "met" when at least two
of its members said so: one person's word is not enough, and in a pair both must confirm.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, cast, func, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db import utcnow
from service.errors import InvalidInput
from service.models import Feedback, MatchGroup, Membership, Round
from service.text_rules import check_text

MAX_TEXT = 1000
MET_QUORUM = 2
# What can come of a coffee; the order is the order on the form.
OUTCOMES: dict[str, str] = {
    "second_coffee": "We met again, or plan to",
    "question_answered": "Someone answered a question I had",
    "referral": "A referral or an introduction to someone",
    "mentoring": "A mentoring conversation",
    "collaboration": "A collaboration (a project, paper, teaching or QI work)",
    "nothing_yet": "Nothing yet",
}


def _clean_text(value: str, field: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{field} must be text, not {type(value).__name__}")
    text = value.replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"{field} can be at most {MAX_TEXT} characters.",
            fields={field: f"must be at most {MAX_TEXT} characters (you wrote {len(text)})"},
        )
    if (problem := check_text(text, multi_line=True)) is not None:
        raise InvalidInput(f"{field} {problem}.", fields={field: problem})
    return text


def _check_rating(rating: int | None) -> int | None:
    if rating is None:
        return None
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput(
            "The rating must be a whole number from 1 to 5.",
            fields={"rating": "must be from 1 to 5"},
        )
    return rating


def clean_outcomes(outcomes: list[str]) -> list[str]:
    """Known outcome keys, without repeats, in form order; "nothing yet" stands alone."""
    if isinstance(outcomes, str) or not isinstance(outcomes, list | tuple):
        raise TypeError("outcomes must be a list of outcome keys")
    unknown = [o for o in outcomes if o not in OUTCOMES]
    if unknown:
        raise InvalidInput(
            f"Unknown outcome {unknown[0]!r}.",
            fields={"outcomes": f"{unknown[0]!r} is not one of the choices"},
        )
    chosen = [key for key in OUTCOMES if key in outcomes]
    if not chosen:
        raise InvalidInput("Tick at least one box.", fields={"outcomes": "Tick at least one box"})
    if "nothing_yet" in chosen and len(chosen) > 1:
        raise InvalidInput(
            "Tick either 'Nothing yet' or what came of it, not both.",
            fields={"outcomes": "Tick either 'Nothing yet' or what came of it, not both"},
        )
    return chosen


def _upsert(session: Session, membership: Membership, kind: str, **values: Any) -> Feedback:
    """Insert or update in one statement, so two quick submissions cannot collide."""
    now = utcnow()
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(Feedback).values(
        membership_id=membership.id, kind=kind, created_at=now, updated_at=now, **values
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["membership_id", "kind"], set_={**values, "updated_at": now}
    )
    session.execute(stmt)
    feedback = session.scalar(
        select(Feedback)
        .where(Feedback.membership_id == membership.id, Feedback.kind == kind)
        .execution_options(populate_existing=True)
    )
    assert feedback is not None
    return feedback


def record_checkin(
    session: Session,
    membership: Membership,
    *,
    met: bool,
    rating: int | None = None,
    learned: str = "",
) -> Feedback:
    """Store (or replace) this member's check-in: did you meet, 1-5, one thing learned."""
    if not isinstance(met, bool):
        raise TypeError(f"met must be True or False, not {met!r}")
    values = {
        "met": met,
        "rating": _check_rating(rating),
        "learned": _clean_text(learned, "learned"),
    }
    return _upsert(session, membership, "checkin", **values)


def record_followup(
    session: Session, membership: Membership, *, outcomes: list[str], comment: str = ""
) -> Feedback:
    """Store (or replace) what came of the meeting; the comment is kept in `learned`."""
    values = {"outcomes": clean_outcomes(outcomes), "learned": _clean_text(comment, "comment")}
    return _upsert(session, membership, "followup", **values)


def get_feedback(session: Session, membership: Membership, kind: str) -> Feedback | None:
    return session.scalar(
        select(Feedback).where(Feedback.membership_id == membership.id, Feedback.kind == kind)
    )


def _met_votes(session: Session, group_ids: list[int]) -> Counter[int]:
    """Per group: members still in it whose check-in says they met."""
    rows = session.scalars(
        select(Membership.group_id)
        .join(Feedback, Feedback.membership_id == Membership.id)
        .where(
            Membership.group_id.in_(group_ids),
            Membership.status == "invited",
            Feedback.kind == "checkin",
            Feedback.met.is_(True),
        )
    )
    return Counter(rows)


def group_met(session: Session, group: MatchGroup) -> bool:
    """True when at least two members (who did not drop out) said they met."""
    return _met_votes(session, [group.id])[group.id] >= MET_QUORUM


def round_feedback_summary(session: Session, round_: Round) -> dict[str, Any]:
    """Counts for the admin dashboard: response rate, groups that met, ratings, outcomes.

    Counted in SQL, a few rows back whatever the round's size: a round of 10,000 people has as
    many answers. Outcomes are a JSON list of known keys; a quoted-key match counts them on
    SQLite and PostgreSQL alike.
    """
    in_round = (Membership.round_id == round_.id, Membership.status == "invited")
    n_groups = session.scalar(
        select(func.count()).select_from(MatchGroup).where(MatchGroup.round_id == round_.id)
    )
    n_members = int(session.scalar(select(func.count()).select_from(Membership).where(*in_round)))
    checkin, followup = Feedback.kind == "checkin", Feedback.kind == "followup"
    outcomes = cast(Feedback.outcomes, String)

    def count(*conditions: ColumnElement[bool]) -> ColumnElement[int]:
        return func.count(case((and_(*conditions), 1)))

    def reported(key: str) -> ColumnElement[bool]:
        return outcomes.like(f'%"{key}"%')

    columns = {
        "checkins": count(checkin),
        "met_yes": count(checkin, Feedback.met.is_(True)),
        "met_no": count(checkin, Feedback.met.is_(False)),
        "rating_sum": func.coalesce(func.sum(case((checkin, Feedback.rating))), 0),
        **{f"rated_{n}": count(checkin, Feedback.rating == n) for n in range(1, 6)},
        "learned_notes": count(checkin, Feedback.learned != ""),
        "followups": count(followup),
        **{f"reported_{key}": count(followup, reported(key)) for key in OUTCOMES},
        "with_outcome": count(
            followup, or_(*(reported(k) for k in OUTCOMES if k != "nothing_yet"))
        ),
    }
    # Counted per group, then summed: one pass also gives the groups that answered and met.
    per_group = (
        select(*(column.label(name) for name, column in columns.items()))
        .select_from(Membership)
        .join(Feedback, Feedback.membership_id == Membership.id)
        .where(*in_round)
        .group_by(Membership.group_id)
        .subquery()
    )
    row = session.execute(
        select(
            *(func.coalesce(func.sum(per_group.c[name]), 0) for name in columns),
            func.count(case((per_group.c.checkins > 0, 1))),
            func.count(case((per_group.c.met_yes >= MET_QUORUM, 1))),
        )
    ).one()
    checkins, met_yes, met_no, rating_sum, *rest = (int(v) for v in row)
    distribution, (learned_notes, followups), rest = rest[:5], rest[5:7], rest[7:]
    outcome_counts, rest = rest[: len(OUTCOMES)], rest[len(OUTCOMES) :]
    followups_with_outcome, answered_groups, groups_met = rest
    n_ratings = sum(distribution)
    return {
        "groups": n_groups,
        "groups_met": groups_met,
        # Someone answered, but fewer than two confirmed meeting.
        "groups_not_confirmed": answered_groups - groups_met,
        "groups_without_answers": n_groups - answered_groups,
        "members": n_members,
        "checkins": checkins,
        "checkin_rate": round(checkins / n_members, 3) if n_members else 0.0,
        "met_yes": met_yes,
        "met_no": met_no,
        "ratings": n_ratings,
        "rating_average": round(rating_sum / n_ratings, 2) if n_ratings else None,
        "rating_distribution": dict(zip(range(1, 6), distribution, strict=True)),
        "learned_notes": learned_notes,
        "followups": followups,
        "followup_rate": round(followups / n_members, 3) if n_members else 0.0,
        "outcomes": dict(zip(OUTCOMES, outcome_counts, strict=True)),
        # Follow-ups reporting something concrete (anything but "nothing yet").
        "followups_with_outcome": followups_with_outcome,
    }
