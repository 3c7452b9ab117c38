"""PostgreSQL stopped and started again while the scheduler's dispatcher is sending a round's
invites and visitors are signing up and answering check-ins.

A private throwaway cluster is used (the machine's shared server is never restarted). After
recovery: the scheduler process is still running and has sent every message exactly once
(at most the one in flight twice, with the same Message-ID), and every signup and check-in
the server answered with success is stored; the ones that failed during the outage got a
503 telling the visitor to try again, and succeed when they do.
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service import migrations
from service.config import Settings
from service.db import make_engine, make_sessionmaker
from service.links import LinkSigner
from service.models import Feedback, Membership, OutboxMessage, Participant
from service.rounds.create import create_round
from service.rounds.jobs import current_month
from service.rounds.links import membership_token
from tests.conftest import TEST_SECRET
from tests.service.fault_helpers import (
    PrivatePostgres,
    Process,
    SmtpSink,
    assert_each_once,
    free_port,
    serve,
    service_env,
    smtp_env,
    wait_for_http,
    wait_until,
)
from tests.service.fault_helpers import coffeerounds as cli
from tests.service.fault_helpers import private_postgres as private_postgres  # noqa: F401
from tests.service.fault_helpers import processes as processes  # noqa: F401
from tests.service.round_fixtures import make_org

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.skipif(
        not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
        reason="PostgreSQL fault test: runs with the PostgreSQL suite (TEST_DATABASE_URL) "
        "on a private cluster of its own",
    ),
]

PEOPLE = 48
OUTAGE_SECONDS = 3.0
NO_LIMITS = {
    "RATE_LIMIT_SIGNUPS_PER_EMAIL_PER_HOUR": "0",
    "RATE_LIMIT_REQUESTS_PER_CLIENT_PER_MINUTE": "0",
}


@dataclass
class Visitors:
    """Signups and check-ins posted one after another from a thread, every answer kept."""

    base: str
    checkin_tokens: list[str]
    answers: dict[str, list[int]] = field(default_factory=dict)  # what -> status codes
    transport_errors: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base, timeout=30, follow_redirects=False)
        # Any page sets the CSRF cookie; the forms echo it back.
        self.client.get("/healthz")
        self.csrf = self.client.cookies["cr_csrf"]

    def signup(self, number: int) -> int:
        return self._post(
            f"signup {number}",
            "/o/stmarys/join",
            {
                "full_name": f"Visitor {number}",
                "email": f"visitor{number}@elsewhere.example",
                "role": "nurse",
                "department": "Medicine",
                "timezone": "America/New_York",
                "availability": ["Mon 12:00-13:00"],
            },
        )

    def checkin(self, number: int) -> int:
        token = self.checkin_tokens[number]
        data = {"met": "yes", "rating": "4", "learned": f"note {number}"}
        return self._post(f"checkin {number}", f"/o/stmarys/r/{token}/checkin", data)

    def _post(self, what: str, path: str, data: dict[str, object]) -> int:
        try:
            response = self.client.post(path, data={"csrf_token": self.csrf, **data})
        except httpx.HTTPError as exc:
            self.transport_errors.append(f"{what}: {exc!r}")
            return 0
        self.answers.setdefault(what, []).append(response.status_code)
        if response.status_code == 503:
            assert response.headers.get("Retry-After"), "a 503 without Retry-After"
            assert "try again" in response.text.lower(), response.text[:500]
        return response.status_code

    def run(self) -> None:
        for number in itertools.count():
            if self.stop.is_set():
                return
            self.signup(number)
            if number < len(self.checkin_tokens):
                self.checkin(number)
            time.sleep(0.02)

    def retry_failures(self) -> None:
        """What a visitor does after a 503: send the same form again."""
        for what, codes in list(self.answers.items()):
            if codes[-1] == 303:
                continue
            kind, number = what.split()
            retry = self.signup if kind == "signup" else self.checkin
            assert retry(int(number)) == 303, (what, self.answers[what])

    def succeeded(self, kind: str) -> set[int]:
        return {
            int(what.split()[1])
            for what, codes in self.answers.items()
            if what.startswith(kind) and 303 in codes
        }


@pytest.fixture
def cluster_db(private_postgres: PrivatePostgres) -> str:  # noqa: F811
    url = private_postgres.create_database("coffeerounds")
    migrations.upgrade(url)
    return url


@pytest.fixture
def cluster_factory(cluster_db: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(Settings(_env_file=None, database_url=cluster_db).database_url)  # type: ignore[call-arg]
    yield make_sessionmaker(engine)
    engine.dispose()


def queue_this_months_round(
    factory: sessionmaker[Session], url: str, tmp_path: Path
) -> tuple[dict[str, str], list[str]]:
    """This month's round, made and queued before the scheduler starts (so its catch-up has
    nothing to make): invite Message-IDs by address, and one check-in token per member."""
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_url=url,
        email_file_dir=tmp_path / "unused",
        base_url="http://testserver",
        mail_from="coffee@hospital.example",
    )
    links = LinkSigner(TEST_SECRET)
    now = datetime.now(UTC)
    with factory.begin() as session:
        org = make_org(session, people=PEOPLE)
        run = create_round(session, settings, links, org, current_month(org, now), now=now)
        assert run.emails_queued == PEOPLE
    with factory() as session:
        invites = {
            row.to_address: row.message_id
            for row in session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invite"))
        }
        tokens = [
            membership_token(links, participant, membership)
            for membership, participant in session.execute(
                select(Membership, Participant)
                .join(Participant, Participant.id == Membership.participant_id)
                .order_by(Membership.id)
            )
        ]
    return invites, tokens


def all_sent(factory: sessionmaker[Session]) -> bool:
    with factory() as session:
        return set(session.scalars(select(OutboxMessage.status).distinct())) == {"sent"}


def test_postgres_restarted_mid_delivery_and_mid_signups_loses_nothing_and_sends_once(
    private_postgres: PrivatePostgres,  # noqa: F811
    cluster_db: str,
    cluster_factory: sessionmaker[Session],
    processes: Callable[..., Process],  # noqa: F811
    tmp_path: Path,
) -> None:
    invites, tokens = queue_this_months_round(cluster_factory, cluster_db, tmp_path)
    sink = SmtpSink(delay=0.12).start()
    try:
        env = service_env(
            cluster_db,
            tmp_path / "unused",
            OUTBOX_INTERVAL_SECONDS="1",
            **smtp_env(sink.port),
            **NO_LIMITS,
        )
        port = free_port()
        web = processes(serve(port), env, tmp_path / "web.log")
        wait_for_http(f"http://127.0.0.1:{port}", web)
        visitors = Visitors(f"http://127.0.0.1:{port}", tokens[: PEOPLE // 2])
        scheduler = processes(cli("scheduler"), env, tmp_path / "scheduler.log")
        wait_until(lambda: sink.count() >= 12, timeout=90, what="the first invites")

        posting = threading.Thread(target=visitors.run, daemon=True)
        posting.start()
        time.sleep(0.5)
        private_postgres.stop("fast")  # every connection dropped, open transactions rolled back
        time.sleep(OUTAGE_SECONDS)
        private_postgres.start()
        time.sleep(2)
        visitors.stop.set()
        posting.join(timeout=60)

        assert scheduler.running(), scheduler.log()
        assert web.running(), web.log()
        assert visitors.transport_errors == [], visitors.transport_errors[:3]
        codes = {code for answers in visitors.answers.values() for code in answers}
        assert codes - {303}, "nothing failed: the outage was missed"
        assert codes <= {303, 503}, f"answers other than success or 503: {codes}"
        visitors.retry_failures()

        wait_until(lambda: all_sent(cluster_factory), timeout=120, what="every email sent")
        assert scheduler.running(), scheduler.log()
    finally:
        sink.stop()

    with cluster_factory() as session:
        signed_up = set(
            session.scalars(select(Participant.email).where(Participant.source == "signup"))
        )
        feedback_memberships = set(session.scalars(select(Feedback.membership_id)))
        membership_ids = list(session.scalars(select(Membership.id).order_by(Membership.id)))
        queued = {row.to_address: row.message_id for row in session.scalars(select(OutboxMessage))}
    attempted = {int(what.split()[1]) for what in visitors.answers if what.startswith("signup")}
    assert signed_up == {f"visitor{n}@elsewhere.example" for n in attempted}
    answered = {int(what.split()[1]) for what in visitors.answers if what.startswith("checkin")}
    assert feedback_memberships == {membership_ids[n] for n in answered}
    assert len(queued) == PEOPLE + len(attempted)  # the invites and one confirmation each
    assert {queued[address] for address in invites} == set(invites.values())
    # The scheduler recorded each send once the database was back, instead of leaving it to
    # be sent again when its lease ran out; the web workers' own sends likewise.
    duplicates = assert_each_once(sink.by_recipient(), queued, in_flight=2)
    assert duplicates == 0, scheduler.log()[-3000:]
    assert "database unavailable" in scheduler.log() or "job outbox failed" in scheduler.log()
