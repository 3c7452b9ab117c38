"""The way out of the service broken for a long while: the SMTP relay down for a whole
round and a long weekend, and the email folder of the file backend unusable.

The round is made by the scheduler's own round job and a visitor signs up through the real
app while delivery is broken. The dispatcher runs on a clock the test moves forward (a pass
every few minutes of simulated time) so days of outage take seconds. After recovery: every
invite and the confirmation arrive exactly once, with the Message-ID they were queued with,
within RELAY_RETRY_CAP_SECONDS; nothing is marked failed and nobody undeliverable.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notifications import FileSender, SmtpSender
from service import outbox
from service.config import Settings
from service.db import utcnow
from service.links import LinkSigner
from service.main import create_app
from service.models import OutboxMessage, Participant
from service.rounds import jobs
from tests.service.fault_helpers import (
    SmtpSink,
    assert_each_once,
    delivered,
    free_port,
    make_round_due_now,
)
from tests.service.round_fixtures import make_org
from tests.service.test_public_join import csrf, signup_form

PEOPLE = 12
RECOVERY = timedelta(seconds=outbox.RELAY_RETRY_CAP_SECONDS + 60)


def round_and_signup(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, start: datetime
) -> dict[str, str]:
    """The scheduler's round job makes this month's round, then someone signs up on the
    join page; both queue email that cannot go out. Returns Message-ID by address."""
    with factory.begin() as session:
        org = make_org(session, people=PEOPLE)
        make_round_due_now(org, start)
    runs = jobs.run_due_rounds(factory, settings, links, now=start)
    assert [run.created for run in runs] == [True]

    app = create_app(settings)
    try:
        with TestClient(app) as client:
            data = {"csrf_token": csrf(client), **signup_form(email="new.nurse@example.org")}
            answer = client.post("/o/stmarys/join", data=data, follow_redirects=False)
            assert answer.status_code == 303, answer.text
    finally:
        app.state.engine.dispose()

    with factory() as session:
        queued = {row.to_address: row.message_id for row in session.scalars(select(OutboxMessage))}
        statuses = set(session.scalars(select(OutboxMessage.status)))
    assert len(queued) == PEOPLE + 1 and statuses == {"pending"}  # the join page's send failed
    return queued


def outbox_rows(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with factory() as session:
        found = list(session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        session.expunge_all()
    return found


def pass_until_all_sent(
    factory: sessionmaker[Session], make_sender: Callable[[], object], now: datetime
) -> timedelta:
    """Dispatcher passes a minute apart (as the scheduler runs them) until nothing is left;
    returns how long that took on the test's clock."""
    back = now
    while now - back <= RECOVERY:
        outbox.deliver_due(factory, make_sender(), now=now)  # type: ignore[arg-type]
        if {row.status for row in outbox_rows(factory)} == {"sent"}:
            return now - back
        now += timedelta(minutes=1)
    raise AssertionError(f"still not all sent {RECOVERY} after recovery: {outbox_rows(factory)}")


def assert_nobody_undeliverable(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        # An outage on our side says nothing about anyone's address.
        assert not any(session.scalars(select(Participant.undeliverable)))


def test_an_smtp_relay_down_for_a_whole_round_and_a_long_weekend_loses_nothing(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    port = free_port()  # nothing listens here: connection refused, as with a stopped relay
    smtp_settings = settings.model_copy(
        update={
            "email_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_security": "none",
            "smtp_timeout": 5.0,
        }
    )

    def relay() -> SmtpSender:
        return SmtpSender("127.0.0.1", port, security="none", timeout=5)

    start = utcnow()
    queued = round_and_signup(factory, smtp_settings, links, start)

    # 60 hours of outage, a dispatcher pass every 20 minutes.
    now = start
    while now < start + timedelta(hours=60):
        report = outbox.deliver_due(factory, relay(), now=now)
        assert (report.sent, report.failed) == (0, 0), report
        now += timedelta(minutes=20)
    during = outbox_rows(factory)
    assert {row.status for row in during} == {"pending"}
    # Tried far more often than MAX_ATTEMPTS (the limit for 4xx replies), and kept.
    assert max(row.attempts for row in during) > outbox.MAX_ATTEMPTS
    tried = [row for row in during if row.attempts]
    assert all("refused" in row.last_error.lower() for row in tried), tried[0].last_error

    sink = SmtpSink(port=port).start()  # the relay is back on its usual address
    try:
        took = pass_until_all_sent(factory, relay, now)
    finally:
        sink.stop()
    assert took <= timedelta(seconds=outbox.RELAY_RETRY_CAP_SECONDS)
    assert_each_once(sink.by_recipient(), queued, in_flight=0)
    assert_nobody_undeliverable(factory)


def test_a_relay_down_for_longer_than_the_outage_limit_fails_the_messages(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    """The limit exists: a relay that never comes back does not keep messages forever."""
    start = utcnow()
    with factory.begin() as session:
        org = make_org(session, people=3)
        make_round_due_now(org, start)
    jobs.run_due_rounds(factory, settings, links, now=start)
    port = free_port()
    now = start
    while now < start + outbox.RELAY_OUTAGE_LIMIT:
        outbox.deliver_due(factory, SmtpSender("127.0.0.1", port, security="none"), now=now)
        now += timedelta(hours=2)
    assert {row.status for row in outbox_rows(factory)} == {"pending"}
    now = start + outbox.RELAY_OUTAGE_LIMIT + timedelta(hours=1)
    report = outbox.deliver_due(factory, SmtpSender("127.0.0.1", port, security="none"), now=now)
    assert (report.sent, report.failed) == (0, 3)
    assert {row.status for row in outbox_rows(factory)} == {"failed"}
    assert_nobody_undeliverable(factory)


@pytest.mark.parametrize(
    "breakage",
    ["the folder is a file", "a parent is a file"],
)
def test_an_unusable_email_folder_keeps_everything_queued_then_sends_each_once(
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    breakage: str,
) -> None:
    # Permission bits do not stop root (the tests may run as root): a regular file where the
    # folder, or one of its parents, should be stops everyone.
    blocker = tmp_path / "mail"
    blocker.write_text("a file, not a folder\n")
    folder = blocker if breakage == "the folder is a file" else blocker / "outbox"
    file_settings = settings.model_copy(update={"email_file_dir": folder})

    start = utcnow()
    queued = round_and_signup(factory, file_settings, links, start)
    now = start
    for _ in range(6):  # half an hour of passes
        report = outbox.deliver_due(factory, outbox.make_sender(file_settings), now=now)
        assert (report.sent, report.failed) == (0, 0), report
        now += timedelta(minutes=5)
    tried = [row for row in outbox_rows(factory) if row.attempts]
    assert tried and {row.status for row in outbox_rows(factory)} == {"pending"}
    reason = "File exists" if breakage == "the folder is a file" else "Not a directory"
    for row in tried:
        assert row.last_error.startswith(f"cannot write {folder}/"), row.last_error
        assert reason in row.last_error, row.last_error
    assert any(str(folder) in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)

    blocker.unlink()  # fixed: the folder can be made again
    pass_until_all_sent(factory, lambda: FileSender(folder), now)
    assert_each_once(delivered(folder), queued, in_flight=0)
    assert_nobody_undeliverable(factory)
