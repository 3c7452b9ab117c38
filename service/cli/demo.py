"""demo: a ready-to-explore hospital with a topic catalog, a login and synthetic staff."""

from __future__ import annotations

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import accounts
from service.cli.database import fail, load_settings, open_database
from service.errors import DomainError
from service.models import AdminAccount, Organization
from service.participants import csv_io
from service.topics import seed_topics

DEMO_SLUG = "demo"
DEMO_NAME = "Demo General Hospital"
DEMO_TIMEZONE = "America/New_York"
DEMO_DOMAIN = "demo.example"
DEMO_ADMIN_EMAIL = f"lead@{DEMO_DOMAIN}"
DEFAULT_PASSWORD = "demo-password"


def _organization(session: Session) -> tuple[Organization, bool]:
    org = session.scalar(select(Organization).where(Organization.slug == DEMO_SLUG))
    if org is not None:
        return org, False
    org = Organization(
        slug=DEMO_SLUG, name=DEMO_NAME, timezone=DEMO_TIMEZONE, allowed_email_domains=[]
    )
    session.add(org)
    session.flush()
    return org, True


def _admin(session: Session, org: Organization, password: str) -> bool:
    """Create the demo login, or reset its password so the printed one always works."""
    account = session.scalar(select(AdminAccount).where(AdminAccount.email == DEMO_ADMIN_EMAIL))
    if account is None:
        accounts.create_admin(
            session,
            email=DEMO_ADMIN_EMAIL,
            password=password,
            organization=org,
            full_name="Demo wellness lead",
        )
        return True
    account.password_hash = accounts.hash_password(password)
    account.is_active = True
    account.failed_login_count = 0
    account.locked_until = None
    if not account.is_super:
        account.organization_id = org.id
    session.flush()
    return False


def _cohort(n_people: int, seed: int) -> list[dict[str, str]]:
    from matching.datasets import make_hospital_cohort  # NumPy work only when asked for

    try:
        return make_hospital_cohort(n_people, random_state=seed, organization_domain=DEMO_DOMAIN)
    except ValueError as exc:
        raise fail(f"cannot generate {n_people} demo participants: {exc}") from None


def demo(
    admin_password: str = typer.Option(
        DEFAULT_PASSWORD,
        "--admin-password",
        envvar="ADMIN_PASSWORD",
        help="Password of the demo wellness lead lead@demo.example (at least 10 characters).",
    ),
    participants: int = typer.Option(
        200, "--participants", min=0, max=20_000, help="How many synthetic participants."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed of the synthetic cohort."),
) -> None:
    """Set up a demo hospital: organization 'demo', topics, a login and synthetic staff.

    Creates the database schema if needed, and is safe to run again: the organization, the
    topic catalog, the login and the participants are updated in place, never duplicated.
    The login's password is set to --admin-password every time.
    """
    settings = load_settings()
    rows = _cohort(participants, seed)
    with open_database(migrate=True) as factory:
        try:
            with factory.begin() as session:
                org, org_created = _organization(session)
                topics = seed_topics(session, org)
                admin_created = _admin(session, org, admin_password)
                validation = csv_io.validate_records(enumerate(rows, start=2), organization=org)
                if validation.errors:
                    problems = "; ".join(str(e) for e in validation.errors[:5])
                    raise fail(f"the demo data generator produced invalid rows: {problems}")
                imported = csv_io.import_participants(
                    session, org, validation.rows, active=True, source="demo"
                )
        except DomainError as exc:
            raise fail(exc.message) from None

    base = settings.base_url
    echo = typer.echo
    state = "created" if org_created else "already there"
    echo(f"Organization '{DEMO_SLUG}' ({org.name}): {state}.")
    echo(
        f"Topic catalog: {topics.created} added, {topics.updated} updated, "
        f"{topics.unchanged} unchanged."
    )
    echo(
        f"Participants: {imported.created} created, {imported.updated} updated, "
        f"{imported.unchanged} unchanged (synthetic, seed {seed})."
    )
    echo(f"Wellness-lead login {'created' if admin_created else 'updated'}:")
    echo(f"  email:    {DEMO_ADMIN_EMAIL}")
    echo(f"  password: {admin_password}")
    echo(f"Signup page: {base}/o/{DEMO_SLUG}/join")
    echo(f"Admin:       {base}/admin")
    if settings.email_backend == "file":
        echo(f"Emails are written as .eml files to {settings.email_file_dir.resolve()}")
    else:
        echo(f"Emails are sent through SMTP {settings.smtp_host}:{settings.smtp_port}")
    echo("Next: coffeerounds serve")
