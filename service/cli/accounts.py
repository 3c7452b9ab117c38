"""create-org, create-admin and create-token."""

from __future__ import annotations

import re

import typer

from service import accounts
from service.cli.database import fail, open_database
from service.errors import DomainError, InvalidInput
from service.organizations import create_organization, parse_domains
from service.participants.service import get_organization

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


def create_org(
    slug: str = typer.Argument(..., help="Short name used in URLs, e.g. stmarys."),
    name: str = typer.Option(..., "--name", help="The hospital's name as people know it."),
    timezone: str = typer.Option("UTC", help="IANA time zone, e.g. America/New_York."),
    domains: str = typer.Option("", help="Allowed signup email domains, comma-separated."),
) -> None:
    """Create an organization (a hospital or health system)."""
    with open_database() as factory:
        try:
            with factory.begin() as session:
                create_organization(
                    session, slug=slug, name=name, timezone=timezone, domains=parse_domains(domains)
                )
        except InvalidInput as exc:
            problems = "; ".join(f"{field}: {message}" for field, message in exc.fields.items())
            raise fail(problems or exc.message) from None
    typer.echo(f"Created organization '{slug}'. Signup page: /o/{slug}/join")


def create_admin(
    email: str = typer.Argument(..., help="The wellness lead's email (their login)."),
    org: str | None = typer.Option(None, "--org", help="Organization slug."),
    super_admin: bool = typer.Option(False, "--super", help="Super admin of all organizations."),
    password: str = typer.Option(
        ..., prompt=True, hide_input=True, confirmation_prompt=True, envvar="ADMIN_PASSWORD"
    ),
) -> None:
    """Create a wellness-lead login (organization admin, or --super)."""
    if org is None and not super_admin:
        raise fail("give --org SLUG, or --super for a super admin")
    with open_database() as factory:
        try:
            with factory.begin() as session:
                organization = get_organization(session, org) if org else None
                accounts.create_admin(
                    session,
                    email=email,
                    password=password,
                    organization=organization,
                    is_super=super_admin,
                )
        except DomainError as exc:
            raise fail(exc.message) from None
    typer.echo(f"Created {'super ' if super_admin else ''}admin {email.strip().lower()}.")


def create_token(
    org: str = typer.Option(..., "--org", help="Organization slug."),
    name: str = typer.Option("API token", "--name", help="What the token is for."),
) -> None:
    """Create an API token for /api/v1 (shown once; only its hash is stored)."""
    with open_database() as factory:
        try:
            with factory.begin() as session:
                raw = accounts.create_api_token(
                    session, organization=get_organization(session, org), name=name
                )
        except DomainError as exc:
            raise fail(exc.message) from None
    typer.echo(raw)
