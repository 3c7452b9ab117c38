"""SIGKILL of the real `coffeerounds scheduler` process while it makes and sends a round.

The organization's round is due, so the scheduler's start-up catch-up makes it with the
round job's own code and then sends it. The process is killed right after matching, with
every email queued but not committed, and in the middle of delivery; then a plain scheduler
is started. The round must be absent after the first two kills, complete after the third and
at the end, made once; every participant gets exactly one invite (the message in flight at
the kill may arrive twice, with the same Message-ID).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from service.db import utcnow
from service.models import MatchGroup, Membership, OutboxMessage, Participant, Round
from tests.service.fault_helpers import (
    Process,
    assert_each_once,
    delivered,
    make_round_due_now,
    service_env,
    wait_until,
)
from tests.service.fault_helpers import coffeerounds as cli
from tests.service.fault_helpers import processes as processes  # noqa: F401
from tests.service.round_fixtures import make_org

pytestmark = pytest.mark.slow

PEOPLE = 40
# The real scheduler command, with hooks that touch a marker file when a stage is reached and
# can hold the process there (work done, transaction open) for the test to kill it; sending
# can be slowed down so that a kill lands in the middle of delivery.
SCHEDULER = """
import os, pathlib, sys, time
markers = pathlib.Path(sys.argv.pop(1))
hold = os.environ.get("CR_TEST_HOLD", "")
send_delay = float(os.environ.get("CR_TEST_SEND_DELAY", "0"))
import matching
from notifications import FileSender
from service.rounds import create

def mark(name, function):
    def wrapped(*args, **kwargs):
        result = function(*args, **kwargs)
        (markers / name).touch()
        if hold == name:
            time.sleep(600)
        return result
    return wrapped

matching.match_round = mark("matched", matching.match_round)
create.send_round = mark("queued", create.send_round)
real_send = FileSender.send

def slow_send(self, *args, **kwargs):
    time.sleep(send_delay)
    return real_send(self, *args, **kwargs)

FileSender.send = slow_send
from service.cli import main
sys.argv[0] = "coffeerounds"
main()
"""


def round_state(factory: sessionmaker[Session]) -> str:
    """'absent' or 'complete' (one sent round, everyone in one group with one invite queued);
    anything in between fails the test."""
    with factory() as session:
        counts = [
            session.scalar(select(func.count()).select_from(table)) or 0
            for table in (Round, MatchGroup, Membership, OutboxMessage)
        ]
        if counts == [0, 0, 0, 0]:
            return "absent"
        round_ = session.scalar(select(Round))
        assert counts[0] == 1 and round_ is not None and round_.status == "sent", counts
        active = set(session.scalars(select(Participant.id).where(Participant.status == "active")))
        memberships = dict(
            session.execute(
                select(Membership.participant_id, func.count()).group_by(Membership.participant_id)
            ).all()
        )
        invites = dict(
            session.execute(
                select(OutboxMessage.participant_id, func.count())
                .where(OutboxMessage.kind == "invite")
                .group_by(OutboxMessage.participant_id)
            ).all()
        )
        assert len(active) == PEOPLE
        assert memberships == dict.fromkeys(active, 1), "someone has no group or two"
        assert invites == dict.fromkeys(active, 1), "someone has no invite or two"
        return "complete"


def test_the_scheduler_killed_mid_round_leaves_it_absent_or_complete_and_sends_once(
    factory: sessionmaker[Session],
    database_url: str,
    processes: Callable[..., Process],  # noqa: F811
    tmp_path: Path,
) -> None:
    with factory.begin() as session:
        org = make_org(session, slug="general", people=PEOPLE)
        make_round_due_now(org)
    outbox_dir = tmp_path / "outbox"
    markers = tmp_path / "markers"
    markers.mkdir()
    env = service_env(database_url, outbox_dir, OUTBOX_INTERVAL_SECONDS="1")

    def hooked(log: str, **extra: str) -> Process:
        for marker in markers.iterdir():
            marker.unlink()
        args = [sys.executable, "-c", SCHEDULER, str(markers), "scheduler"]
        return processes(args, {**env, **extra}, tmp_path / log)

    # 1. Killed after matching, before any group is stored.
    scheduler = hooked("kill-1.log", CR_TEST_HOLD="matched")
    wait_until(lambda: (markers / "matched").exists(), timeout=120, what="matching")
    assert scheduler.kill(), scheduler.log()
    assert round_state(factory) == "absent"

    # 2. Killed with every group stored and every email queued, before the commit.
    scheduler = hooked("kill-2.log", CR_TEST_HOLD="queued")
    wait_until(lambda: (markers / "queued").exists(), timeout=120, what="queueing")
    assert scheduler.kill(), scheduler.log()
    assert round_state(factory) == "absent"
    assert not outbox_dir.exists()

    # 3. Killed in the middle of sending the round it made and committed.
    scheduler = hooked("kill-3.log", CR_TEST_SEND_DELAY="0.05")
    wait_until(
        lambda: len(list(outbox_dir.glob("*.eml"))) >= 8, timeout=120, what="the first invites"
    )
    assert scheduler.kill(), scheduler.log()
    assert round_state(factory) == "complete"
    written = len(list(outbox_dir.glob("*.eml")))
    assert 8 <= written < PEOPLE
    with factory.begin() as session:
        statuses = dict(
            session.execute(
                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
            ).all()
        )
        # The dead scheduler's claim holds the rest; a new one waits for the lease to run
        # out (5 minutes): here that time passes at once.
        assert statuses.get("sending", 0) >= PEOPLE - written, statuses
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "sending")
            .values(lease_until=utcnow() - timedelta(seconds=1))
        )

    # 4. A plain scheduler finishes the job and stops cleanly on SIGTERM.
    scheduler = processes(cli("scheduler"), env, tmp_path / "final.log")

    def all_sent() -> bool:
        with factory() as session:
            return set(session.scalars(select(OutboxMessage.status).distinct())) == {"sent"}

    wait_until(all_sent, timeout=120, what="every invite sent")
    assert scheduler.stop() == 0, scheduler.log()
    assert "catch-up: round" not in scheduler.log()  # nothing left to make
    assert round_state(factory) == "complete"
    with factory() as session:
        queued = {row.to_address: row.message_id for row in session.scalars(select(OutboxMessage))}
    assert len(queued) == PEOPLE
    assert_each_once(delivered(outbox_dir), queued, in_flight=1)
