"""Quality figures of a stored round, computed from its groups as they stand now.

The matcher reports the same figures when it builds a round, but a wellness lead may move
people by hand afterwards; these are recomputed from the database so the preview and the
past-round pages always describe the groups people actually got.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any, Protocol

from sqlalchemy import Row, select
from sqlalchemy.orm import Session

from service.models import MatchGroup, Membership, Organization, Participant, Round

# The matcher's own definitions (matching.Person.is_senior / is_trainee).
SENIOR_ROLES = frozenset({"attending", "np_pa"})
TRAINEE_ROLES = frozenset({"resident", "fellow", "student"})


class Person(Protocol):
    id: int
    role: str
    department: str
    interests: list[str]


@dataclass(frozen=True)
class MemberRow:
    """A group member as the dashboard shows them: plain columns, no ORM object."""

    membership_id: int
    status: str  # invited, or dropped when they said they can't make it
    id: int
    full_name: str
    email: str
    role: str
    specialty: str
    department: str
    interests: list[str]


# What the pages show of a group; plain rows (attribute access by column name).
GROUP_COLUMNS = (
    MatchGroup.id,
    MatchGroup.number,
    MatchGroup.topic_title,
    MatchGroup.reason,
    MatchGroup.has_common_slot,
    MatchGroup.meeting_start,
    MatchGroup.ical_sequence,
)


@dataclass
class GroupMembers:
    group: Row[Any]
    members: list[MemberRow] = field(default_factory=list)

    @property
    def participants(self) -> list[MemberRow]:
        """The members still in the group."""
        return [m for m in self.members if m.status == "invited"]


def load_groups(session: Session, round_: Round) -> list[GroupMembers]:
    """Every group of a round with its members (those who dropped out too), in two queries.

    Selects columns rather than ORM objects: with 10,000 people, building Participant
    objects (and their avoid lists, which the emails need and these pages do not) costs
    seconds.
    """
    groups = {
        g.id: GroupMembers(g)
        for g in session.execute(
            select(*GROUP_COLUMNS)
            .where(MatchGroup.round_id == round_.id)
            .order_by(MatchGroup.number)
        )
    }
    rows = session.execute(
        select(
            Membership.group_id,
            Membership.id,
            Membership.status,
            Participant.id,
            Participant.full_name,
            Participant.email,
            Participant.role,
            Participant.specialty,
            Participant.department,
            Participant.interests,
        )
        .join(Participant, Participant.id == Membership.participant_id)
        .where(Membership.round_id == round_.id)
        .order_by(Membership.group_id, Membership.id)
    )
    for group_id, *columns in rows:
        if group_id in groups:
            groups[group_id].members.append(MemberRow(*columns))
    return list(groups.values())


def _interest_set(participant: Person) -> frozenset[str]:
    interests = participant.interests or []
    return frozenset(" ".join(i.lower().split()) for i in interests if i.strip())


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """Share of interests two people have in common (0 when neither listed any)."""
    union = a | b
    return len(a & b) / len(union) if union else 0.0


def past_pairs(session: Session, org: Organization, round_: Round) -> dict[tuple[int, int], str]:
    """Pairs of this round's members who were grouped in an earlier round → latest month.

    Two queries (this round's members, every earlier membership), filtered here: an
    IN (subquery) over 10,000 members is slower than reading the rows. Like `cohort.history`,
    only rounds that went out count.
    """
    members_now = set(
        session.scalars(select(Membership.participant_id).where(Membership.round_id == round_.id))
    )
    rows = session.execute(
        select(Membership.group_id, Membership.participant_id, Round.month)
        .join(Round, Round.id == Membership.round_id)
        .where(
            Round.organization_id == org.id,
            Round.month < round_.month,
            Round.status.in_(("approved", "sent")),
        )
    )
    by_group: dict[int, list[int]] = defaultdict(list)
    month_of: dict[int, str] = {}
    for group_id, participant_id, month in rows:
        if participant_id not in members_now:
            continue
        by_group[group_id].append(participant_id)
        month_of[group_id] = month
    pairs: dict[tuple[int, int], str] = {}
    for group_id, ids in by_group.items():
        for a, b in combinations(sorted(ids), 2):
            if pairs.get((a, b), "") < month_of[group_id]:
                pairs[(a, b)] = month_of[group_id]
    return pairs


def _pairs(ids: Iterable[int]) -> list[tuple[int, int]]:
    return list(combinations(sorted(ids), 2))


def group_figures(
    participants: Sequence[Person], past: dict[tuple[int, int], str]
) -> dict[str, Any]:
    """The figures of one group: repeats, departments, mix and shared interests."""
    repeats = [pair for pair in _pairs(p.id for p in participants) if pair in past]
    departments = {p.department.strip().lower() for p in participants if p.department.strip()}
    interests = [_interest_set(p) for p in participants]
    similarities = [jaccard(a, b) for a, b in combinations(interests, 2)]
    return {
        "size": len(participants),
        "repeats": len(repeats),
        "departments": len(departments),
        "has_senior": any(p.role in SENIOR_ROLES for p in participants),
        "has_trainee": any(p.role in TRAINEE_ROLES for p in participants),
        "similarity_sum": sum(similarities),
        "pair_count": len(similarities),
    }


def round_quality(
    session: Session,
    org: Organization,
    round_: Round,
    *,
    groups: Sequence[GroupMembers] | None = None,
) -> dict[str, Any]:
    """Quality figures of a round's groups as stored now.

    Returns a dict with ``n_groups``, ``n_people``, ``group_sizes`` ({size: count}),
    ``repeats`` (pairs grouped together before), ``groups_with_repeats``,
    ``groups_without_common_slot``, ``cross_department_share`` (groups with two or more
    departments), ``senior_trainee_mix_share`` (groups with a senior and a trainee out of
    ``min(groups, seniors, trainees)``; None when no group could be mixed),
    ``mean_shared_interests`` (mean Jaccard similarity of interests over every pair within a
    group) and ``per_group`` ({group id: figures}).
    Pass ``groups`` (from `load_groups`) when the caller has them loaded already.
    """
    views = load_groups(session, round_) if groups is None else groups
    past = past_pairs(session, org, round_)
    per_group: dict[int, dict[str, Any]] = {}
    sizes: dict[int, int] = defaultdict(int)
    seniors = trainees = 0
    for view in views:
        people = view.participants
        if not people:
            continue
        figures = group_figures(people, past)
        figures["has_common_slot"] = view.group.has_common_slot
        per_group[view.group.id] = figures
        sizes[len(people)] += 1
        seniors += sum(p.role in SENIOR_ROLES for p in people)
        trainees += sum(p.role in TRAINEE_ROLES for p in people)
    groups = list(per_group.values())
    n_groups = len(groups)
    can_mix = min(n_groups, seniors, trainees)
    mixed = sum(1 for g in groups if g["has_senior"] and g["has_trainee"])
    pair_count = sum(g["pair_count"] for g in groups)
    return {
        "n_groups": n_groups,
        "n_people": sum(g["size"] for g in groups),
        "group_sizes": dict(sorted(sizes.items())),
        "repeats": sum(g["repeats"] for g in groups),
        "groups_with_repeats": sum(1 for g in groups if g["repeats"]),
        "groups_without_common_slot": sum(1 for g in groups if not g["has_common_slot"]),
        "cross_department_share": (
            sum(1 for g in groups if g["departments"] >= 2) / n_groups if n_groups else 0.0
        ),
        "senior_trainee_mix_share": mixed / can_mix if can_mix else None,
        "mean_shared_interests": (
            sum(g["similarity_sum"] for g in groups) / pair_count if pair_count else 0.0
        ),
        "per_group": per_group,
    }
