"""Creating organizations (hospitals or health systems), from the CLI or the dashboard."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.errors import InvalidInput
from service.models import Organization
from service.participants.schemas import known_timezones
from service.text_rules import check_text

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
DOMAIN = re.compile(r"^(?=.{3,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def parse_domains(text: str) -> list[str]:
    """`stmarys.org, @stmarys-health.org` → ['stmarys.org', 'stmarys-health.org']."""
    return [d.strip().lower().lstrip("@") for d in re.split(r"[\s,;]+", text) if d.strip()]


def create_organization(
    session: Session, *, slug: str, name: str, timezone: str, domains: list[str]
) -> Organization:
    errors: dict[str, str] = {}
    slug = slug.strip().lower()
    name = " ".join(name.split())
    if not SLUG.match(slug):
        errors["slug"] = "2-63 lowercase letters, digits or hyphens, e.g. stmarys"
    elif session.scalar(select(Organization.id).where(Organization.slug == slug)) is not None:
        errors["slug"] = f"an organization '{slug}' exists already"
    if not name or len(name) > 200 or check_text(name):
        errors["name"] = "a name of 1-200 characters on one line"
    if timezone not in known_timezones():
        errors["timezone"] = f"'{timezone[:64]}' is not a known time zone"
    bad = [d for d in domains if not DOMAIN.match(d)]
    if bad:
        errors["domains"] = f"not an email domain: {', '.join(bad[:3])}"
    if errors:
        raise InvalidInput("Please check the organization's details.", fields=errors)
    org = Organization(slug=slug, name=name, timezone=timezone, allowed_email_domains=domains)
    session.add(org)
    session.flush()
    return org
