"""The organization's shared resource library: links colleagues found useful."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UtcDateTime, utcnow

RESOURCE_SOURCES = ("participant", "admin", "import")


class Resource(Base):
    """One shared link. The URL is unique per organization, so a hidden link stays hidden
    even when someone shares it again, and re-importing a CSV never duplicates."""

    __tablename__ = "resource"
    __table_args__ = (
        UniqueConstraint("organization_id", "url"),
        CheckConstraint(f"source IN {RESOURCE_SOURCES}", "source"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organization.id", ondelete="CASCADE"), index=True
    )
    # Who shared it; NULL for imported links and once the sharer deletes their data.
    participant_id: Mapped[int | None] = mapped_column(
        ForeignKey("participant.id", ondelete="SET NULL"), index=True
    )
    # The chat it came out of, when shared from a check-in or follow-up.
    membership_id: Mapped[int | None] = mapped_column(
        ForeignKey("membership.id", ondelete="SET NULL")
    )
    topic_id: Mapped[int | None] = mapped_column(ForeignKey("topic.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(String(2000))
    title: Mapped[str] = mapped_column(String(200))
    why: Mapped[str] = mapped_column(String(300), default="")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(16), default="participant")
    # Kept equal to the number of ResourceVote rows, so "most appreciated" sorts by index.
    useful_count: Mapped[int] = mapped_column(Integer, default=0)
    hidden_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    hidden_by: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)


class ResourceVote(Base):
    """A participant marked a resource useful; the primary key makes it once per person."""

    __tablename__ = "resource_vote"

    resource_id: Mapped[int] = mapped_column(
        ForeignKey("resource.id", ondelete="CASCADE"), primary_key=True
    )
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("participant.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)
