"""`coffeerounds serve --workers 4` and one `coffeerounds scheduler` on one PostgreSQL database:
each periodic job fires once per period, and the web workers never run jobs.

The scheduler runs with short intervals (OUTBOX_INTERVAL_SECONDS etc.) for about 20 s while
visitors sign up through the four web workers and emails are queued straight into the
outbox. Counted: the scheduler's one log line per job run (each slot of each job exactly
once, a period apart, none missed), and the effect of the outbox job: every email queued
behind the web's back is written once, by the scheduler (its own email folder), in as many
batches as there were outbox runs while they were coming in.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import utcnow
from service.links import LinkSigner
from service.models import Organization, OutboxMessage, Participant, Round
from service.participants import flows
from service.rounds.jobs import current_month
from tests.service.fault_helpers import (
    Process,
    delivered,
    free_port,
    serve,
    service_env,
    wait_for_http,
    wait_until,
)
from tests.service.fault_helpers import coffeerounds as cli
from tests.service.fault_helpers import processes as processes  # noqa: F401
from tests.service.round_fixtures import make_org

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
        reason="several processes on one database: runs with the PostgreSQL suite "
        "(TEST_DATABASE_URL)",
    ),
]

INTERVALS = {"outbox": 2, "followups": 3, "sync-round-jobs": 5}
WINDOW_SECONDS = 20
QUEUE_EVERY_SECONDS = 0.25
RAN = re.compile(r"job (\S+) ran \(run of (\S+)\)")


def job_runs(log: str) -> dict[str, list[datetime]]:
    runs: dict[str, list[datetime]] = defaultdict(list)
    for job_id, slot in RAN.findall(log):
        runs[job_id].append(datetime.fromisoformat(slot))
    return runs


def batches(times: list[datetime], gap: timedelta) -> int:
    """How many bursts `times` fall into, bursts being separated by more than `gap`."""
    ordered = sorted(times)
    return 1 + sum(b - a > gap for a, b in itertools.pairwise(ordered)) if ordered else 0


def test_four_web_workers_and_one_scheduler_run_each_job_once_per_period(
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
    database_url: str,
    processes: Callable[..., Process],  # noqa: F811
    tmp_path: Path,
) -> None:
    with factory.begin() as session:
        org = make_org(session, people=120)
        # This month's round is done: the scheduler's catch-up has no round to make.
        month = current_month(org, utcnow())
        session.add(Round(organization_id=org.id, month=month, status="sent", seed=0, stats={}))
    web_mail, scheduler_mail = tmp_path / "web-mail", tmp_path / "scheduler-mail"
    limits = {
        "RATE_LIMIT_SIGNUPS_PER_EMAIL_PER_HOUR": "0",
        "RATE_LIMIT_REQUESTS_PER_CLIENT_PER_MINUTE": "0",
    }
    port = free_port()
    web = processes(
        serve(port, workers=4), service_env(database_url, web_mail, **limits), tmp_path / "web.log"
    )
    intervals = {
        "OUTBOX_INTERVAL_SECONDS": str(INTERVALS["outbox"]),
        "FOLLOWUPS_INTERVAL_SECONDS": str(INTERVALS["followups"]),
        "ROUND_SYNC_INTERVAL_SECONDS": str(INTERVALS["sync-round-jobs"]),
    }
    scheduler = processes(
        cli("scheduler"),
        service_env(database_url, scheduler_mail, **intervals),
        tmp_path / "scheduler.log",
    )
    base = f"http://127.0.0.1:{port}"
    wait_for_http(base, web)
    wait_until(
        lambda: "scheduler started" in scheduler.log(), timeout=120, what="the scheduler to start"
    )
    wait_until(
        lambda: web.log().count("Application startup complete") >= 4,
        timeout=150,
        what="four web workers",
    )
    assert "died" not in web.log(), web.log()

    # Visitors sign up through the web workers the whole time.
    stop = threading.Event()
    signups: list[int] = []

    def visit() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            client.get("/healthz")
            token = client.cookies["cr_csrf"]
            for number in itertools.count():
                if stop.is_set():
                    return
                answer = client.post(
                    "/o/stmarys/join",
                    data={
                        "csrf_token": token,
                        "full_name": f"Walk-in {number}",
                        "email": f"walkin{number}@elsewhere.example",
                        "role": "nurse",
                        "department": "Surgery",
                        "timezone": "America/New_York",
                        "availability": ["Tue 12:00-13:00"],
                    },
                    follow_redirects=False,
                )
                signups.append(answer.status_code)
                time.sleep(0.05)

    visitor = threading.Thread(target=visit, daemon=True)
    visitor.start()

    # Emails queued behind the web workers' back: only the scheduler's outbox job sends these.
    with factory() as session:
        people = list(session.scalars(select(Participant.id).order_by(Participant.id)))
    behind_the_back: dict[str, str] = {}
    started = time.monotonic()
    for person_id in people:
        if time.monotonic() - started > WINDOW_SECONDS:
            break
        with factory.begin() as session:
            person = session.get_one(Participant, person_id)
            org = session.get_one(Organization, person.organization_id)
            key = flows.send_manage_link(session, settings, links, org, person)
        with factory() as session:
            row = session.scalar(select(OutboxMessage).where(OutboxMessage.idempotency_key == key))
            assert row is not None
            behind_the_back[row.to_address] = row.message_id
        time.sleep(QUEUE_EVERY_SECONDS)
    queued_until = time.monotonic()
    stop.set()
    visitor.join(timeout=60)

    def behind_the_back_sent() -> bool:
        return set(delivered(scheduler_mail)) >= set(behind_the_back)

    wait_until(behind_the_back_sent, timeout=30, what="the scheduler to send what was queued")
    assert scheduler.stop() == 0, scheduler.log()[-3000:]
    assert web.running(), web.log()[-3000:]

    # Each job: one run per slot, slots exactly a period apart (none twice, none skipped).
    runs = job_runs(scheduler.log())
    for job_id, seconds in INTERVALS.items():
        slots = runs[job_id]
        assert len(slots) == len(set(slots)), f"{job_id} ran twice for one slot: {slots}"
        steps = {b - a for a, b in itertools.pairwise(slots)}
        assert steps == {timedelta(seconds=seconds)}, f"{job_id}: {slots}"
        expected = (queued_until - started) / seconds
        assert len(slots) >= expected - 1, f"{job_id}: {len(slots)} runs, {expected:.1f} periods"
    assert "missed its run" not in scheduler.log()
    assert "maximum number of running instances" not in scheduler.log()

    # The web workers never run jobs; what they send is their own visitors' confirmations.
    assert not RAN.search(web.log())
    assert signups and set(signups) == {303}, set(signups)
    web_sent = delivered(web_mail)
    assert not set(web_sent) & set(behind_the_back)
    assert len(web_sent) >= len(signups) // 2  # most confirmations go out at once

    # The outbox job's effect: each email queued behind the back written once, by the
    # scheduler, in one batch per outbox run that had something to send.
    by_scheduler = delivered(scheduler_mail)
    for address, message_id in behind_the_back.items():
        assert by_scheduler[address] == [message_id], address
    with factory() as session:
        sent_at = list(
            session.scalars(
                select(OutboxMessage.sent_at).where(
                    OutboxMessage.to_address.in_(list(behind_the_back))
                )
            )
        )
    outbox_runs_while_queueing = (queued_until - started) / INTERVALS["outbox"]
    bursts = batches([t for t in sent_at if t is not None], timedelta(seconds=1))
    assert abs(bursts - outbox_runs_while_queueing) <= 2, (bursts, outbox_runs_while_queueing)
