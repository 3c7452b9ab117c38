"""The public signup pages: the join form, double opt-in, and asking for a manage link."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.models import Organization, Participant
from tests.conftest import email_text

JOIN = "/o/stmarys/join"


def csrf(client: TestClient, url: str = JOIN) -> str:
    page = client.get(url)
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the form has no CSRF field"
    return match.group(1)


def signup_form(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "full_name": "Ann Lee",
        "email": "Ann.Lee@Example.org",
        "role": "resident",
        "specialty": "Cardiology",
        "department": "Medicine",
        "site": "Main campus",
        "interests": ["Research", "Books"],
        "interests_other": "Sailing; Jazz",
        "goals": "Meet people outside my department.",
        "mentoring": "seek",
        "can_teach": "ECG reading",
        "wants_to_learn": "Grant writing; Statistics",
        "timezone": "Europe/London",
        "availability": ["Mon 12:00-13:00", "Thu 07:00-08:00"],
        "availability_other": "Tue 23:00-01:00",
        "avoid": "boss@example.org",
    }
    data.update(overrides)
    return data


def join(client: TestClient, **overrides: Any) -> Any:
    data = {"csrf_token": csrf(client), **signup_form(**overrides)}
    return client.post(JOIN, data=data, follow_redirects=False)


def link_in(message: Any) -> str:
    match = re.search(r"http://testserver(/o/\S+)", email_text(message))
    assert match, email_text(message)
    return match.group(1).rstrip(".,)>")


def participants(db: Session) -> list[Participant]:
    db.expire_all()
    return list(db.scalars(select(Participant)))


def without_csrf(html: str) -> str:
    return re.sub(r'name="csrf_token" value="[^"]+"', "", html)


# --- the pages -------------------------------------------------------------------------


def test_home_lists_programmes_with_join_links(client: TestClient, org: Organization) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert "small group" in page.text
    assert "St Mary&#39;s Hospital" in page.text
    assert 'href="/o/stmarys/join"' in page.text


def test_join_form_is_labelled_and_mobile_ready(client: TestClient, org: Organization) -> None:
    page = client.get(JOIN)
    html = page.text
    assert page.status_code == 200
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    assert "St Mary&#39;s Hospital" in html
    for legend in ("About you", "Interests", "Goals", "Mentoring", "When you can meet"):
        assert f"<legend>{legend}</legend>" in html
    for field in ("full_name", "email", "role", "specialty", "goals", "timezone", "avoid"):
        assert f'<label for="{field}">' in html
    assert 'autocomplete="email" inputmode="email"' in html
    assert 'aria-describedby="email-hint"' in html
    # The organization's zone is preselected; common zones come first.
    assert '<option value="America/New_York" selected>' in html
    assert html.index('label="Common time zones"') < html.index('label="All time zones"')
    assert 'value="Sun 20:00-21:00"' in html  # the availability grid
    assert 'id="interests_other"' in html and 'id="availability_other"' in html
    assert "<script>" not in html  # no inline scripts (the CSP forbids them)


def test_unknown_organization_is_a_404_page(client: TestClient, org: Organization) -> None:
    for url in ("/o/nowhere/join", "/o/nowhere/me", "/o/nowhere/confirm/abc"):
        page = client.get(url)
        assert page.status_code == 404
        assert page.headers["content-type"].startswith("text/html")
        assert "no Coffee Rounds programme called" in page.text


# --- joining -------------------------------------------------------------------------------


def test_join_creates_a_pending_participant_and_one_confirmation_email(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    response = join(client)
    assert response.status_code == 303
    assert response.headers["location"] == "/o/stmarys/join/check-email"

    [p] = participants(db)
    assert p.status == "pending"
    assert p.email == "ann.lee@example.org"
    assert p.interests == ["Research", "Books", "Sailing", "Jazz"]
    assert p.availability == [[0, 720, 780], [1, 1380, 1500], [3, 420, 480]]
    assert p.avoid_emails == ["boss@example.org"]

    [message] = emails()
    assert message["To"].addresses[0].addr_spec == "ann.lee@example.org"
    assert link_in(message).startswith("/o/stmarys/confirm/")

    page = client.get(response.headers["location"])
    assert "Check your inbox" in page.text and "72 hours" in page.text


def test_confirm_link_shows_a_button_and_only_post_activates(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    join(client)
    confirm_path = link_in(emails()[0])

    page = client.get(confirm_path)
    assert page.status_code == 200
    assert "Confirm and join" in page.text
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert participants(db)[0].status == "pending"

    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
    done = client.post(confirm_path, data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert re.fullmatch(r"/o/stmarys/manage/[^/?]+\?done=joined", done.headers["location"])
    assert participants(db)[0].status == "active"

    manage = client.get(done.headers["location"])
    assert "You&#39;re in!" in manage.text


def test_expired_and_broken_confirm_links(
    client: TestClient, app: FastAPI, org: Organization, db: Session, emails: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    join(client)
    [p] = participants(db)
    real_time = time.time
    with monkeypatch.context() as patch:
        patch.setattr(time, "time", lambda: real_time() - 73 * 3600)
        old = app.state.links.make("confirm", participant_id=p.id, version=p.link_version)

    expired = client.get(f"/o/stmarys/confirm/{old}")
    assert expired.status_code == 410
    assert "expired" in expired.text
    assert 'action="/o/stmarys/me"' in expired.text  # a way to get a new link
    assert expired.headers["cache-control"] == "no-store"

    broken = client.get("/o/stmarys/confirm/not-a-real-token")
    assert broken.status_code == 400
    assert "not valid" in broken.text
    assert participants(db)[0].status == "pending"


def test_existing_email_gets_the_same_response_and_a_manage_link(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    db.add(
        Participant(
            organization_id=org.id, email="ann.lee@example.org", full_name="Ann Original",
            role="attending", timezone="UTC", status="active", avoid_entries=[],
        )
    )
    db.commit()

    fresh = join(client, email="newcomer@example.org")
    again = join(client, email=" ANN.LEE@example.org ", full_name="Someone Else")
    assert (fresh.status_code, fresh.headers["location"]) == (
        again.status_code,
        again.headers["location"],
    )
    assert without_csrf(fresh.text) == without_csrf(again.text)
    fresh_page = client.get(fresh.headers["location"])
    again_page = client.get(again.headers["location"])
    assert without_csrf(fresh_page.text) == without_csrf(again_page.text)

    already = emails()[-1]
    assert already["To"].addresses[0].addr_spec == "ann.lee@example.org"
    assert "/o/stmarys/manage/" in link_in(already)
    assert "already" in email_text(already).lower()
    # The profile is untouched: whoever sent the form may not be Ann.
    by_email = {p.email: p for p in participants(db)}
    assert by_email["ann.lee@example.org"].full_name == "Ann Original"
    assert len(by_email) == 2


def test_emails_are_normalized_and_unique_per_organization(
    client: TestClient, org: Organization, db: Session
) -> None:
    join(client, email="Ann.Lee@Example.org")
    join(client, email="  ann.lee@EXAMPLE.ORG ")
    assert db.scalar(select(func.count()).select_from(Participant)) == 1


# --- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"full_name": "Ann\r\nBcc: x@evil.example"}, "full_name", "line breaks"),
        ({"full_name": ""}, "full_name", "Full name is required"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone", "not a known time zone"),
        ({"availability_other": "Mon 25:00-26:00"}, "availability_other", "not a time of day"),
        ({"availability_other": "someday soon"}, "availability_other", "is not a window"),
        ({"goals": "x" * 1001}, "goals", "at most 1000 characters"),
        ({"email": "not-an-email"}, "email", "not a valid email address"),
        ({"role": "surgeon-general"}, "role", "choose one of the listed options"),
        ({"avoid": "friend@example.org; nope"}, "avoid", "not a valid email address"),
    ],
)
def test_bad_input_is_shown_next_to_the_field_with_everything_kept(
    client: TestClient,
    org: Organization,
    db: Session,
    emails: Any,
    overrides: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = join(client, **overrides)
    html = response.text
    assert response.status_code == 422
    error = re.search(rf'<p class="error-message" id="{field}-error">(.*?)</p>', html, re.S)
    assert error, f"no error next to {field}"
    assert message in error.group(1)
    assert f'href="#{field}"' in html  # the summary links to the field
    assert re.search(rf'id="{field}"[^>]*aria-invalid="true"', html)
    # Everything else the person typed is still there.
    if field != "full_name":
        assert 'value="Ann Lee"' in html
    assert 'value="Cardiology"' in html
    assert 'value="Mon 12:00-13:00" checked' in html
    assert 'value="Research" checked' in html
    assert 'value="seek" checked' in html
    assert "Meet people outside my department." in html or field == "goals"
    assert participants(db) == [] and emails() == []


def test_missing_csrf_token_is_refused(
    client: TestClient, org: Organization, db: Session
) -> None:
    client.get(JOIN)  # sets the cookie
    response = client.post(JOIN, data=signup_form(), follow_redirects=False)
    assert response.status_code == 403
    assert participants(db) == []


def test_email_domain_allow_list(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    org.allowed_email_domains = ["stmarys.org"]
    db.commit()
    assert "email address at stmarys.org" in client.get(JOIN).text

    refused = join(client, email="ann@gmail.com")
    assert refused.status_code == 422
    error = re.search(r'id="email-error">(.*?)</p>', refused.text, re.S)
    assert error and "stmarys.org" in error.group(1)
    assert 'value="ann@gmail.com"' in refused.text
    assert participants(db) == []

    accepted = join(client, email="ann@cardio.stmarys.org")
    assert accepted.status_code == 303
    assert len(emails()) == 1


# --- asking for a manage link ------------------------------------------------------------


def test_me_answers_the_same_for_known_and_unknown_addresses(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    db.add(
        Participant(
            organization_id=org.id, email="ann@example.org", full_name="Ann", role="nurse",
            timezone="UTC", status="active", avoid_entries=[],
        )
    )
    db.commit()
    token = csrf(client, "/o/stmarys/me")
    known = client.post("/o/stmarys/me", data={"csrf_token": token, "email": "ANN@example.org"},
                        follow_redirects=False)
    unknown = client.post("/o/stmarys/me", data={"csrf_token": token, "email": "bob@example.org"},
                          follow_redirects=False)
    assert known.status_code == unknown.status_code == 303
    assert known.headers["location"] == unknown.headers["location"] == "/o/stmarys/me/sent"
    [message] = emails()
    assert "/o/stmarys/manage/" in link_in(message)
    assert "72 hours" in client.get("/o/stmarys/me/sent").text


def test_me_rejects_a_malformed_address(client: TestClient, org: Organization) -> None:
    token = csrf(client, "/o/stmarys/me")
    response = client.post("/o/stmarys/me", data={"csrf_token": token, "email": "ann@"})
    assert response.status_code == 422
    assert 'id="email-error"' in response.text
    assert 'value="ann@"' in response.text
