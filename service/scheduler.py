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

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
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
        IntervalTrigger(minutes=1),
        id="outbox",
        name="send queued email",
        args=[factory, settings],
        replace_existing=True,
    )
    scheduler.add_job(
        jobs.send_followups,
        IntervalTrigger(minutes=15),
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
        sync_round_jobs,
        IntervalTrigger(minutes=5),
        id="sync-round-jobs",
        name="pick up new organizations and changed round times",
        args=[scheduler, factory, settings, links],
        replace_existing=True,
    )
    sync_round_jobs(scheduler, factory, settings, links)

    def _report(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run at %s", event.job_id, event.scheduled_run_time)
        elif event.exception is not None:
            log.error("job %s failed: %r", event.job_id, event.exception)

    scheduler.add_listener(_report, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
    return scheduler


def catch_up(factory: sessionmaker[Session], settings: Settings, links: LinkSigner) -> None:
    """Before the first tick: make any round that is overdue, then deliver what is queued."""
    runs = jobs.run_due_rounds(factory, settings, links)
    for run in runs:
        log.info("catch-up: round %s (%s)", run.round.month, "made" if run.created else "existed")
    jobs.resume_paused(factory)
    jobs.dispatch_outbox(factory, settings)


def run_forever(factory: sessionmaker[Session], settings: Settings, links: LinkSigner) -> None:
    scheduler = build_scheduler(factory, settings, links)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: stopping after running jobs finish", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    catch_up(factory, settings, links)
    log.info("scheduler started: %s", ", ".join(job.id for job in scheduler.get_jobs()))
    scheduler.start()


def describe(scheduler: BaseScheduler) -> list[dict[str, Any]]:
    return [
        {"id": job.id, "name": job.name, "trigger": str(job.trigger)}
        for job in scheduler.get_jobs()
    ]
