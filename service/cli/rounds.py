"""round and scheduler."""

from __future__ import annotations

import logging

import typer

from service.cli.database import fail, load_settings, open_database
from service.db import utcnow
from service.errors import DomainError
from service.links import LinkSigner
from service.models import Organization
from service.participants.service import get_organization
from service.rounds import jobs
from service.rounds.create import plan_round
from service.rounds.timing import format_local, parse_month


def round_command(
    org_slug: str = typer.Argument(..., help="Organization slug."),
    month: str | None = typer.Option(None, "--month", help="YYYY-MM (default: this month)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the groups; change nothing."),
    seed: int = typer.Option(0, "--seed", help="Random seed of the matcher."),
    time_limit: float | None = typer.Option(None, "--time-limit", help="Matcher seconds."),
) -> None:
    """Run (or preview) an organization's monthly round by hand: the scheduler's own code."""
    settings = load_settings()
    links = LinkSigner(settings.secret_key.get_secret_value())
    now = utcnow()
    with open_database() as factory:
        with factory() as session:
            try:
                org = get_organization(session, org_slug)
            except DomainError as exc:
                raise fail(exc.message) from None
            month = month or jobs.current_month(org, now)
            try:
                parse_month(month)
            except ValueError as exc:
                raise fail(str(exc)) from None
            if dry_run:
                _print_plan(
                    plan_round(session, org, month, seed=seed, now=now, time_limit=time_limit), org
                )
                session.rollback()
                return
            org_id = org.id
        run = jobs.run_round(
            factory, settings, links, org_id, month, seed=seed, now=now, time_limit=time_limit
        )
    if run is None:
        raise fail("the organization disappeared")
    if not run.created:
        typer.echo(
            f"The {month} round of {org_slug} exists already "
            f"(status {run.round.status}); nothing to do."
        )
        return
    stats = run.round.stats
    typer.echo(
        f"Made the {month} round of {org_slug}: {stats.get('n_groups', 0)} groups, "
        f"{stats.get('unplaced', 0)} not placed, {run.emails_queued} emails queued. "
        "They go out with the scheduler's next outbox run, or now with `coffeerounds send-outbox`."
    )


def _print_plan(plan: object, org: Organization) -> None:
    from service.rounds.create import RoundPlan

    assert isinstance(plan, RoundPlan)
    for number, group in enumerate(plan.groups, start=1):
        when = format_local(group.start, org.timezone)
        note = "" if group.everyone_available else "  (no time everyone listed)"
        topic = group.matched.topic.title if group.matched.topic else "open conversation"
        typer.echo(f"Group {number} · {topic} · {when} {org.timezone}{note}")
        for person in group.members:
            typer.echo(
                f"    {person.full_name} <{person.email}> {person.role}, {person.department}"
            )
        typer.echo(f"    why: {group.matched.reason}")
    stats = plan.stats()
    typer.echo(
        f"\n{stats['n_people']} people, {len(plan.groups)} groups {stats['group_sizes']}, "
        f"{len(plan.unplaced)} not placed, repeats {len(stats['repeats'])}, "  # type: ignore[arg-type]
        f"no common time {stats['groups_without_common_time']}. Dry run: nothing was saved."
    )
    for warning in plan.warnings:
        typer.echo(f"warning: {warning}")


def scheduler() -> None:
    """Run the scheduler process (exactly one per deployment)."""
    from service import log_redaction
    from service.scheduler import run_forever

    settings = load_settings()
    log_redaction.install()  # job errors may quote links from emails
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    with open_database() as factory:
        run_forever(factory, settings, LinkSigner(settings.secret_key.get_secret_value()))
