"""Clinicians taking part, and whom they never want to be grouped with."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from service.db import Base, UtcDateTime, utcnow

ROLES = ("attending", "fellow", "resident", "student", "nurse", "np_pa", "other")
MENTORING = ("offer", "seek", "both", "none")
STATUSES = ("pending", "active", "paused", "left", "deleted")


class Participant(Base):
    __tablename__ = "participant"
    __table_args__ = (
        UniqueConstraint("organization_id", "email"),
        CheckConstraint(f"status IN {STATUSES}", "status"),
        CheckConstraint(f"role IN {ROLES}", "role"),
        CheckConstraint(f"mentoring IN {MENTORING}", "mentoring"),
        # The dashboard's participant list, by name: any page without sorting everyone.
        Index("ix_participant_org_name", "organization_id", "full_name", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    email: Mapped[str] = mapped_column(String(254))
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    specialty: Mapped[str] = mapped_column(String(120), default="")
    department: Mapped[str] = mapped_column(String(120), default="")
    site: Mapped[str] = mapped_column(String(120), default="")
    interests: Mapped[list[str]] = mapped_column(JSON, default=list)
    goals: Mapped[str] = mapped_column(Text, default="")
    mentoring: Mapped[str] = mapped_column(String(8), default="none")
    can_teach: Mapped[list[str]] = mapped_column(JSON, default=list)
    wants_to_learn: Mapped[list[str]] = mapped_column(JSON, default=list)
    timezone: Mapped[str] = mapped_column(String(64))
    # [[weekday 0=Mon, start_minute, end_minute], ...] in the participant's own time zone;
    # end_minute > 1440 when a window runs past midnight.
    availability: Mapped[list[list[int]]] = mapped_column(JSON, default=list)

    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)
    paused_until: Mapped[date | None] = mapped_column(Date)
    include_in_exports: Mapped[bool] = mapped_column(Boolean, default=True)
    # Colleagues may ask to be introduced to them (warm introductions).
    accepts_introductions: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=true()
    )
    undeliverable: Mapped[bool] = mapped_column(Boolean, default=False)
    # Not placed last month: placed first next month.
    priority: Mapped[bool] = mapped_column(Boolean, default=False)
    # Bumped on leave/delete/re-confirm so that older signed links stop working.
    link_version: Mapped[int] = mapped_column(Integer, default=0)
    source: Mapped[str] = mapped_column(String(16), default="signup")

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, onupdate=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime)

    avoid_entries: Mapped[list[AvoidEntry]] = relationship(
        back_populates="participant",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="AvoidEntry.email",
    )

    @property
    def avoid_emails(self) -> list[str]:
        return [entry.email for entry in self.avoid_entries]


class AvoidEntry(Base):
    """Someone a participant must never be grouped with (by email, so it holds before they join)."""

    __tablename__ = "avoid_entry"

    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True
    )
    email: Mapped[str] = mapped_column(String(254), primary_key=True)

    participant: Mapped[Participant] = relationship(back_populates="avoid_entries")


class ParticipantFacet(Base):
    """How many participants (deleted ones aside) an organization has per department and site.

    Written only by database triggers on ``participant`` (migration 0005), in the same
    transaction as the change, so it is always exact. The participant list reads its filter
    choices and its total here: a scan of every profile row on each view cost 9 ms of
    database CPU at 12,000 people, and an index on those columns stopped helping as soon as
    edits cleared the visibility map. A count is the sum of ``people`` over its stripes
    (PostgreSQL connections write different stripes, so signups never queue on one row).
    """

    __tablename__ = "participant_facet"

    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), primary_key=True
    )
    department: Mapped[str] = mapped_column(String(120), primary_key=True)
    site: Mapped[str] = mapped_column(String(120), primary_key=True)
    stripe: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    people: Mapped[int] = mapped_column(Integer)
