"""Round quality figures: computed a whole round at a time, they must equal the definitions
applied group by group (repeats, departments, mix, shared interests)."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import combinations

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.links import LinkSigner
from service.models import MatchGroup, Membership, Participant, Round
from service.rounds.create import create_round
from service.rounds.quality import SENIOR_ROLES, TRAINEE_ROLES, round_quality
from tests.service.round_fixtures import make_org

# Spelling variants that must count as the same interest or department, and empty ones.
INTERESTS = (
    ["Running ", "quality  improvement"],
    ["running", "QUALITY IMPROVEMENT", "teaching"],
    ["teaching", " ", ""],
    [],
    ["Wound care", "wound care", "running"],
)
DEPARTMENTS = ("Dept 1", " dept 1 ", "DEPT 2", "", "Dept  1")


def _by_definition(db: Session, round_: Round) -> dict[int, dict[str, object]]:
    """The figures of each group, one group at a time, straight from the definitions."""
    earlier: dict[int, set[int]] = {}
    for group_id, person in db.execute(
        select(Membership.group_id, Membership.participant_id)
        .join(Round, Round.id == Membership.round_id)
        .where(Round.month < round_.month, Round.status.in_(("approved", "sent")))
    ):
        earlier.setdefault(group_id, set()).add(person)
    met_before = {pair for group in earlier.values() for pair in combinations(sorted(group), 2)}
    figures = {}
    for group in db.scalars(
        select(MatchGroup).where(MatchGroup.round_id == round_.id).order_by(MatchGroup.number)
    ):
        people = db.scalars(
            select(Participant)
            .join(Membership, Membership.participant_id == Participant.id)
            .where(Membership.group_id == group.id, Membership.status == "invited")
            .order_by(Membership.id)
        ).all()
        if not people:
            continue
        interests = [
            {" ".join(i.lower().split()) for i in p.interests if i.strip()} for p in people
        ]
        similarities = [
            len(a & b) / len(a | b) if a | b else 0.0 for a, b in combinations(interests, 2)
        ]
        pairs = combinations(sorted(p.id for p in people), 2)
        figures[group.id] = {
            "size": len(people),
            "repeats": sum(pair in met_before for pair in pairs),
            "departments": len({p.department.strip().lower() for p in people} - {""}),
            "has_senior": any(p.role in SENIOR_ROLES for p in people),
            "has_trainee": any(p.role in TRAINEE_ROLES for p in people),
            "similarity_sum": sum(similarities),
            "pair_count": len(similarities),
            "has_common_slot": group.has_common_slot,
        }
    return figures


def test_round_figures_equal_the_definitions_group_by_group(
    db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = make_org(db, people=17)
    for i, person in enumerate(db.scalars(select(Participant).order_by(Participant.id))):
        person.interests = INTERESTS[i % len(INTERESTS)]
        person.department = DEPARTMENTS[i % len(DEPARTMENTS)]
    november = create_round(
        db, settings, links, org, "2026-11", now=datetime(2026, 11, 2, 14, tzinfo=UTC)
    ).round
    december = create_round(
        db, settings, links, org, "2026-12", now=datetime(2026, 12, 7, 14, tzinfo=UTC)
    ).round
    # Someone who dropped out of a group is not counted in it.
    leaving = db.scalars(select(Membership).where(Membership.round_id == december.id)).first()
    assert leaving is not None
    leaving.status = "dropped"
    # Put every November group back together in December: repeats to find.
    number = dict(db.execute(select(MatchGroup.id, MatchGroup.number)).all())
    december_group = {
        g.number: g.id
        for g in db.scalars(select(MatchGroup).where(MatchGroup.round_id == december.id))
    }
    november_group = {
        m.participant_id: m.group_id
        for m in db.scalars(select(Membership).where(Membership.round_id == november.id))
    }
    for m in db.scalars(select(Membership).where(Membership.round_id == december.id)):
        m.group_id = december_group[number[november_group[m.participant_id]]]
    db.flush()

    for round_ in (november, december):
        expected = _by_definition(db, round_)
        quality = round_quality(db, org, round_)
        assert quality["per_group"] == expected
        groups = list(expected.values())
        assert quality["n_people"] == sum(g["size"] for g in groups)  # type: ignore[misc]
        assert quality["repeats"] == sum(g["repeats"] for g in groups)  # type: ignore[misc]
        pair_count = sum(g["pair_count"] for g in groups)  # type: ignore[misc]
        assert quality["mean_shared_interests"] == (
            sum(g["similarity_sum"] for g in groups) / pair_count  # type: ignore[misc]
        )
    december_figures = round_quality(db, org, december)
    assert december_figures["repeats"] > 0 and december_figures["n_people"] == 16
    assert 0 < december_figures["mean_shared_interests"] < 1
