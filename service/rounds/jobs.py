"""The scheduled work. Each job opens its own transaction(s); all of them are safe to run
twice or late, because the database (unique keys, idempotency keys) decides what happens."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from service import outbox
from service.config import Settings
from service.db import utcnow
from service.links import LinkSigner
from service.models import MatchGroup, Organization, OutboxMessage, Round
from service.participants.service import resume_due
from service.rounds import invites
from service.rounds.create import RoundRun, create_round, group_views, send_round
from service.rounds.timing import month_of, round_due_at

log = logging.getLogger(__name__)

CHECKIN_AFTER = timedelta(days=2)
FOLLOWUP_AFTER = timedelta(days=16)
REMINDER_BEFORE = timedelta(hours=24)
# Do not chase meetings older than this (e.g. after a long outage).
STALE_AFTER = timedelta(days=35)


def current_month(org: Organization, now: datetime) -> str:
    return month_of(now.astimezone(ZoneInfo(org.timezone)).date())


def run_round(
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
    org_id: int,
    month: str,
    *,
    seed: int = 0,
    now: datetime | None = None,
    time_limit: float | None = None,
) -> RoundRun | None:
    """Create and send one round in one transaction; a concurrent run just finds it made."""
    for attempt in range(3):
        try:
            with factory.begin() as session:
                org = session.get(Organization, org_id)
                if org is None:
                    return None
                run = create_round(
                    session,
                    settings,
                    links,
                    org,
                    month,
                    seed=seed,
                    now=now,
                    time_limit=time_limit,
                    send=not org.require_approval,
                )
                if not run.created and run.round.status == "preview" and not org.require_approval:
                    # A wellness lead looked at a preview but did not send it: the round time
                    # has come, so send it as it stands (their edits included).
                    run.emails_queued = send_round(
                        session, settings, links, org, run.round, now=now
                    )
            if run.created:
                log.info("round %s for %s: %s emails queued", month, org.slug, run.emails_queued)
            return run
        except (IntegrityError, OperationalError) as exc:
            # Another process made the round between our check and our insert (SQLite), or
            # the database was busy: look again; the unique key guarantees one round.
            log.warning(
                "round %s for org %s: retrying after %s", month, org_id, exc.__class__.__name__
            )
            if attempt == 2:
                raise
    return None


def run_due_rounds(
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
    *,
    now: datetime | None = None,
    org_id: int | None = None,
) -> list[RoundRun]:
    """Every organization whose round for this month is due and not made yet: make it now.

    This is both the monthly cron job and the catch-up on scheduler start.
    """
    now = now or utcnow()
    with factory() as session:
        query = select(Organization)
        if org_id is not None:
            query = query.where(Organization.id == org_id)
        due: list[tuple[int, str]] = []
        for org in session.scalars(query):
            month = current_month(org, now)
            status = session.scalar(
                select(Round.status).where(Round.organization_id == org.id, Round.month == month)
            )
            waiting = status is None or (status == "preview" and not org.require_approval)
            if waiting and round_due_at(org, month) <= now:
                due.append((org.id, month))
    runs = []
    for due_org, month in due:
        run = run_round(factory, settings, links, due_org, month, now=now)
        if run is not None:
            runs.append(run)
    return runs


def dispatch_outbox(factory: sessionmaker[Session], settings: Settings) -> outbox.DeliveryReport:
    report = outbox.deliver_due(factory, outbox.make_sender(settings))
    if report.sent or report.failed or report.retrying:
        log.info("outbox: %s", report)
    return report


def resume_paused(factory: sessionmaker[Session], *, now: datetime | None = None) -> int:
    with factory.begin() as session:
        return resume_due(session, today=(now or utcnow()).date())


def send_followups(
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
    *,
    now: datetime | None = None,
) -> dict[str, int]:
    """Reminders the day before, check-ins two days after, follow-ups ~2 weeks after."""
    now = now or utcnow()
    windows = {
        "reminder": and_(
            MatchGroup.meeting_start > now, MatchGroup.meeting_start <= now + REMINDER_BEFORE
        ),
        "checkin": and_(
            MatchGroup.meeting_end <= now - CHECKIN_AFTER,
            MatchGroup.meeting_end > now - STALE_AFTER,
        ),
        "followup": and_(
            MatchGroup.meeting_start <= now - FOLLOWUP_AFTER,
            MatchGroup.meeting_start > now - FOLLOWUP_AFTER - STALE_AFTER,
        ),
    }
    counts = dict.fromkeys(windows, 0)
    with factory.begin() as session:
        for kind, window in windows.items():
            rounds = session.execute(
                select(Round, Organization)
                .join(Organization, Organization.id == Round.organization_id)
                .where(
                    Round.status == "sent",
                    Round.id.in_(select(MatchGroup.round_id).where(window)),
                )
            ).all()
            for round_, org in rounds:
                wanted = set(
                    session.scalars(
                        select(MatchGroup.id).where(window, MatchGroup.round_id == round_.id)
                    )
                )
                done = set(
                    session.scalars(
                        select(OutboxMessage.idempotency_key).where(
                            OutboxMessage.organization_id == org.id,
                            OutboxMessage.kind == kind,
                            OutboxMessage.created_at > now - 2 * STALE_AFTER,
                        )
                    )
                )
                for view in group_views(session, org, round_):
                    if view.group.id in wanted and view.members:
                        counts[kind] += invites.queue_followup(
                            session, settings, links, view, kind=kind, skip_keys=done
                        )
    return counts
