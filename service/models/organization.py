"""A hospital or health system running its own programme."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, CheckConstraint, Float, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column

from service.db import Base, UtcDateTime, utcnow

DEFAULT_MEETING_URL_TEMPLATE = "https://meet.jit.si/CoffeeRounds-{room}"


class Organization(Base):
    __tablename__ = "organization"
    __table_args__ = (
        CheckConstraint("min_group_size >= 2 AND max_group_size >= min_group_size", "group_sizes"),
        CheckConstraint("round_weekday BETWEEN 0 AND 6", "round_weekday"),
        CheckConstraint("round_week_of_month BETWEEN 1 AND 4", "round_week_of_month"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    # Empty list: anyone may sign up; otherwise only these email domains.
    allowed_email_domains: Mapped[list[str]] = mapped_column(JSON, default=list)

    # Round settings (wellness leads edit these in the dashboard).
    min_group_size: Mapped[int] = mapped_column(Integer, default=3)
    max_group_size: Mapped[int] = mapped_column(Integer, default=4)
    round_weekday: Mapped[int] = mapped_column(Integer, default=0)  # Monday
    round_week_of_month: Mapped[int] = mapped_column(Integer, default=1)  # first
    round_hour: Mapped[int] = mapped_column(Integer, default=9)
    round_minute: Mapped[int] = mapped_column(Integer, default=0)
    schedule_window_start_day: Mapped[int] = mapped_column(Integer, default=8)
    schedule_window_end_day: Mapped[int] = mapped_column(Integer, default=21)
    meeting_minutes: Mapped[int] = mapped_column(Integer, default=30)
    meeting_url_template: Mapped[str] = mapped_column(
        String(300), default=DEFAULT_MEETING_URL_TEMPLATE
    )
    sender_name: Mapped[str] = mapped_column(String(120), default="")
    sender_email: Mapped[str] = mapped_column(String(254), default="")
    # When set, the scheduler prepares the round as a preview and waits for a wellness lead
    # to approve it in the dashboard; otherwise it sends at the round time.
    require_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    weight_interests: Mapped[float] = mapped_column(Float, default=1.0)
    weight_mentoring: Mapped[float] = mapped_column(Float, default=1.0)
    weight_seniority_mix: Mapped[float] = mapped_column(Float, default=1.0)
    weight_cross_department: Mapped[float] = mapped_column(Float, default=1.0)

    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow)

    def accepts_email(self, email: str) -> bool:
        if not self.allowed_email_domains:
            return True
        domain = email.rsplit("@", 1)[-1].lower()
        return any(
            domain == allowed or domain.endswith("." + allowed)
            for allowed in (d.lower() for d in self.allowed_email_domains)
        )
