"""Quality figures of a stored round, computed from its groups as they stand now.

The matcher reports the same figures when it builds a round, but a wellness lead may move
people by hand afterwards; these are recomputed from the database so the preview and the
past-round pages always describe the groups people actually got.

A round of 10,000 people has ~2,500 groups, and each of them a year of earlier groups, so the
figures are computed from plain columns (never ORM objects), earlier pairs with NumPy.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

import numpy as np
from scipy import sparse
from sqlalchemy import Row, String, cast, func, select
from sqlalchemy.orm import Session

from service.impact.pairs import contains
from service.impact.queries import int_rows, raw_rows
from service.models import MatchGroup, Membership, Organization, Participant, Round

# The matcher's own definitions (matching.Person.is_senior / is_trainee).
SENIOR_ROLES = frozenset({"attending", "np_pa"})
TRAINEE_ROLES = frozenset({"resident", "fellow", "student"})


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


def count_groups(session: Session, round_: Round) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(MatchGroup).where(MatchGroup.round_id == round_.id)
        )
        or 0
    )


def load_groups(
    session: Session, round_: Round, *, offset: int = 0, limit: int | None = None
) -> list[GroupMembers]:
    """A round's groups by number (all of them, or `limit` from `offset`: one page) with
    their members, those who dropped out too, in two queries.

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
            .offset(offset)
            .limit(limit)
        )
    }
    if not groups:
        return []
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
        .where(
            Membership.round_id == round_.id,
            *([] if limit is None else [Membership.group_id.in_(list(groups))]),
        )
        .order_by(Membership.group_id, Membership.id)
    )
    for group_id, *columns in rows:
        if group_id in groups:
            groups[group_id].members.append(MemberRow(*columns))
    return list(groups.values())


@dataclass(frozen=True)
class RoundMembers:
    """The remaining members of a round's groups, one entry per person, grouped by group
    (in group number order) and in membership order within a group."""

    group_ids: list[int]  # the groups with anyone left, in number order
    starts: np.ndarray  # where each of those groups begins
    sizes: np.ndarray
    person: np.ndarray
    senior: np.ndarray
    trainee: np.ndarray
    department: np.ndarray  # code of the cleaned department; 0 = none given
    interests: sparse.csr_matrix  # person x interest, 1 = listed (cleaned, no repeats)


def _clean(text: str) -> str:
    """An interest as compared: without case or extra spaces."""
    return " ".join(text.lower().split())


def round_members(session: Session, round_: Round) -> RoundMembers:
    """What the figures need of a round's remaining members, from plain columns."""
    position = {
        group_id: i
        for i, group_id in enumerate(
            session.scalars(
                select(MatchGroup.id)
                .where(MatchGroup.round_id == round_.id)
                .order_by(MatchGroup.number)
            )
        )
    }
    rows = raw_rows(
        session,
        select(
            Membership.group_id,
            Participant.id,
            Participant.role,
            Participant.department,
            cast(Participant.interests, String),
        )
        .join(Participant, Participant.id == Membership.participant_id)
        .where(Membership.round_id == round_.id, Membership.status == "invited")
        .order_by(Membership.id),
    )
    rows.sort(key=lambda row: position[row[0]])  # stable: membership order within a group
    # One JSON document for every list: a json.loads per person costs more than the query.
    lists = json.loads("[" + ",".join(row[4] or "[]" for row in rows) + "]")
    departments: dict[str, int] = {"": 0}
    vocabulary: dict[str, int] = {}
    cleaned: dict[str, str] = {}  # people share interests: each distinct text cleaned once
    indptr, indices = [0], []
    for interests in lists:
        wanted = set()
        for text in interests:
            if text not in cleaned:
                cleaned[text] = _clean(text)
            if cleaned[text]:
                wanted.add(vocabulary.setdefault(cleaned[text], len(vocabulary)))
        indices.extend(sorted(wanted))
        indptr.append(len(indices))
    group = np.fromiter((position[row[0]] for row in rows), dtype=np.int64, count=len(rows))
    first = np.flatnonzero(np.r_[True, group[1:] != group[:-1]]) if len(rows) else group
    order = sorted(position, key=position.__getitem__)
    return RoundMembers(
        group_ids=[order[g] for g in group[first].tolist()],
        starts=first,
        sizes=np.diff(np.r_[first, len(rows)]),
        person=np.fromiter((row[1] for row in rows), dtype=np.int64, count=len(rows)),
        senior=np.array([row[2] in SENIOR_ROLES for row in rows], dtype=bool),
        trainee=np.array([row[2] in TRAINEE_ROLES for row in rows], dtype=bool),
        department=np.fromiter(
            (departments.setdefault(row[3].strip().lower(), len(departments)) for row in rows),
            dtype=np.int64,
            count=len(rows),
        ),
        interests=sparse.csr_matrix(
            (np.ones(len(indices)), indices, indptr), shape=(len(rows), len(vocabulary))
        ),
    )


def past_pair_keys(session: Session, org: Organization, round_: Round) -> tuple[np.ndarray, int]:
    """Pairs of this round's people who were grouped in an earlier round, as sorted
    ``smaller id * span + larger id``, and the span. Like `cohort.history`, only rounds that
    went out count.
    """
    now = int_rows(
        session, select(Membership.participant_id).where(Membership.round_id == round_.id), 1
    )[:, 0]
    earlier = int_rows(
        session,
        select(Membership.group_id, Membership.participant_id)
        .join(Round, Round.id == Membership.round_id)
        .where(
            Round.organization_id == org.id,
            Round.month < round_.month,
            Round.status.in_(("approved", "sent")),
        ),
        2,
    )
    span = 1 + int(now.max(initial=0))
    in_round = np.zeros(span, dtype=bool)
    in_round[now] = True
    earlier = earlier[earlier[:, 1] < span]
    earlier = earlier[in_round[earlier[:, 1]]]
    order = np.lexsort((earlier[:, 1], earlier[:, 0]))
    group, person = earlier[order, 0], earlier[order, 1]
    keys = [np.zeros(0, dtype=np.int64)]
    # Sorted by group then person: members k places apart in the same group form a pair.
    for k in range(1, len(group)):
        same = group[:-k] == group[k:]
        if not same.any():
            break
        keys.append(person[:-k][same] * span + person[k:][same])
    return np.sort(np.concatenate(keys)), span


def group_figures(members: RoundMembers, past: np.ndarray, span: int) -> dict[int, dict[str, Any]]:
    """{group id: figures} — size, repeats, departments, mix and shared interests — for every
    group with anyone left, in group number order.

    Groups of the same size are done together as (groups x members) and (groups x pairs)
    arrays, pairs in `itertools.combinations` order, so every number is the one a loop over
    each group's pairs would give (sums too: added pair by pair, left to right).
    """
    per_group: dict[int, dict[str, Any]] = {}
    counts = np.asarray(members.interests.sum(axis=1)).ravel()
    for size in sorted(set(members.sizes.tolist())):
        chosen = np.flatnonzero(members.sizes == size)
        seats = members.starts[chosen][:, None] + np.arange(size)  # groups x members
        pairs = np.array(list(combinations(range(size), 2)), dtype=np.int64).reshape(-1, 2)
        a, b = seats[:, pairs[:, 0]], seats[:, pairs[:, 1]]  # groups x pairs
        low = np.minimum(members.person[a], members.person[b])
        high = np.maximum(members.person[a], members.person[b])
        repeats = contains(past, low * span + high).sum(axis=1)
        shared = np.asarray(
            members.interests[a.ravel()].multiply(members.interests[b.ravel()]).sum(axis=1)
        ).reshape(a.shape)
        union = counts[a] + counts[b] - shared
        similarity = np.divide(shared, union, out=np.zeros(a.shape), where=union > 0)
        similarity_sum = np.zeros(len(chosen))
        for column in range(len(pairs)):
            similarity_sum = similarity_sum + similarity[:, column]
        codes = np.sort(members.department[seats], axis=1)
        new = np.ones(codes.shape, dtype=bool)
        new[:, 1:] = codes[:, 1:] != codes[:, :-1]
        departments = (new & (codes != 0)).sum(axis=1)
        has_senior = members.senior[seats].any(axis=1)
        has_trainee = members.trainee[seats].any(axis=1)
        for i, index in enumerate(chosen.tolist()):
            per_group[index] = {
                "size": size,
                "repeats": int(repeats[i]),
                "departments": int(departments[i]),
                "has_senior": bool(has_senior[i]),
                "has_trainee": bool(has_trainee[i]),
                # A lone member has no pairs: 0, as sum() of nothing gives.
                "similarity_sum": float(similarity_sum[i]) if len(pairs) else 0,
                "pair_count": len(pairs),
            }
    return {members.group_ids[i]: per_group[i] for i in range(len(members.group_ids))}


def round_quality(session: Session, org: Organization, round_: Round) -> dict[str, Any]:
    """Quality figures of a round's groups as stored now.

    Returns a dict with ``n_groups``, ``n_people``, ``group_sizes`` ({size: count}),
    ``repeats`` (pairs grouped together before), ``groups_with_repeats``,
    ``groups_without_common_slot``, ``cross_department_share`` (groups with two or more
    departments), ``senior_trainee_mix_share`` (groups with a senior and a trainee out of
    ``min(groups, seniors, trainees)``; None when no group could be mixed),
    ``mean_shared_interests`` (mean Jaccard similarity of interests over every pair within a
    group) and ``per_group`` ({group id: figures}).
    """
    members = round_members(session, round_)
    per_group = group_figures(members, *past_pair_keys(session, org, round_))
    common_slot = dict(
        session.execute(
            select(MatchGroup.id, MatchGroup.has_common_slot).where(
                MatchGroup.round_id == round_.id
            )
        ).all()
    )
    sizes: dict[int, int] = defaultdict(int)
    for group_id, figures in per_group.items():
        figures["has_common_slot"] = common_slot[group_id]
        sizes[figures["size"]] += 1
    seniors, trainees = int(members.senior.sum()), int(members.trainee.sum())
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
