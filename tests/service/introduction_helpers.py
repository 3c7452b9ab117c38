"""A small hospital for introduction tests: a requester and colleagues who can (or must
never) be asked."""

from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.links import LinkSigner
from service.models import (
    AvoidEntry,
    MatchGroup,
    Membership,
    Organization,
    OutboxMessage,
    Participant,
    Round,
)
from service.public.member import member_path, member_token

# Mondays 12:00-13:00 New York time for everyone with listed times.
LUNCH = [[0, 720, 780], [2, 720, 780]]
GRANT_NEED = "Someone who can teach grant writing: I am applying for my first grant."


def person(
    db: Session, org: Organization, email_address: str, name: str, **fields: Any
) -> Participant:
    values: dict[str, Any] = {
        "organization_id": org.id,
        "email": email_address,
        "full_name": name,
        "role": "attending",
        "timezone": "America/New_York",
        "status": "active",
        "availability": LUNCH,
        "avoid_entries": [],
    }
    values.update(fields)
    participant = Participant(**values)
    db.add(participant)
    db.flush()
    return participant


@dataclass
class Hospital:
    org: Organization
    requester: Participant
    gina: Participant  # teaches grant writing, oncology: the best fit
    omar: Participant  # teaches grant writing and research methods
    priya: Participant  # interested in grant writing
    excluded: dict[str, Participant]  # would fit, but must never be asked
    uma: Participant  # unrelated


def hospital(db: Session, org: Organization) -> Hospital:
    requester = person(
        db,
        org,
        "ann@stmarys.example",
        "Ann Lee",
        role="resident",
        specialty="Cardiology",
        department="Department of Medicine",
        avoid_entries=[AvoidEntry(email="avi@stmarys.example")],
    )
    gina = person(
        db,
        org,
        "gina@stmarys.example",
        "Gina Grant",
        specialty="Oncology",
        department="Cancer Centre",
        site="Main Campus",
        can_teach=["grant writing"],
    )
    omar = person(
        db,
        org,
        "omar@stmarys.example",
        "Omar Okafor",
        specialty="Pulmonology",
        can_teach=["grant writing", "research methods"],
    )
    priya = person(
        db,
        org,
        "priya@stmarys.example",
        "Priya Shah",
        specialty="Nephrology",
        interests=["grant writing", "running"],
        goals="Find collaborators for a grant.",
    )
    other_org = Organization(slug="north", name="North General", timezone="UTC")
    db.add(other_org)
    db.flush()
    excluded = {
        "paused": person(
            db,
            org,
            "paula@stmarys.example",
            "Paula Paused",
            status="paused",
            can_teach=["grant writing"],
        ),
        "opted_out": person(
            db,
            org,
            "olly@stmarys.example",
            "Olly Optout",
            accepts_introductions=False,
            can_teach=["grant writing"],
        ),
        "left": person(
            db, org, "lee@stmarys.example", "Lee Left", status="left", can_teach=["grant writing"]
        ),
        "avoided": person(
            db, org, "avi@stmarys.example", "Avi Avoided", can_teach=["grant writing"]
        ),
        "avoids_requester": person(
            db,
            org,
            "rhea@stmarys.example",
            "Rhea Avoids",
            can_teach=["grant writing"],
            avoid_entries=[AvoidEntry(email="ann@stmarys.example")],
        ),
        "undeliverable": person(
            db,
            org,
            "bounce@stmarys.example",
            "Bo Bounce",
            undeliverable=True,
            can_teach=["grant writing"],
        ),
        "other_org": person(
            db, other_org, "nora@north.example", "Nora North", can_teach=["grant writing"]
        ),
    }
    uma = person(
        db,
        org,
        "uma@stmarys.example",
        "Uma Ukulele",
        can_teach=["ukulele"],
        specialty="Dermatology",
    )
    db.commit()
    return Hospital(org, requester, gina, omar, priya, excluded, uma)


def shared_group(db: Session, org: Organization, *people: Participant) -> None:
    """Put these people in one group of a past round (they have met)."""
    round_ = Round(organization_id=org.id, month="2026-10", status="sent")
    db.add(round_)
    db.flush()
    group = MatchGroup(round_id=round_.id, number=1, ical_uid=f"g{round_.id}@test")
    db.add(group)
    db.flush()
    for p in people:
        db.add(Membership(round_id=round_.id, group_id=group.id, participant_id=p.id))
    db.commit()


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def intro_page(org: Organization, links: LinkSigner, p: Participant) -> str:
    return member_path(org, member_token(links, p), "introductions")


def ask_for(client: TestClient, path: str, **fields: str) -> Any:
    """Send the new-request form the way a browser does (CSRF token from the page)."""
    data = {"need": GRANT_NEED, "skill": "", "specialty": "", "site": "", **fields}
    data["csrf_token"] = csrf_of(client.get(path).text)
    return client.post(path, data=data, follow_redirects=False)


def outbox(db: Session, kind: str | None = None) -> list[tuple[OutboxMessage, EmailMessage]]:
    db.expire_all()
    query = select(OutboxMessage).order_by(OutboxMessage.id)
    if kind is not None:
        query = query.where(OutboxMessage.kind == kind)
    found = []
    for row in db.scalars(query):
        parsed = email.message_from_bytes(row.body, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        found.append((row, parsed))
    return found


def link_in(message: EmailMessage, marker: str) -> str:
    """The path of the first link in the text part containing `marker`."""
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    for match in re.finditer(r"https?://[^/\s]+(/o/\S+)", str(part.get_content())):
        if marker in match.group(1):
            return match.group(1).rstrip(".,)>")
    raise AssertionError(f"no link with {marker!r}")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


NOW = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)  # a Tuesday
