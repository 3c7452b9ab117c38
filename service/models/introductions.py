"""Warm introductions: a participant asks to meet someone who can help, and we ask
the best-fitting colleagues one at a time until one accepts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UtcDateTime, utcnow

REQUEST_STATUSES = ("open", "accepted", "unmatched", "cancelled")
ASK_STATUSES = ("asked", "accepted", "declined", "expired", "withdrawn")
MAX_ASKS_PER_REQUEST = 3


class IntroductionRequest(Base):
    __tablename__ = "introduction_request"
    __table_args__ = (
        CheckConstraint(f"status IN {REQUEST_STATUSES}", "status"),
        Index("ix_introduction_request_requester_status", "requester_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    requester_id: Mapped[int] = mapped_column(ForeignKey("participant.id", ondelete="CASCADE"))
    # What they are looking for, in their own words; never shown on the dashboard.
    need: Mapped[str] = mapped_column(Text)
    skill: Mapped[str] = mapped_column(String(120), default="")
    specialty: Mapped[str] = mapped_column(String(120), default="")
    site: Mapped[str] = mapped_column(String(120), default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    # Set when a candidate accepts: the short call both are invited to.
    meeting_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    meeting_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    meeting_url: Mapped[str] = mapped_column(String(500), default="")
    ical_uid: Mapped[str | None] = mapped_column(String(64), unique=True)
    # Did the introduction call happen? Answered by either side after the meeting.
    met: Mapped[bool | None] = mapped_column(Boolean)

    asks: Mapped[list[IntroductionAsk]] = relationship(
        back_populates="request",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="IntroductionAsk.position",
    )


class IntroductionAsk(Base):
    """One candidate asked for one request; at most three per request, in order."""

    __tablename__ = "introduction_ask"
    __table_args__ = (
        UniqueConstraint("request_id", "candidate_id"),
        UniqueConstraint("request_id", "position"),
        CheckConstraint(f"status IN {ASK_STATUSES}", "status"),
        CheckConstraint(f"position BETWEEN 1 AND {MAX_ASKS_PER_REQUEST}", "position"),
        Index("ix_introduction_ask_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(
        ForeignKey("introduction_request.id", ondelete="CASCADE"), index=True
    )
    candidate_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="asked")
    asked_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    request: Mapped[IntroductionRequest] = relationship(back_populates="asks")
