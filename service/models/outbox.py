"""Side effects waiting to happen (email) and the record of what admins did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from service.db import Base, UtcDateTime, utcnow

OUTBOX_STATUSES = ("pending", "sending", "sent", "failed")


class OutboxMessage(Base):
    """An email rendered once, in the transaction that caused it, and sent later by a job."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint(f"status IN {OUTBOX_STATUSES}", "status"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
        # The dashboard's failed-email count; also every lookup by organization.
        Index("ix_outbox_message_org_status", "organization_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE")
    )
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL"), index=True
    )
    # (kind, group, participant, sequence) or similar: re-running never queues twice.
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    to_address: Mapped[str] = mapped_column(String(254))
    envelope_from: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    message_id: Mapped[str] = mapped_column(String(200))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    lease_until: Mapped[datetime | None] = mapped_column(UtcDateTime)
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class key_ref(FunctionElement[int]):  # noqa: N801 - used like a SQL function
    """The number after the first colon of an idempotency key: the group, membership or round
    a round email belongs to ("invite:<group>:<person>:<seq>", "checkin:<membership>",
    "not_matched:<round>:<person>"); NULL (PostgreSQL) or 0 (SQLite) when there is none.

    Rendered with constants only, never bound parameters, so that both databases recognise
    it as the expression of ``ix_outbox_message_key_ref`` (migration 0004 spells out the same
    SQL) and count a round's emails from that index alone.
    """

    type = Integer()
    inherit_cache = True
    name = "key_ref"


@compiles(key_ref)
def _key_ref_sqlite(element: key_ref, compiler: SQLCompiler, **kw: object) -> str:
    # SQLite casts the leading digits of "12:34:0" to 12.
    key = compiler.process(list(element.clauses)[0], **kw)
    return f"CAST(substr({key}, instr({key}, ':') + 1) AS INTEGER)"


@compiles(key_ref, "postgresql")
def _key_ref_postgresql(element: key_ref, compiler: SQLCompiler, **kw: object) -> str:
    # The digits between the first and the second colon (or the end), as PostgreSQL itself
    # prints the expression back, so that autogenerate sees no difference. Parenthesised: an
    # index lists an expression only in parentheses.
    key = compiler.process(list(element.clauses)[0], **kw)
    return f"(substring({key}::text, '^[^:]*:([0-9]{{1,9}})(:|$)'::text)::integer)"


# Emails per round and status, counted from the index alone (the bodies are large).
Index(
    "ix_outbox_message_key_ref",
    OutboxMessage.organization_id,
    OutboxMessage.kind,
    key_ref(OutboxMessage.idempotency_key),
    OutboxMessage.status,
    OutboxMessage.idempotency_key,
)


class AuditEvent(Base):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_event_org_time", "organization_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE")
    )
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(64), default="")
    before: Mapped[dict[str, object] | None] = mapped_column(JSON)
    after: Mapped[dict[str, object] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
