"""Super admins create organizations and invite their wellness leads from the dashboard."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AdminAccount, AuditEvent, Organization
from tests.conftest import email_text
from tests.service.admin_helpers import csrf, login, make_admin


def test_a_super_admin_creates_an_organization_and_invites_its_lead(
    client: TestClient,
    db: Session,
    emails,  # type: ignore[no-untyped-def]
) -> None:
    make_admin(db, None, "root@coffee.example", is_super=True)
    login(client, "root@coffee.example")
    assert (
        client.get("/admin", follow_redirects=False).headers["location"] == "/admin/organizations"
    )
    token = csrf(client, "/admin/organizations")
    created = client.post(
        "/admin/organizations",
        data={
            "csrf_token": token,
            "name": "St Mary's Hospital",
            "slug": "stmarys",
            "timezone": "America/New_York",
            "domains": "stmarys.org, @stmarys-health.org",
        },
        follow_redirects=False,
    )
    assert created.status_code == 303
    org = db.scalar(select(Organization).where(Organization.slug == "stmarys"))
    assert org is not None and org.allowed_email_domains == ["stmarys.org", "stmarys-health.org"]
    invited = client.post(
        "/admin/organizations/stmarys/admins",
        data={"csrf_token": token, "email": "Lead@StMarys.org"},
        follow_redirects=False,
    )
    assert invited.status_code == 303
    lead = db.scalar(select(AdminAccount).where(AdminAccount.email == "lead@stmarys.org"))
    assert lead is not None and lead.organization_id == org.id and not lead.is_super
    # The lead chooses a password through the emailed link, then signs in.
    link = re.search(r"http://testserver(/admin/password-reset/\S+)", email_text(emails()[-1]))
    assert link
    lead_client = TestClient(client.app)
    path = link.group(1)
    form = csrf(lead_client, path)
    lead_client.post(
        path,
        data={
            "password": "a good long password",
            "confirm": "a good long password",
            "csrf_token": form,
        },
    )
    assert login(lead_client, "lead@stmarys.org", "a good long password").status_code == 303
    assert lead_client.get("/admin/o/stmarys").status_code == 200
    actions = set(db.scalars(select(AuditEvent.action)))
    assert {"organization.create", "admin.invite"} <= actions


def test_bad_organization_details_are_shown_next_to_the_fields(
    client: TestClient, db: Session
) -> None:
    make_admin(db, None, "root@coffee.example", is_super=True)
    login(client, "root@coffee.example")
    token = csrf(client, "/admin/organizations")
    response = client.post(
        "/admin/organizations",
        data={
            "csrf_token": token,
            "name": "X",
            "slug": "Bad Slug!",
            "timezone": "Mars/Base",
            "domains": "not a domain",
        },
    )
    assert response.status_code == 422
    assert "lowercase letters" in response.text and "Mars/Base" in response.text
    assert db.scalar(select(Organization)) is None


def test_organization_admins_cannot_see_or_use_the_super_admin_pages(
    client: TestClient, db: Session, org: Organization
) -> None:
    make_admin(db, org)
    login(client, "lead@stmarys.example")
    assert client.get("/admin/organizations").status_code == 404
    token = csrf(client, f"/admin/o/{org.slug}")
    response = client.post(
        "/admin/organizations",
        data={"csrf_token": token, "name": "Mine", "slug": "mine", "timezone": "UTC"},
    )
    assert response.status_code == 404
    invite = client.post(
        f"/admin/organizations/{org.slug}/admins", data={"csrf_token": token, "email": "x@y.org"}
    )
    assert invite.status_code == 404
