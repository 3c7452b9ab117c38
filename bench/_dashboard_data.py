"""Building the benchmark organization for bench/dashboard.py: a fresh database, 10,000
participants and 12 sent rounds with feedback, inserted in bulk."""

from __future__ import annotations

import contextlib
import datetime as dt
import random
import tempfile
import uuid
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

import matching
from service import accounts, migrations
from service.config import Settings
from service.models import (
    Feedback,
    MatchGroup,
    Membership,
    Organization,
    Participant,
    Round,
    Topic,
)
from service.participants.schemas import ParticipantIn
from service.participants.service import apply_profile
from service.rounds.feedback import OUTCOMES

ADMIN_EMAIL = "lead@bench.example"
ADMIN_PASSWORD = "correct horse battery staple"
LEARNED = (
    "The ICU pharmacist takes questions by pager before 10am.",
    "Radiology reads portable films faster if the question is in the order.",
    "There is a quiet room on 5 West for breaks.",
    "Palliative care will join a family meeting at short notice.",
    "The sim lab lends equipment for teaching sessions.",
)


@contextlib.contextmanager
def fresh_database(postgres: str | None) -> Iterator[str]:
    if not postgres:
        with tempfile.TemporaryDirectory() as directory:
            url = f"sqlite:///{directory}/dashboard.db"
            migrations.upgrade(url)
            yield url
        return
    base = make_url(Settings(_env_file=None, database_url=postgres).database_url)  # type: ignore[call-arg]
    name = f"cr_bench_dash_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = base.set(database=name).render_as_string(hide_password=False)
        migrations.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def month_label(today: dt.date, back: int) -> str:
    index = today.year * 12 + today.month - 1 - back
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def month_start(label: str) -> dt.datetime:
    return dt.datetime(int(label[:4]), int(label[5:]), 1, tzinfo=dt.UTC)


def add_people(session: Session, org: Organization, people: int, rng: random.Random) -> None:
    now = dt.datetime.now(dt.UTC)
    participants = []
    for row in matching.make_hospital_cohort(people, random_state=rng.randrange(2**31)):
        data = ParticipantIn(**row)  # the same validation as the CSV import
        joined = now - dt.timedelta(days=rng.uniform(30, 600))
        status = rng.choices(["active", "paused", "left", "pending"], [85, 6, 7, 2])[0]
        participant = Participant(
            organization_id=org.id,
            email=data.email,
            status=status,
            confirmed_at=None if status == "pending" else joined,
            left_at=joined + (now - joined) * rng.random() if status == "left" else None,
            source="import",
            avoid_entries=[],
        )
        apply_profile(participant, data)
        participants.append(participant)
    session.add_all(participants)
    session.flush()


def add_rounds(session: Session, org: Organization, rounds: int, rng: random.Random) -> None:
    """Past rounds with explicit ids, inserted in bulk (the matcher is not what we measure)."""
    people = session.execute(
        select(Participant.id, Participant.confirmed_at, Participant.left_at).where(
            Participant.organization_id == org.id, Participant.confirmed_at.is_not(None)
        )
    ).all()
    today = dt.datetime.now(dt.UTC).date()
    group_id = membership_id = 0
    for back in range(rounds, 0, -1):
        label = month_label(today, back)
        start = month_start(label) + dt.timedelta(days=7)
        round_ = Round(
            organization_id=org.id, month=label, status="sent", seed=0, stats={}, sent_at=start
        )
        session.add(round_)
        session.flush()
        eligible = [
            p.id
            for p in people
            if p.confirmed_at < start and (p.left_at is None or p.left_at > start)
        ]
        rng.shuffle(eligible)
        n_groups = -(-len(eligible) // 4)
        fours = len(eligible) - 3 * n_groups
        groups, members, feedback = [], [], []
        position = 0
        for number in range(1, n_groups + 1):
            size = 4 if number <= fours else 3
            group_members = eligible[position : position + size]
            position += size
            group_id += 1
            groups.append(
                {
                    "id": group_id,
                    "round_id": round_.id,
                    "number": number,
                    "ical_uid": f"{uuid.uuid4()}@bench",
                    "meeting_start": start,
                    "meeting_end": start + dt.timedelta(minutes=30),
                }
            )
            met = rng.random() < 0.8
            yes = rng.randint(2, size) if met else rng.randint(0, 1)
            for index, person in enumerate(group_members):
                membership_id += 1
                dropped = rng.random() < 0.02
                members.append(
                    {
                        "id": membership_id,
                        "round_id": round_.id,
                        "group_id": group_id,
                        "participant_id": person,
                        "status": "dropped" if dropped else "invited",
                    }
                )
                if dropped:
                    continue
                said_yes = index < yes
                if said_yes or rng.random() < 0.45:
                    feedback.append(
                        {
                            "membership_id": membership_id,
                            "kind": "checkin",
                            "met": said_yes,
                            "rating": rng.choices([3, 4, 5], [20, 45, 35])[0] if said_yes else None,
                            "learned": rng.choice(LEARNED)
                            if said_yes and rng.random() < 0.25
                            else "",
                            "outcomes": [],
                        }
                    )
                if said_yes and rng.random() < 0.35:
                    if rng.random() < 0.2:
                        outcomes = ["nothing_yet"]
                    else:
                        keys = [k for k in OUTCOMES if k != "nothing_yet"]
                        outcomes = rng.sample(keys, rng.randint(1, 3))
                    feedback.append(
                        {
                            "membership_id": membership_id,
                            "kind": "followup",
                            "met": None,
                            "rating": None,
                            "learned": "",
                            "outcomes": [k for k in OUTCOMES if k in outcomes],
                        }
                    )
        session.execute(insert(MatchGroup), groups)
        session.execute(insert(Membership), members)
        session.execute(insert(Feedback), feedback)
    if session.get_bind().dialect.name == "postgresql":
        for table in ("match_group", "membership"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


def populate(factory: sessionmaker[Session], people: int, rounds: int, seed: int) -> str:
    rng = random.Random(seed)
    with factory.begin() as session:
        org = Organization(slug="bench", name="Bench General Hospital", timezone="America/New_York")
        session.add(org)
        session.flush()
        session.add_all(
            Topic(
                organization_id=org.id,
                key=t.key,
                title=t.title,
                description=t.description,
                starters=list(t.starters),
                tags=list(t.tags),
            )
            for t in matching.default_topics()
        )
        add_people(session, org, people, rng)
        add_rounds(session, org, rounds, rng)
        accounts.create_admin(session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, organization=org)
        return org.slug


def data_shape(factory: sessionmaker[Session]) -> str:
    with factory() as session:

        def count(model: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

        return (
            f"{count(Participant):,} participants, {count(Round)} sent rounds, "
            f"{count(MatchGroup):,} groups, {count(Membership):,} memberships, "
            f"{count(Feedback):,} feedback rows"
        )
