"""Wellness-lead sign-in: sessions on the server, lockout, logout that ends it, resets."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin import sessions
from service.db import utcnow
from service.models import AdminSession, Organization
from tests.conftest import email_text
from tests.service.admin_helpers import PASSWORD, csrf, login, make_admin


def test_anonymous_visitors_are_sent_to_the_login_page(
    client: TestClient, org: Organization
) -> None:
    response = client.get(f"/admin/o/{org.slug}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/admin/login?next=")


def test_signing_in_opens_the_dashboard_with_a_hardened_cookie(
    client: TestClient, db: Session, org: Organization
) -> None:
    make_admin(db, org)
    response = login(client, "Lead@StMarys.example")
    assert response.status_code == 303 and response.headers["location"] == "/admin"
    cookie = response.headers["set-cookie"]
    assert "cr_admin=" in cookie and "HttpOnly" in cookie and "samesite=lax" in cookie.lower()
    page = client.get("/admin", follow_redirects=True)
    assert page.status_code == 200 and "St Mary&#39;s Hospital" in page.text
    assert "active participants" in page.text


def test_a_wrong_password_is_refused_and_repeated_failures_lock_the_account(
    client: TestClient, db: Session, org: Organization
) -> None:
    account = make_admin(db, org)
    for _ in range(5):
        assert login(client, account.email, "wrong password!").status_code == 401
    db.refresh(account)
    assert account.locked_until is not None and account.locked_until > utcnow()
    # Even the right password is refused while locked, with the same message.
    refused = login(client, account.email, PASSWORD)
    assert refused.status_code == 401 and "locked" in refused.text


def test_logout_really_ends_the_session(client: TestClient, db: Session, org: Organization) -> None:
    make_admin(db, org)
    login(client, "lead@stmarys.example")
    old_cookie = client.cookies.get("cr_admin")
    assert old_cookie
    token = csrf(client, f"/admin/o/{org.slug}")
    client.post("/admin/logout", data={"csrf_token": token}, follow_redirects=False)
    assert db.scalar(select(AdminSession)) is None
    client.cookies.set("cr_admin", old_cookie)
    replay = client.get(f"/admin/o/{org.slug}", follow_redirects=False)
    assert replay.status_code == 303 and "/admin/login" in replay.headers["location"]


def test_sessions_expire_after_being_idle(db: Session, org: Organization) -> None:
    account = make_admin(db, org)
    raw = sessions.start(db, account)
    db.commit()
    assert sessions.resume(db, raw) is not None
    later = utcnow() + sessions.IDLE_TIMEOUT + timedelta(seconds=1)
    assert sessions.resume(db, raw, now=later) is None


def test_a_login_form_without_csrf_token_is_refused(
    client: TestClient, db: Session, org: Organization
) -> None:
    make_admin(db, org)
    client.get("/admin/login")
    response = client.post(
        "/admin/login", data={"email": "lead@stmarys.example", "password": PASSWORD}
    )
    assert response.status_code == 403


def test_an_admin_of_one_hospital_cannot_see_another(
    client: TestClient, db: Session, org: Organization
) -> None:
    other = Organization(slug="general", name="General Hospital", timezone="UTC")
    db.add(other)
    db.commit()
    make_admin(db, org)
    login(client, "lead@stmarys.example")
    assert client.get(f"/admin/o/{org.slug}").status_code == 200
    assert client.get("/admin/o/general").status_code == 404


def test_next_never_redirects_off_site(client: TestClient, db: Session, org: Organization) -> None:
    make_admin(db, org)
    response = login(client, "lead@stmarys.example", next_path="//evil.example/admin")
    assert response.headers["location"] == "/admin"


def test_password_reset_by_a_single_use_emailed_link(
    client: TestClient,
    db: Session,
    org: Organization,
    emails,  # type: ignore[no-untyped-def]
) -> None:
    make_admin(db, org)
    token = csrf(client, "/admin/password-reset")
    sent = client.post(
        "/admin/password-reset", data={"email": "lead@stmarys.example", "csrf_token": token}
    )
    unknown = client.post(
        "/admin/password-reset", data={"email": "nobody@x.example", "csrf_token": token}
    )
    assert sent.status_code == unknown.status_code == 200
    assert sent.text.replace(token, "") == unknown.text.replace(token, "")
    messages = emails()
    assert len(messages) == 1
    link = re.search(r"http://testserver(/admin/password-reset/\S+)", email_text(messages[0]))
    assert link
    path = link.group(1)
    assert client.get(path).status_code == 200
    form_token = csrf(client, path)
    done = client.post(
        path,
        data={
            "password": "a brand new secret",
            "confirm": "a brand new secret",
            "csrf_token": form_token,
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert login(client, "lead@stmarys.example", "a brand new secret").status_code == 303
    assert client.get(path).status_code == 400  # used once: gone
