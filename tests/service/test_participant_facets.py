"""participant_facet: the triggers keep people per department and site exact for any writer."""

from __future__ import annotations

import random

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from service.models import Organization, Participant, ParticipantFacet
from tests.service.test_admin_participants import add_person

DEPARTMENTS = ["", "ICU", "Cardiology", "Surgery", "Émergence"]
SITES = ["", "North", "South"]
STATUSES = ["pending", "active", "paused", "left", "deleted"]


def _counted(db: Session) -> dict[tuple[int, str, str], int]:
    rows = db.execute(
        select(Participant.organization_id, Participant.department, Participant.site, func.count())
        .where(Participant.status != "deleted")
        .group_by(Participant.organization_id, Participant.department, Participant.site)
    ).all()
    return {(org_id, department, site): count for org_id, department, site, count in rows}


def _facets(db: Session) -> dict[tuple[int, str, str], int]:
    totals: dict[tuple[int, str, str], int] = {}
    for f in db.execute(select(ParticipantFacet)).scalars():
        key = (f.organization_id, f.department, f.site)
        totals[key] = totals.get(key, 0) + f.people
    return {key: people for key, people in totals.items() if people}


def _second_org(db: Session) -> Organization:
    other = Organization(
        slug="northside", name="Northside", timezone="Europe/London", allowed_email_domains=[]
    )
    db.add(other)
    db.commit()
    return other


def test_counts_follow_every_kind_of_write(db: Session, org: Organization) -> None:
    other = _second_org(db)
    rng = random.Random(7)
    people = [
        add_person(db, org, f"p{k}@stmarys.example", f"P {k}", department="ICU", site="North")
        for k in range(6)
    ]
    db.commit()
    assert _facets(db) == _counted(db) == {(org.id, "ICU", "North"): 6}
    for step in range(60):
        kind = rng.choice(["orm edit", "bulk update", "insert", "delete", "status"])
        if kind == "orm edit" and people:
            person = rng.choice(people)
            person.department = rng.choice(DEPARTMENTS)
            person.site = rng.choice(SITES)
        elif kind == "status" and people:
            rng.choice(people).status = rng.choice(STATUSES)
        elif kind == "bulk update":
            db.execute(
                update(Participant)
                .where(Participant.department == rng.choice(DEPARTMENTS))
                .values(site=rng.choice(SITES), organization_id=rng.choice([org.id, other.id]))
            )
        elif kind == "insert":
            rows = [
                {
                    "organization_id": rng.choice([org.id, other.id]),
                    "email": f"bulk{step}-{k}@stmarys.example",
                    "full_name": "Bulk",
                    "role": "nurse",
                    "department": rng.choice(DEPARTMENTS),
                    "site": rng.choice(SITES),
                    "timezone": "UTC",
                    "status": rng.choice(STATUSES),
                }
                for k in range(rng.randint(1, 4))
            ]
            db.execute(insert(Participant), rows)
        elif kind == "delete":
            db.execute(delete(Participant).where(Participant.email.like(f"bulk{step - 1}-%")))
        db.commit()
        db.expire_all()
        assert _facets(db) == _counted(db), f"after step {step} ({kind})"


def test_a_rolled_back_change_leaves_the_counts_alone(db: Session, org: Organization) -> None:
    add_person(db, org, "a@stmarys.example", "A", department="ICU", site="North")
    db.commit()
    person = db.scalars(select(Participant)).one()
    person.department = "Surgery"
    add_person(db, org, "b@stmarys.example", "B", department="ER", site="South")
    db.flush()
    db.rollback()
    assert _facets(db) == {(org.id, "ICU", "North"): 1}


def test_deleting_an_organization_removes_its_counts(db: Session, org: Organization) -> None:
    other = _second_org(db)
    add_person(db, org, "a@stmarys.example", "A", department="ICU", site="North")
    add_person(db, other, "b@northside.example", "B", department="ER", site="South")
    db.commit()
    db.delete(other)
    db.commit()
    assert _facets(db) == _counted(db) == {(org.id, "ICU", "North"): 1}
    left = db.scalars(select(ParticipantFacet.organization_id).distinct()).all()
    assert left == [org.id]
