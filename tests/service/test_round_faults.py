"""Crashes of real processes: `coffeerounds round` and `coffeerounds send-outbox` SIGKILLed
while they work. A round is all or nothing; every invite goes out, at most once more."""

from __future__ import annotations

import email
import email.policy
import os
import random
import signal
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

import matching
from service.db import utcnow
from service.models import MatchGroup, Membership, OutboxMessage, Participant, Round
from service.participants.schemas import ParticipantIn
from service.participants.service import register
from tests.conftest import TEST_SECRET
from tests.service.round_fixtures import make_org

PEOPLE = 120
MONTH = "2026-12"
# Runs the real CLI, touching a marker file when the round reaches matching and when it
# starts queueing emails, so the test can kill it at those moments (inside the transaction).
CLI = """
import pathlib, sys
markers = pathlib.Path(sys.argv.pop(1))
import matching
from service.rounds import create

def mark(name, function):
    def wrapped(*args, **kwargs):
        (markers / name).touch()
        return function(*args, **kwargs)
    return wrapped

matching.match_round = mark("matching", matching.match_round)
create.send_round = mark("queueing", create.send_round)
from service.cli import main
sys.argv[0] = "coffeerounds"
main()
"""


@pytest.fixture
def cli_env(database_url: str, outbox_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET,
        ENVIRONMENT="test",
        EMAIL_BACKEND="file",
        EMAIL_FILE_DIR=str(outbox_dir),
        MAIL_FROM="coffee@hospital.example",
        BASE_URL="http://testserver",
    )
    return env


@pytest.fixture
def big_org(factory: sessionmaker[Session]) -> Iterator[str]:
    """An organization with PEOPLE active participants from the synthetic cohort."""
    with factory.begin() as session:
        org = make_org(session, slug="general", people=0)
        org.allowed_email_domains = []
        for row in matching.make_hospital_cohort(PEOPLE, random_state=7):
            register(session, org, ParticipantIn(**row), source="import", active=True)
    yield "general"


def start_round(env: dict[str, str], markers: Path) -> subprocess.Popen[bytes]:
    markers.mkdir(parents=True, exist_ok=True)
    for marker in markers.iterdir():
        marker.unlink()
    return subprocess.Popen(
        [sys.executable, "-c", CLI, str(markers), "round", "general", "--month", MONTH]
        + ["--time-limit", "2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def wait_for(path: Path, process: subprocess.Popen[bytes], timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.02)
    raise AssertionError(f"{path.name} never reached")


def kill(process: subprocess.Popen[bytes]) -> bool:
    """SIGKILL; True if it was still running (False: it had finished on its own)."""
    running = process.poll() is None
    if running:
        process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    return running


def round_state(factory: sessionmaker[Session]) -> str:
    """'absent' or 'complete'; anything in between fails the test."""
    with factory() as session:
        rounds = session.scalar(select(func.count()).select_from(Round)) or 0
        groups = session.scalar(select(func.count()).select_from(MatchGroup)) or 0
        members = session.scalar(select(func.count()).select_from(Membership)) or 0
        emails = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
        if (rounds, groups, members, emails) == (0, 0, 0, 0):
            return "absent"
        round_ = session.scalar(select(Round))
        assert round_ is not None and rounds == 1 and round_.status == "sent", "half-made round"
        active = set(session.scalars(select(Participant.id).where(Participant.status == "active")))
        membership_counts = dict(
            session.execute(
                select(Membership.participant_id, func.count()).group_by(Membership.participant_id)
            ).all()
        )
        invite_counts = dict(
            session.execute(
                select(OutboxMessage.participant_id, func.count())
                .where(OutboxMessage.kind == "invite")
                .group_by(OutboxMessage.participant_id)
            ).all()
        )
        assert len(active) == PEOPLE
        assert membership_counts == dict.fromkeys(active, 1), "someone has no group or two"
        assert invite_counts == dict.fromkeys(active, 1), "someone has no invite or two"
        return "complete"


def test_a_round_killed_at_any_moment_is_absent_or_complete_and_a_rerun_completes_it(
    factory: sessionmaker[Session], big_org: str, cli_env: dict[str, str], tmp_path: Path
) -> None:
    markers = tmp_path / "markers"
    rng = random.Random(20261207)
    kills = []
    # During matching, in the middle of queueing the emails, and at a random moment.
    for marker, delay in (
        ("matching", 0.5),
        ("queueing", 0.1),
        (None, rng.uniform(1.0, 5.0)),
    ):
        process = start_round(cli_env, markers)
        if marker is not None:
            assert wait_for(markers / marker, process), process.communicate()
        time.sleep(delay)
        killed = kill(process)
        kills.append((marker, killed))
        state = round_state(factory)
        assert state == "absent" if killed and marker else state in {"absent", "complete"}
        if state == "complete":
            break
    assert kills[0] == ("matching", True) and kills[1] == ("queueing", True), kills

    finish = subprocess.run(
        ["coffeerounds", "round", big_org, "--month", MONTH, "--time-limit", "1"],
        env=cli_env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finish.returncode == 0, finish.stderr
    assert round_state(factory) == "complete"


def test_send_outbox_killed_mid_delivery_resends_at_most_the_in_flight_message(
    factory: sessionmaker[Session], cli_env: dict[str, str], outbox_dir: Path, settings, links
) -> None:
    from service.rounds.create import create_round
    from tests.service.test_rounds import DEC_ROUND_TIME

    with factory.begin() as session:
        org = make_org(session, people=80)
        create_round(session, settings, links, org, MONTH, now=DEC_ROUND_TIME, time_limit=1)
    with factory() as session:
        queued = {row.to_address: row.message_id for row in session.scalars(select(OutboxMessage))}
    assert len(queued) == 80

    process = subprocess.Popen(
        ["coffeerounds", "send-outbox", "--limit", "500"],
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while len(list(outbox_dir.glob("*.eml"))) < 20 and time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        time.sleep(0.005)
    assert kill(process), "send-outbox finished before it could be killed"
    written_before = len(list(outbox_dir.glob("*.eml")))
    assert 20 <= written_before < 80

    with factory.begin() as session:
        stuck = session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")
        )
        assert stuck, "the killed dispatcher held leases on the rest of its batch"
        # Five minutes pass: the leases run out (the next dispatcher would wait for this).
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )
    rerun = subprocess.run(
        ["coffeerounds", "send-outbox"], env=cli_env, capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr

    received: dict[str, list[str]] = defaultdict(list)
    for path in outbox_dir.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        received[message["To"].addresses[0].addr_spec].append(str(message["Message-ID"]))
    assert set(received) == set(queued)
    for address, message_ids in received.items():
        assert 1 <= len(message_ids) <= 2, address
        assert set(message_ids) == {queued[address]}  # a duplicate is the very same message
    assert sum(len(ids) == 2 for ids in received.values()) <= 1  # only the in-flight one
    with factory() as session:
        assert set(session.scalars(select(OutboxMessage.status))) == {"sent"}
