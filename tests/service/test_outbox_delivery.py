"""The outbox over a real SMTP server (aiosmtpd with STARTTLS and AUTH): retries, bounces,
a crash between the server's 250 and our commit, an SMTP outage, concurrent dispatchers."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

import tests.notifications.conftest as smtp_fixtures
from notifications import FileSender, SmtpSender
from service import outbox
from service.config import Settings
from service.db import utcnow
from service.links import LinkSigner
from service.models import Membership, Organization, OutboxMessage, Participant, Round
from service.rounds.create import create_round
from tests.conftest import read_emails
from tests.notifications.conftest import SMTP_PASSWORD, SMTP_USER, CountingController, Pki
from tests.service.round_fixtures import make_org

pki = smtp_fixtures.pki  # the throw-away CA and server certificate of the notifications tests

DEC_ROUND_TIME = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
ON_POSTGRES = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")


@dataclass
class ScriptedHandler:
    """Accepts everything except where a recipient has scripted replies left (e.g. 451)."""

    replies: dict[str, list[str]] = field(default_factory=dict)
    attempts: Counter[str] = field(default_factory=Counter)
    received: list[Envelope] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        with self.lock:
            for rcpt in envelope.rcpt_tos:
                self.attempts[rcpt] += 1
            scripted = self.replies.get(envelope.rcpt_tos[0], [])
            if scripted:
                return scripted.pop(0)
            self.received.append(envelope)
        return "250 Message accepted"

    def bodies(self) -> dict[str, list[bytes]]:
        """What arrived, by recipient (CRLF-normalised end, as SMTP transparency allows)."""
        out: dict[str, list[bytes]] = {}
        for envelope in self.received:
            for rcpt in envelope.rcpt_tos:
                content = envelope.original_content or b""
                out.setdefault(rcpt, []).append(content.rstrip(b"\r\n"))
        return out


ServerStarter = Callable[..., tuple[ScriptedHandler, int]]


@pytest.fixture
def smtp(pki: Pki) -> Iterator[ServerStarter]:
    """Start an aiosmtpd relay on 127.0.0.1 requiring STARTTLS, then AUTH."""
    started: list[CountingController] = []

    def start(port: int | None = None) -> tuple[ScriptedHandler, int]:
        handler = ScriptedHandler()
        controller = CountingController(
            handler,
            hostname="127.0.0.1",
            port=port or smtp_fixtures.free_port(),
            loop=asyncio.new_event_loop(),
            authenticator=smtp_fixtures.Authenticator(),
            auth_require_tls=True,
            tls_context=pki.server_context(),
            require_starttls=True,
        )
        controller.start()
        started.append(controller)
        return handler, int(controller.port)

    yield start
    for controller in started:
        controller.stop()


def smtp_sender(port: int, pki: Pki) -> SmtpSender:
    return SmtpSender(
        "127.0.0.1",
        port,
        username=SMTP_USER,
        password=SMTP_PASSWORD,
        security="starttls",
        timeout=5,
        ca_file=pki.ca_file,
    )


def make_round(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, people: int = 8
) -> list[OutboxMessage]:
    with factory.begin() as session:
        org = make_org(session, people=people)
        run = create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME)
        assert run.emails_queued == people
    return rows(factory)


def rows(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with factory() as session:
        found = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
    return found


def test_a_rounds_invites_reach_a_starttls_auth_relay_byte_for_byte(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, smtp, pki
) -> None:
    queued = make_round(factory, settings, links)
    handler, port = smtp()
    report = outbox.deliver_due(factory, smtp_sender(port, pki))
    assert (report.sent, report.retrying, report.failed) == (8, 0, 0)
    received = handler.bodies()
    for row in queued:
        assert received[row.to_address] == [row.body.rstrip(b"\r\n")]
    after = rows(factory)
    assert {r.status for r in after} == {"sent"}
    assert all(r.attempts == 1 and r.sent_at is not None and r.lease_until is None for r in after)


def test_451_then_250_is_retried_after_the_backoff(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, smtp, pki
) -> None:
    queued = make_round(factory, settings, links)
    handler, port = smtp()
    greylisted = queued[0].to_address
    handler.replies[greylisted] = ["451 4.7.1 Greylisted, try again later"]

    first = outbox.deliver_due(factory, smtp_sender(port, pki))
    assert (first.sent, first.retrying, first.failed) == (7, 1, 0)
    row = next(r for r in rows(factory) if r.to_address == greylisted)
    assert row.status == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at > utcnow() + timedelta(seconds=10)

    # Not due yet: a pass now leaves it alone.
    assert outbox.deliver_due(factory, smtp_sender(port, pki)).sent == 0
    later = utcnow() + timedelta(seconds=outbox.BACKOFF_BASE_SECONDS + 1)
    second = outbox.deliver_due(factory, smtp_sender(port, pki), now=later)
    assert (second.sent, second.retrying, second.failed) == (1, 0, 0)
    row = next(r for r in rows(factory) if r.to_address == greylisted)
    assert row.status == "sent" and row.attempts == 2
    assert handler.attempts[greylisted] == 2
    assert handler.bodies()[greylisted] == [row.body.rstrip(b"\r\n")]


def test_550_fails_the_row_marks_the_person_undeliverable_and_skips_them_next_month(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, smtp, pki
) -> None:
    queued = make_round(factory, settings, links)
    handler, port = smtp()
    bounced = queued[0].to_address
    handler.replies[bounced] = ["550 5.1.1 No such user here"]

    report = outbox.deliver_due(factory, smtp_sender(port, pki))
    assert (report.sent, report.retrying, report.failed) == (7, 0, 1)
    # Nothing is retried later either.
    outbox.deliver_due(factory, smtp_sender(port, pki), now=utcnow() + timedelta(days=2))
    assert handler.attempts[bounced] == 1
    row = next(r for r in rows(factory) if r.to_address == bounced)
    assert row.status == "failed" and row.attempts == 1 and "550" in row.last_error
    with factory.begin() as session:
        person = session.scalar(select(Participant).where(Participant.email == bounced))
        assert person is not None and person.undeliverable
        org = session.get(Organization, person.organization_id)
        assert org is not None
        create_round(
            session, settings, links, org, "2027-01", now=datetime(2027, 1, 4, 14, tzinfo=UTC)
        )
    with factory() as session:
        january = session.scalar(select(Round).where(Round.month == "2027-01"))
        assert january is not None
        members = set(
            session.scalars(
                select(Membership.participant_id).where(Membership.round_id == january.id)
            )
        )
        assert person.id not in members and len(members) == 7
        queued_to = list(
            session.scalars(
                select(OutboxMessage.to_address).where(OutboxMessage.id > queued[-1].id)
            )
        )
        assert bounced not in queued_to and len(queued_to) == 7


class SimulatedCrash(BaseException):
    """The process dying (SIGKILL, power loss) after the relay said 250, before our commit."""


def test_a_crash_between_250_and_commit_resends_the_same_bytes_after_the_lease(
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
    smtp,
    pki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    queued = make_round(factory, settings, links)
    handler, port = smtp()
    real_mark = outbox._mark
    calls = []

    def crash_on_first_mark(*args: object, **kwargs: object) -> None:
        calls.append(kwargs.get("status"))
        if len(calls) == 1:
            raise SimulatedCrash
        real_mark(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(outbox, "_mark", crash_on_first_mark)
    with pytest.raises(SimulatedCrash):
        outbox.deliver_due(factory, smtp_sender(port, pki))
    monkeypatch.setattr(outbox, "_mark", real_mark)

    first = queued[0]
    assert len(handler.received) == 1  # the relay has it, our database does not know
    stuck = rows(factory)
    assert {r.status for r in stuck} == {"sending"}  # the whole claimed batch is leased
    assert all(r.lease_until is not None and r.lease_until > utcnow() for r in stuck)

    # Another dispatcher before the lease runs out does not touch them.
    assert outbox.deliver_due(factory, smtp_sender(port, pki)).sent == 0
    after_lease = utcnow() + outbox.LEASE + timedelta(seconds=1)
    report = outbox.deliver_due(factory, smtp_sender(port, pki), now=after_lease)
    assert report.sent == 8
    final = rows(factory)
    assert len(final) == 8 and {r.status for r in final} == {"sent"}
    received = handler.bodies()
    assert received[first.to_address] == [first.body.rstrip(b"\r\n")] * 2
    for row in queued[1:]:
        assert received[row.to_address] == [row.body.rstrip(b"\r\n")]
    ids = Counter(
        e.original_content.split(b"Message-ID: ")[1].split(b"\r\n")[0] for e in handler.received
    )
    assert ids[first.message_id.encode()] == 2
    assert sum(ids.values()) == 9


def test_an_smtp_outage_keeps_everything_queued_until_the_relay_is_back(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, smtp, pki
) -> None:
    queued = make_round(factory, settings, links)
    port = smtp_fixtures.free_port()  # nothing listens here yet: connection refused
    tried = {row.id for row in queued[: outbox.RELAY_DOWN_AFTER]}
    now = utcnow()
    for attempt in range(1, outbox.MAX_ATTEMPTS):
        now += timedelta(seconds=outbox.BACKOFF_CAP_SECONDS + 1)
        report = outbox.deliver_due(factory, smtp_sender(port, pki), now=now)
        assert (report.sent, report.retrying, report.failed) == (0, 8, 0)
        # Each pass gives up on the dead relay after a few tries; the rest are not charged.
        assert {(r.id in tried, r.status, r.attempts) for r in rows(factory)} == {
            (True, "pending", attempt),
            (False, "pending", 0),
        }

    handler, _ = smtp(port)  # the relay comes back on its usual address
    now += timedelta(seconds=outbox.BACKOFF_CAP_SECONDS + 1)
    report = outbox.deliver_due(factory, smtp_sender(port, pki), now=now)
    assert (report.sent, report.retrying, report.failed) == (8, 0, 0)
    outbox.deliver_due(factory, smtp_sender(port, pki), now=now + timedelta(days=1))
    received = handler.bodies()
    assert {rcpt: len(bodies) for rcpt, bodies in received.items()} == {
        row.to_address: 1 for row in queued
    }
    assert {r.status for r in rows(factory)} == {"sent"}


def test_a_silent_relay_costs_a_few_timeouts_per_pass_not_one_per_message(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    """A black-holed relay: TCP connects, no greeting ever comes."""
    queued = make_round(factory, settings, links)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(32)  # never accepted: every SMTP greeting times out
        sender = SmtpSender("127.0.0.1", silent.getsockname()[1], security="none", timeout=0.5)
        report = outbox.deliver_due(factory, sender)
    assert (report.sent, report.retrying, report.failed) == (0, 8, 0)
    assert len(report.errors) == outbox.RELAY_DOWN_AFTER
    after = {r.id: r for r in rows(factory)}
    for number, row in enumerate(queued):
        again = after[row.id]
        assert again.status == "pending" and again.lease_until is None
        assert again.attempts == (1 if number < outbox.RELAY_DOWN_AFTER else 0)
    assert all("timed out" in after[r.id].last_error for r in queued[: outbox.RELAY_DOWN_AFTER])


def test_a_message_fails_only_after_max_attempts_of_temporary_errors(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, smtp, pki
) -> None:
    # 4xx replies count against MAX_ATTEMPTS; a relay that does not answer at all is kept
    # trying for RELAY_OUTAGE_LIMIT instead (tests/service/test_faults_email.py).
    queued = make_round(factory, settings, links, people=3)
    handler, port = smtp()
    for row in queued:
        handler.replies[row.to_address] = ["452 4.2.2 Mailbox full"] * outbox.MAX_ATTEMPTS
    now = utcnow()
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        assert {r.status for r in rows(factory)} == {"pending"}
        now += timedelta(seconds=outbox.BACKOFF_CAP_SECONDS + 1)
        report = outbox.deliver_due(factory, smtp_sender(port, pki), now=now)
        assert report.sent == 0 and report.failed == (3 if attempt == outbox.MAX_ATTEMPTS else 0)
    final = rows(factory)
    assert {(r.status, r.attempts) for r in final} == {("failed", outbox.MAX_ATTEMPTS)}
    with factory() as session:
        # A temporary refusal says nothing about the address: nobody is marked undeliverable.
        assert not any(session.scalars(select(Participant.undeliverable)))


@pytest.mark.skipif(not ON_POSTGRES, reason="SKIP LOCKED needs PostgreSQL (TEST_DATABASE_URL)")
def test_two_dispatchers_in_parallel_send_each_message_exactly_once(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, tmp_path: Path
) -> None:
    queued = make_round(factory, settings, links, people=60)
    directory = tmp_path / "parallel"
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatcher() -> None:
        try:
            start.wait()
            while outbox.deliver_due(factory, FileSender(directory), limit=4).sent:
                pass
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    ids = Counter(str(m["Message-ID"]) for m in read_emails(directory))
    assert ids == Counter({row.message_id: 1 for row in queued})
    assert {r.status for r in rows(factory)} == {"sent"}
