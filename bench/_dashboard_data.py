"""Building the benchmark organization for bench/dashboard.py: a fresh database, 10,000
participants and 12 sent rounds with feedback and their emails in the outbox, inserted in bulk.

The outbox is never pruned, so after a year it holds every round email: an invitation per
member (~13.5 KB with its .ics), a reminder, a check-in and a follow-up (4-6 KB each), plus a
sign-up confirmation per person. Bodies are random text of those sizes (the pages never read
them, but on SQLite a large body sits in the row before the status column). The audit log gets
a year of two wellness leads' actions (3,000 events).
"""

from __future__ import annotations

import base64
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
    AuditEvent,
    Feedback,
    MatchGroup,
    Membership,
    Organization,
    OutboxMessage,
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
# Sizes of real rendered emails (bytes, `coffeerounds demo` + `round`): the outbox's bulk.
EMAIL_BYTES = {
    "confirm_signup": 4_000,
    "invite": 13_500,
    "reminder": 6_100,
    "checkin": 4_600,
    "followup": 4_200,
}
BOUNCE = "550 5.1.1 <{}>: Recipient address rejected: User unknown"


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


class Outbox:
    """Outbox rows in bulk: a few random bodies per kind, reused (the pages never read them)."""

    def __init__(self, session: Session, org: Organization, rng: random.Random) -> None:
        self.session, self.org, self.rng = session, org, rng
        self.bodies = {
            kind: [base64.b64encode(rng.randbytes(size * 3 // 4))[:size] for _ in range(8)]
            for kind, size in EMAIL_BYTES.items()
        }
        self.rows: list[dict[str, Any]] = []
        self.emails = dict(
            session.execute(
                select(Participant.id, Participant.email).where(
                    Participant.organization_id == org.id
                )
            ).all()
        )

    def add(self, kind: str, key: str, person: int, when: dt.datetime) -> None:
        rng = self.rng
        failed = rng.random() < 0.004
        address = self.emails[person]
        self.rows.append(
            {
                "organization_id": self.org.id,
                "participant_id": person,
                "idempotency_key": key,
                "kind": kind,
                "to_address": address,
                "envelope_from": "coffee@bench.example",
                "subject": f"Coffee Rounds: {kind}",
                "message_id": f"<{uuid.uuid4().hex}@bench.example>",
                "body": rng.choice(self.bodies[kind]),
                "status": "failed" if failed else "sent",
                "attempts": 12 if failed else 1,
                "next_attempt_at": when,
                "last_error": BOUNCE.format(address) if failed else "",
                "created_at": when,
                "sent_at": None if failed else when + dt.timedelta(seconds=rng.uniform(1, 600)),
            }
        )
        if len(self.rows) >= 2_000:
            self.flush()

    def flush(self) -> None:
        if self.rows:
            self.session.execute(insert(OutboxMessage), self.rows)
            self.rows = []


def add_rounds(
    session: Session, org: Organization, rounds: int, rng: random.Random, outbox: Outbox
) -> None:
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
                outbox.add("invite", f"invite:{group_id}:{person}:0", person, start)
                if not dropped:
                    for kind, days in (("reminder", 6), ("checkin", 9), ("followup", 21)):
                        key = f"{kind}:{membership_id}"
                        outbox.add(kind, key, person, start + dt.timedelta(days=days))
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
    outbox.flush()
    if session.get_bind().dialect.name == "postgresql":
        for table in ("match_group", "membership"):
            session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )


# A year of what two wellness leads do: sign in, pause people, move them, resend emails.
AUDIT_ACTIONS = (
    ("login", "admin_account", 30),
    ("participant.pause", "participant", 25),
    ("participant.reactivate", "participant", 15),
    ("round.move_member", "participant", 15),
    ("email.resend", "outbox_message", 10),
    ("participant.remove", "participant", 3),
    ("topic.update", "topic", 2),
)


def add_audit_events(session: Session, org: Organization, events: int, rng: random.Random) -> None:
    now = dt.datetime.now(dt.UTC)
    actions, targets, weights = zip(*AUDIT_ACTIONS, strict=True)
    rows = []
    for _ in range(events):
        index = rng.choices(range(len(actions)), weights)[0]
        rows.append(
            {
                "organization_id": org.id,
                "actor": rng.choice(("lead@bench.example", "deputy@bench.example")),
                "action": actions[index],
                "target_type": targets[index],
                "target_id": str(rng.randint(1, 10_000)),
                "before": {"status": "active"},
                "after": {"status": "paused"},
                "created_at": now - dt.timedelta(days=rng.uniform(0, 365)),
            }
        )
    session.execute(insert(AuditEvent), rows)


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
        outbox = Outbox(session, org, rng)
        for person in outbox.emails:
            outbox.add("confirm_signup", f"confirm_signup:{person}:0:0", person, org.created_at)
        add_rounds(session, org, rounds, rng, outbox)
        add_audit_events(session, org, 3_000, rng)
        accounts.create_admin(session, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, organization=org)
        return org.slug


def data_shape(factory: sessionmaker[Session]) -> str:
    with factory() as session:

        def count(model: Any) -> int:
            return int(session.scalar(select(func.count()).select_from(model)) or 0)

        return (
            f"{count(Participant):,} participants, {count(Round)} sent rounds, "
            f"{count(MatchGroup):,} groups, {count(Membership):,} memberships, "
            f"{count(Feedback):,} feedback rows, {count(OutboxMessage):,} emails in the outbox, "
            f"{count(AuditEvent):,} audit events"
        )
