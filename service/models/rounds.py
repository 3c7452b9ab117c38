"""Monthly rounds, their groups, who is in them, topics and feedback."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UtcDateTime, utcnow

ROUND_STATUSES = ("preview", "approved", "sent", "cancelled")
MEMBERSHIP_STATUSES = ("invited", "dropped", "removed")
FEEDBACK_KINDS = ("checkin", "followup")


class Topic(Base):
    __tablename__ = "topic"
    __table_args__ = (UniqueConstraint("organization_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(80))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    starters: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class Round(Base):
    """One organization's round for one month; the unique key makes rounds idempotent."""

    __tablename__ = "round"
    __table_args__ = (
        UniqueConstraint("organization_id", "month"),
        CheckConstraint(f"status IN {ROUND_STATUSES}", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    month: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    status: Mapped[str] = mapped_column(String(12), default="preview")
    seed: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    approved_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    groups: Mapped[list[MatchGroup]] = relationship(
        back_populates="round",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="MatchGroup.number",
    )


class MatchGroup(Base):
    __tablename__ = "match_group"
    __table_args__ = (UniqueConstraint("round_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id", ondelete="SET NULL"))
    # Snapshots: the invite must keep saying what it said even if the catalog changes.
    topic_title: Mapped[str] = mapped_column(String(200), default="")
    starters: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text, default="")
    has_common_slot: Mapped[bool] = mapped_column(Boolean, default=True)
    meeting_start: Mapped[datetime | None] = mapped_column(UtcDateTime)
    meeting_end: Mapped[datetime | None] = mapped_column(UtcDateTime)
    meeting_url: Mapped[str] = mapped_column(String(500), default="")
    ical_uid: Mapped[str] = mapped_column(String(64), unique=True)
    ical_sequence: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)

    round: Mapped[Round] = relationship(back_populates="groups")
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="group", cascade="all, delete-orphan", passive_deletes=True
    )


class Membership(Base):
    __tablename__ = "membership"
    __table_args__ = (
        # Nobody is in two groups of the same round.
        UniqueConstraint("round_id", "participant_id"),
        CheckConstraint(f"status IN {MEMBERSHIP_STATUSES}", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(ForeignKey("round.id", ondelete="CASCADE"), index=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("match_group.id", ondelete="CASCADE"), index=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(12), default="invited")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    group: Mapped[MatchGroup] = relationship(back_populates="memberships")


class Feedback(Base):
    """A check-in (did you meet? rating, one thing learned) or a follow-up answer."""

    __tablename__ = "feedback"
    __table_args__ = (
        UniqueConstraint("membership_id", "kind"),
        CheckConstraint(f"kind IN {FEEDBACK_KINDS}", "kind"),
        CheckConstraint("rating IS NULL OR rating BETWEEN 1 AND 5", "rating"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("membership.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(12))
    met: Mapped[bool | None] = mapped_column(Boolean)
    rating: Mapped[int | None] = mapped_column(Integer)
    learned: Mapped[str] = mapped_column(Text, default="")
    outcomes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
