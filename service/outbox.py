"""The email outbox: messages are rendered and stored in the caller's transaction, sent later.

Delivery is at-least-once. A row is claimed with a lease, sent, then marked sent in its own
short transaction; a crash between the SMTP 250 and that commit re-sends the same stored bytes
(same Message-ID, same .ics) once the lease runs out. Nothing is ever re-rendered on retry.
A database restart between the 250 and that commit is ridden out: the commit is retried for
up to DB_RETRY_SECONDS, so the message is recorded rather than sent again.

Two kinds of temporary failure are told apart. A 4xx reply is about the message and gives up
after MAX_ATTEMPTS. No reply at all (relay refused, timed out, TLS failed, email folder not
writable) is about our side: the message is retried at least every RELAY_RETRY_CAP_SECONDS
for as long as RELAY_OUTAGE_LIMIT, so a relay down over a long weekend loses nothing and
delivery resumes within minutes of its return.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Table, Update, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from notifications import (
    FileSender,
    PermanentSendError,
    SmtpSender,
    TransientSendError,
    build_message_bytes,
    render_email,
)
from service.config import Settings
from service.db import utcnow
from service.errors import first_line
from service.models import Organization, OutboxMessage, Participant

log = logging.getLogger(__name__)

# Delivery runs Core statements on the table, built once: the ORM's bulk-UPDATE machinery
# (session synchronisation, entity rows) and rebuilding each statement cost CPU on every send.
_OUTBOX: Table = OutboxMessage.__table__  # type: ignore[assignment]
# What sending needs of a claimed row (the body is the stored message, sent as it is).
_CLAIMED = (
    _OUTBOX.c.id,
    _OUTBOX.c.body,
    _OUTBOX.c.envelope_from,
    _OUTBOX.c.to_address,
    _OUTBOX.c.attempts,
    _OUTBOX.c.created_at,
)

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 12
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 6 * 3600
# With no reply from the relay: how long to keep trying, and the longest wait between tries.
RELAY_OUTAGE_LIMIT = timedelta(days=3)
RELAY_RETRY_CAP_SECONDS = 15 * 60
# How long recording a send's outcome waits for the database to come back (< LEASE).
DB_RETRY_SECONDS = 60.0
# A pass stops after this many sends in a row got no SMTP reply: with a black-holed relay each
# send costs a full SMTP timeout, and 500 of them would outlive every lease.
RELAY_DOWN_AFTER = 3


def sender_identity(settings: Settings, org: Organization | None) -> tuple[str, str]:
    """The programme mailbox: From address, envelope sender and calendar ORGANIZER."""
    if org is not None and org.sender_email:
        return org.sender_email, org.sender_name or f"Coffee Rounds at {org.name}"
    name = f"Coffee Rounds at {org.name}" if org is not None else settings.mail_from_name
    return settings.mail_from, name


def enqueue_email(
    session: Session,
    *,
    settings: Settings,
    org: Organization | None,
    to: str,
    to_name: str,
    kind: str,
    template: str,
    context: Mapping[str, Any],
    idempotency_key: str,
    participant: Participant | None = None,
    list_unsubscribe_url: str | None = None,
    calendar: bytes | None = None,
    calendar_method: str | None = None,
    batch: EmailBatch | None = None,
) -> bool:
    """Render an email and queue it; returns False if the same key was already queued.

    With a `batch`, the row joins the batch (one multi-row INSERT per batch) and the return
    value only says it was accepted; `batch.inserted` counts what was really new.
    """
    sender, sender_name = sender_identity(settings, org)
    domain = sender.rsplit("@", 1)[-1]
    message_id = f"<{uuid.uuid4().hex}@{domain}>"
    rendered = render_email(template, context)
    # Straight to bytes: the same checks and output as message_bytes(build_message(...)),
    # at a quarter of the CPU (notifications/message_wire.py).
    body = build_message_bytes(
        sender=sender,
        sender_name=sender_name,
        to=to,
        to_name=to_name,
        rendered=rendered,
        message_id=message_id,
        list_unsubscribe_url=list_unsubscribe_url,
        list_unsubscribe_mailto=f"mailto:{sender}?subject=unsubscribe"
        if list_unsubscribe_url
        else None,
        calendar=calendar,
        calendar_method=calendar_method,
    )
    values = {
        "organization_id": org.id if org is not None else None,
        "participant_id": participant.id if participant is not None else None,
        "idempotency_key": idempotency_key,
        "kind": kind,
        "to_address": to,
        "envelope_from": sender,
        "subject": rendered.subject[:300],
        "message_id": message_id,
        "body": body,
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": utcnow(),
        "last_error": "",
        "created_at": utcnow(),
    }
    if batch is not None:
        batch.add(values)
        return True
    return insert_rows(session, [values]) == 1


def insert_rows(session: Session, rows: list[dict[str, Any]]) -> int:
    """One INSERT … ON CONFLICT DO NOTHING for many rows; returns how many were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(_OUTBOX)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .execution_options(preserve_rowcount=True)  # else psycopg's INSERT rowcount is -1
    )
    if len(rows) == 1:
        # The row as parameters rather than VALUES literals: the statement then compiles once
        # per process instead of on every signup.
        return int(session.execute(stmt, rows[0]).rowcount or 0)  # type: ignore[attr-defined]
    return int(session.execute(stmt.values(rows)).rowcount or 0)  # type: ignore[attr-defined]


class EmailBatch:
    """Collects rendered outbox rows and inserts them a few hundred at a time.

    A round queues thousands of emails: one statement per batch instead of one per email.
    Idempotency is unchanged (ON CONFLICT DO NOTHING on each row's key).
    """

    def __init__(self, session: Session, *, size: int = 200) -> None:
        self.session = session
        self.size = size
        self.rows: list[dict[str, Any]] = []
        self.inserted = 0

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if len(self.rows) >= self.size:
            self.flush()

    def flush(self) -> int:
        self.inserted += insert_rows(self.session, self.rows)
        self.rows = []
        return self.inserted


def make_sender(settings: Settings) -> FileSender | SmtpSender:
    if settings.email_backend == "file":
        return FileSender(settings.email_file_dir)
    return SmtpSender(
        settings.smtp_host,
        settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        security=settings.smtp_security,
        timeout=settings.smtp_timeout,
        ca_file=str(settings.smtp_ca_file) if settings.smtp_ca_file else None,
    )


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        return f"sent {self.sent}, will retry {self.retrying}, failed {self.failed}"


def backoff(
    attempts: int, *, cap: int = BACKOFF_CAP_SECONDS, rng: random.Random | None = None
) -> timedelta:
    """Exponential backoff with full jitter, capped."""
    ceiling = min(cap, BACKOFF_BASE_SECONDS * 2 ** min(max(0, attempts - 1), 32))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


@lru_cache(maxsize=4)
def _claim_statement(dialect: str, by_key: bool) -> Update:
    """The claim, built once per process: the clock, limit and keys are bound per call."""
    now = bindparam("now")
    due = or_(
        (_OUTBOX.c.status == "pending") & (_OUTBOX.c.next_attempt_at <= now),
        (_OUTBOX.c.status == "sending") & (_OUTBOX.c.lease_until < now),
    )
    query = select(_OUTBOX.c.id).where(due).order_by(_OUTBOX.c.id).limit(bindparam("limit"))
    if by_key:
        query = query.where(_OUTBOX.c.idempotency_key.in_(bindparam("keys", expanding=True)))
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return (
        update(_OUTBOX)
        .where(_OUTBOX.c.id.in_(query))
        .values(
            status="sending", lease_until=bindparam("lease_end"), attempts=_OUTBOX.c.attempts + 1
        )
        .returning(*_CLAIMED)
    )


def claim(
    session: Session, *, now: datetime, limit: int, keys: Iterable[str] | None = None
) -> list[Row[Any]]:
    """Lease up to `limit` due rows (expired leases count as due); other workers skip them.

    One statement (UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING), so it
    is atomic even outside a transaction: the email sent right after a signup costs a single
    round trip to claim. Returns what sending needs of each row (see _CLAIMED), by id.
    """
    statement = _claim_statement(session.get_bind().dialect.name, keys is not None)
    params: dict[str, Any] = {"now": now, "limit": limit, "lease_end": now + LEASE}
    if keys is not None:
        params["keys"] = list(keys)
    leased = session.execute(statement, params).all()
    return sorted(leased, key=lambda row: row.id)


def deliver_due(
    factory: sessionmaker[Session],
    sender: FileSender | SmtpSender,
    *,
    limit: int = 500,
    keys: Iterable[str] | None = None,
    now: datetime | None = None,
) -> DeliveryReport:
    """Send what is due (or just the rows with these idempotency keys), committing each
    outcome on its own so a crash loses nothing."""
    report = DeliveryReport()
    now = now or utcnow()
    with factory() as session, session.begin():
        _autocommit(session)  # one statement: no BEGIN and COMMIT round trips around it
        rows = claim(session, now=now, limit=limit, keys=keys)
        batch = [
            (row.id, row.body, row.envelope_from, row.to_address, row.attempts, row.created_at)
            for row in rows
        ]
    if not batch:
        return report
    unreachable = 0
    with sender:
        for index, (row_id, body, envelope_from, to_address, attempts, created) in enumerate(batch):
            if unreachable >= RELAY_DOWN_AFTER:
                # The relay looks down (refused, timing out): stop instead of spending a
                # timeout on every remaining row while their leases run out.
                untried = [row[0] for row in batch[index:]]
                _release(factory, untried)
                report.retrying += len(untried)
                break
            try:
                sender.send(body, envelope_from=envelope_from, recipients=[to_address])
            except PermanentSendError as exc:
                unreachable = 0
                _mark(factory, row_id, status="failed", error=str(exc), undeliverable=True)
                report.failed += 1
                report.errors.append(f"{to_address}: {exc}")
            except TransientSendError as exc:
                # No SMTP reply at all (refused, timed out, TLS): the relay, not this message.
                no_reply = exc.code is None
                unreachable = unreachable + 1 if no_reply else 0
                if no_reply:
                    give_up = created < now - RELAY_OUTAGE_LIMIT
                    retry_in = backoff(attempts, cap=RELAY_RETRY_CAP_SECONDS)
                else:
                    give_up = attempts >= MAX_ATTEMPTS
                    retry_in = backoff(attempts)
                status = "failed" if give_up else "pending"
                # From the pass's clock (tests move it forward), never before the wall clock.
                retry_at = max(now, utcnow()) + retry_in
                _mark(factory, row_id, status=status, error=str(exc), retry_at=retry_at)
                if status == "failed":
                    report.failed += 1
                else:
                    report.retrying += 1
                report.errors.append(f"{to_address}: {exc}")
            else:
                unreachable = 0
                _mark(factory, row_id, status="sent")
                report.sent += 1
    return report


def _connection_lost(exc: DBAPIError) -> bool:
    return exc.connection_invalidated or isinstance(exc, OperationalError)


def _autocommit(session: Session) -> None:
    """Run this session's statements each on its own (for a lone atomic statement)."""
    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})


def _record(
    factory: sessionmaker[Session],
    work: Callable[[Session], None],
    *,
    single_statement: bool = False,
) -> None:
    """Run `work` in a transaction of its own, riding out a database restart.

    Both writers below are idempotent (plain UPDATEs to fixed values, or guarded by status),
    so running one again after a commit whose acknowledgement was lost changes nothing.
    """
    deadline = time.monotonic() + DB_RETRY_SECONDS
    pause = 0.25
    while True:
        try:
            with factory() as session, session.begin():
                if single_statement:
                    _autocommit(session)
                work(session)
            return
        except DBAPIError as exc:
            if not _connection_lost(exc) or time.monotonic() + pause > deadline:
                raise
            log.warning(
                "outbox: database unavailable (%s); retrying in %.1f s",
                first_line(exc.orig or exc),
                pause,
            )
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _release(factory: sessionmaker[Session], row_ids: list[int]) -> None:
    """Give back claimed rows that were never tried: due again, the attempt not counted."""

    def work(session: Session) -> None:
        session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id.in_(row_ids), _OUTBOX.c.status == "sending")
            .values(status="pending", lease_until=None, attempts=_OUTBOX.c.attempts - 1)
        )

    _record(factory, work, single_statement=True)


@lru_cache(maxsize=8)
def _mark_statement(columns: tuple[str, ...]) -> Update:
    """UPDATE of one row's outcome, built once per set of columns (Core: no ORM sync)."""
    values = {name: bindparam(f"new_{name}") for name in columns}
    return update(_OUTBOX).where(_OUTBOX.c.id == bindparam("row_id")).values(values)


def _mark(
    factory: sessionmaker[Session],
    row_id: int,
    *,
    status: str,
    error: str = "",
    retry_at: datetime | None = None,
    undeliverable: bool = False,
) -> None:
    values: dict[str, Any] = {"status": status, "lease_until": None, "last_error": error[:2000]}
    if status == "sent":
        values["sent_at"] = utcnow()
    if retry_at is not None and status == "pending":
        values["next_attempt_at"] = retry_at

    def work(session: Session) -> None:
        session.execute(
            _mark_statement(tuple(values)),
            {"row_id": row_id, **{f"new_{name}": value for name, value in values.items()}},
        )
        if undeliverable:
            participant_id = session.scalar(
                select(OutboxMessage.participant_id).where(OutboxMessage.id == row_id)
            )
            if participant_id is not None:
                session.execute(
                    update(Participant)
                    .where(Participant.id == participant_id)
                    .values(undeliverable=True)
                )

    _record(factory, work, single_statement=not undeliverable)
    if error:
        log.warning("outbox message %s: %s (%s)", row_id, status, error)
