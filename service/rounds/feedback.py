"""Feedback from the links in round emails: the check-in and the follow-up.

One row per membership and kind; answering again updates it. A group "met" when at least two
of its members said so: one person's word is not enough, and in a pair both must confirm.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db import utcnow
from service.errors import InvalidInput
from service.models import Feedback, MatchGroup, Membership, Round

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
    text = value.strip()
    if len(text) > MAX_TEXT:
        raise InvalidInput(
            f"{field} can be at most {MAX_TEXT} characters.",
            fields={field: f"must be at most {MAX_TEXT} characters (you wrote {len(text)})"},
        )
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
    """Counts for the admin dashboard: response rate, groups that met, ratings, outcomes."""
    group_ids = list(session.scalars(select(MatchGroup.id).where(MatchGroup.round_id == round_.id)))
    members = session.execute(
        select(Membership.id, Membership.group_id).where(
            Membership.round_id == round_.id, Membership.status == "invited"
        )
    ).all()
    answers = session.execute(
        select(
            Membership.group_id,
            Feedback.kind,
            Feedback.met,
            Feedback.rating,
            Feedback.learned,
            Feedback.outcomes,
        )
        .join(Feedback, Feedback.membership_id == Membership.id)
        .where(Membership.round_id == round_.id, Membership.status == "invited")
    ).all()
    checkins = [a for a in answers if a.kind == "checkin"]
    followups = [a for a in answers if a.kind == "followup"]
    yes_votes = Counter(a.group_id for a in checkins if a.met)
    answered_groups = {a.group_id for a in checkins}
    ratings = [a.rating for a in checkins if a.rating is not None]
    outcome_counts = Counter(o for a in followups for o in (a.outcomes or []))
    n_members = len(members)
    groups_met = sum(1 for g in group_ids if yes_votes[g] >= MET_QUORUM)
    return {
        "groups": len(group_ids),
        "groups_met": groups_met,
        # Someone answered, but fewer than two confirmed meeting.
        "groups_not_confirmed": len(answered_groups) - groups_met,
        "groups_without_answers": len(set(group_ids) - answered_groups),
        "members": n_members,
        "checkins": len(checkins),
        "checkin_rate": round(len(checkins) / n_members, 3) if n_members else 0.0,
        "met_yes": sum(1 for a in checkins if a.met is True),
        "met_no": sum(1 for a in checkins if a.met is False),
        "ratings": len(ratings),
        "rating_average": round(sum(ratings) / len(ratings), 2) if ratings else None,
        "rating_distribution": {n: ratings.count(n) for n in range(1, 6)},
        "learned_notes": sum(1 for a in checkins if a.learned),
        "followups": len(followups),
        "followup_rate": round(len(followups) / n_members, 3) if n_members else 0.0,
        "outcomes": {key: outcome_counts[key] for key in OUTCOMES},
        # Follow-ups reporting something concrete (anything but "nothing yet").
        "followups_with_outcome": sum(
            1 for a in followups if any(o != "nothing_yet" for o in (a.outcomes or []))
        ),
    }
