"""The member link: a participant's long-lived door to the library, introductions and record."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from notifications import FileSender
from service import outbox
from service.links import LinkSigner
from service.models import Organization
from service.public.member import member_path, member_token
from service.rounds.create import create_round
from tests.conftest import email_text, read_emails
from tests.service.round_fixtures import make_org
from tests.service.round_links_helpers import PEOPLE, round_time
from tests.service.test_public_manage import active_participant


def test_member_home_lists_the_three_doors(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    page = client.get(member_path(org, member_token(links, person)))
    assert page.status_code == 200
    assert "Resource library" in page.text
    assert "Ask for an introduction" in page.text
    assert "participation record" in page.text
    assert page.headers["cache-control"].startswith("no-store")


def test_member_link_stops_working_after_leaving(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    token = member_token(links, person)
    person.status = "left"
    person.link_version += 1
    db.commit()
    page = client.get(member_path(org, token))
    assert page.status_code in (400, 410)
    assert "no longer valid" in page.text


def test_a_manage_link_token_is_not_a_member_link(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    person = active_participant(db, org)
    token = links.make("manage", participant_id=person.id, version=person.link_version)
    assert client.get(member_path(org, token)).status_code == 400


def test_member_link_of_another_organization_is_refused(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    other = Organization(slug="north", name="North General", timezone="UTC")
    db.add(other)
    db.commit()
    person = active_participant(db, org)
    assert client.get(member_path(other, member_token(links, person))).status_code == 400


def test_every_monthly_invite_carries_a_working_member_link(
    app: FastAPI, client: TestClient, outbox_dir: Path
) -> None:
    month, now = round_time(1)
    with app.state.sessionmaker.begin() as session:
        organization = make_org(session, people=PEOPLE)
        create_round(session, app.state.settings, app.state.links, organization, month, now=now)
    outbox.deliver_due(app.state.sessionmaker, FileSender(outbox_dir))
    invites = [m for m in read_emails(outbox_dir) if "Coffee Round:" in str(m["Subject"])]
    assert len(invites) == PEOPLE
    for message in invites:
        match = re.search(r"http://testserver(/o/[^/]+/my/\S+)", email_text(message))
        assert match, "the invite has no link to the library, introductions and record"
        page = client.get(match.group(1))
        assert page.status_code == 200
        assert "Resource library" in page.text
