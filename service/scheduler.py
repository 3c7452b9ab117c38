"""The one scheduler process (`coffeerounds scheduler`); never started by web workers.

APScheduler 3 with its in-memory job store: the jobs are declared here, with explicit ids,
and all durable state lives in our own tables. Missed runs are coalesced and may run hours
late; on start a catch-up makes any round whose time has passed. Running a job twice is
harmless: the database decides (unique round per organization and month, idempotency keys).
"""

from __future__ import annotations

import logging
import signal
from datetime import UTC
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.introductions import jobs as introduction_jobs
from service.links import LinkSigner
from service.models import Organization
from service.rounds import jobs

log = logging.getLogger("coffeerounds.scheduler")

JOB_DEFAULTS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": 12 * 3600}
ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th"}
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def round_trigger(org: Organization) -> CronTrigger:
    """E.g. the first Monday of every month at 09:00 in the hospital's own time zone."""
    return CronTrigger(
        day=f"{ORDINALS[org.round_week_of_month]} {WEEKDAYS[org.round_weekday]}",
        hour=org.round_hour,
        minute=org.round_minute,
        timezone=ZoneInfo(org.timezone),
    )


def sync_round_jobs(
    scheduler: BaseScheduler,
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
) -> None:
    """One cron job per organization; re-read so new organizations and edited settings apply."""
    with factory() as session:
        orgs = list(session.scalars(select(Organization)))
    wanted = set()
    for org in orgs:
        job_id = f"round:{org.slug}"
        wanted.add(job_id)
        scheduler.add_job(
            jobs.run_due_rounds,
            round_trigger(org),
            id=job_id,
            name=f"monthly round for {org.slug}",
            args=[factory, settings, links],
            kwargs={"org_id": org.id},
            replace_existing=True,
        )
    for job in scheduler.get_jobs():
        if job.id.startswith("round:") and job.id not in wanted:
            job.remove()


def build_scheduler(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone=UTC, job_defaults=JOB_DEFAULTS)
    scheduler.add_job(
        jobs.dispatch_outbox,
        IntervalTrigger(seconds=settings.outbox_interval_seconds),
        id="outbox",
        name="send queued email",
        args=[factory, settings],
        replace_existing=True,
    )
    scheduler.add_job(
        jobs.send_followups,
        IntervalTrigger(seconds=settings.followups_interval_seconds),
        id="followups",
        name="reminders, check-ins and follow-ups",
        args=[factory, settings, links],
        replace_existing=True,
    )
    scheduler.add_job(
        jobs.resume_paused,
        CronTrigger(hour="*/6", minute=5, timezone=UTC),
        id="resume-paused",
        name="resume participants whose pause ended",
        args=[factory],
        replace_existing=True,
    )
    scheduler.add_job(
        introduction_jobs.expire_unanswered,
        IntervalTrigger(minutes=15),
        id="introductions",
        name="pass unanswered introduction requests on to the next colleague",
        args=[factory, settings, links],
        replace_existing=True,
    )
    scheduler.add_job(
        sync_round_jobs,
        IntervalTrigger(seconds=settings.round_sync_interval_seconds),
        id="sync-round-jobs",
        name="pick up new organizations and changed round times",
        args=[scheduler, factory, settings, links],
        replace_existing=True,
    )
    sync_round_jobs(scheduler, factory, settings, links)

    def _report(event: JobExecutionEvent) -> None:
        # One line per run, with the slot it ran for: how operators (and the multi-worker
        # test) see that each job fires once per period.
        scheduled = event.scheduled_run_time.isoformat(timespec="seconds")
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run at %s", event.job_id, scheduled)
        elif event.exception is not None:
            log.error("job %s failed (run of %s): %r", event.job_id, scheduled, event.exception)
        else:
            log.info("job %s ran (run of %s)", event.job_id, scheduled)

    scheduler.add_listener(_report, EVENT_JOB_MISSED | EVENT_JOB_ERROR | EVENT_JOB_EXECUTED)
    return scheduler


def catch_up(factory: sessionmaker[Session], settings: Settings, links: LinkSigner) -> None:
    """Before the first tick: make any round that is overdue, then deliver what is queued.

    A failure here is logged, not fatal: the periodic jobs try the same work again, and a
    scheduler that exits on start would leave the outbox unsent until someone notices.
    """
    try:
        runs = jobs.run_due_rounds(factory, settings, links)
    except Exception:
        log.exception("catch-up: making overdue rounds failed; the round jobs will retry")
    else:
        for run in runs:
            made = "made" if run.created else "existed"
            log.info("catch-up: round %s (%s)", run.round.month, made)
    try:
        jobs.resume_paused(factory)
        jobs.dispatch_outbox(factory, settings)
    except Exception:
        log.exception("catch-up: resuming or sending failed; the periodic jobs will retry")


def run_forever(factory: sessionmaker[Session], settings: Settings, links: LinkSigner) -> None:
    scheduler = build_scheduler(factory, settings, links)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after running jobs finish", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    # Our listener logs one line per run; APScheduler's own two lines per run are noise.
    logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
    catch_up(factory, settings, links)
    log.info("scheduler started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    scheduler.start()


def describe(scheduler: BaseScheduler) -> list[dict[str, Any]]:
    return [
        {"id": job.id, "name": job.name, "trigger": str(job.trigger)}
        for job in scheduler.get_jobs()
    ]
