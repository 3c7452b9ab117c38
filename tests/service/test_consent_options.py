"""The two profile options: "Include me in participation exports" and "Colleagues may ask to
be introduced to me". Both start ticked; an unticked box (absent from the POST) means no,
and a client that does not know the options never switches them back on."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.accounts import create_api_token
from service.models import Organization, Participant
from service.participants.schemas import ParticipantIn
from service.participants.service import register
from tests.service.test_public_manage import (
    PROFILE,
    active_participant,
    csrf_of,
    fetch,
    last_link,
    manage_path,
    post,
)

BOTH_SHOWN = {"consent_choices": "1"}


def _choices(db: Session, participant_id: int) -> tuple[bool, bool]:
    p = fetch(db, participant_id)
    assert p is not None
    return p.include_in_exports, p.accepts_introductions


def test_join_form_has_both_boxes_ticked_and_unticking_them_opts_out(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    page = client.get("/o/stmarys/join").text
    assert 'id="include_in_exports" name="include_in_exports" value="yes"' in page
    assert 'aria-describedby="include_in_exports-hint" checked>' in page
    assert 'aria-describedby="accepts_introductions-hint" checked>' in page
    assert '<label for="include_in_exports">Include me in participation exports</label>' in page

    # Only the introductions box stays ticked: the exports one is absent from the POST.
    data = {
        "csrf_token": csrf_of(page), "email": "ann@example.org", **PROFILE, **BOTH_SHOWN,
        "accepts_introductions": "yes",
    }
    assert client.post("/o/stmarys/join", data=data, follow_redirects=False).status_code == 303
    [p] = db.scalars(select(Participant)).all()
    assert _choices(db, p.id) == (False, True)
    confirm_path = last_link(emails)
    client.post(confirm_path, data={"csrf_token": csrf_of(client.get(confirm_path).text)})
    assert _choices(db, p.id) == (False, True)


def test_a_failed_join_keeps_the_unticked_box_unticked(
    client: TestClient, org: Organization
) -> None:
    page = client.get("/o/stmarys/join").text
    data = {
        "csrf_token": csrf_of(page), "email": "not-an-address", **PROFILE, **BOTH_SHOWN,
        "include_in_exports": "yes",
    }
    response = client.post("/o/stmarys/join", data=data)
    assert response.status_code == 422
    assert 'aria-describedby="include_in_exports-hint" checked>' in response.text
    assert 'aria-describedby="accepts_introductions-hint">' in response.text


def test_manage_page_saves_unticked_and_ticked_boxes(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    manage = manage_path(app, p)
    page = client.get(manage).text
    assert 'aria-describedby="include_in_exports-hint" checked>' in page

    assert post(client, f"{manage}/profile", {**PROFILE, **BOTH_SHOWN}).status_code == 303
    assert _choices(db, p.id) == (False, False)
    page = client.get(manage).text
    assert 'aria-describedby="include_in_exports-hint">' in page
    assert 'aria-describedby="accepts_introductions-hint">' in page

    ticked = {**PROFILE, **BOTH_SHOWN, "include_in_exports": "yes", "accepts_introductions": "yes"}
    assert post(client, f"{manage}/profile", ticked).status_code == 303
    assert _choices(db, p.id) == (True, True)


def test_a_form_without_the_options_keeps_the_stored_choice(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org, include_in_exports=False, accepts_introductions=False)
    assert post(client, f"{manage_path(app, p)}/profile", PROFILE).status_code == 303
    assert _choices(db, p.id) == (False, False)


def test_the_api_reads_and_changes_the_options(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    token = app.state.links.make("manage", participant_id=p.id, version=p.link_version)
    headers = {"X-Manage-Token": token}
    base = "/api/v1/organizations/stmarys/me"
    me = client.get(base, headers=headers).json()
    assert me["include_in_exports"] is True and me["accepts_introductions"] is True

    body = {"full_name": "Ann Lee", "role": "resident", "timezone": "Europe/London"}
    changed = client.put(base, headers=headers, json={**body, "include_in_exports": False})
    assert changed.status_code == 200
    assert changed.json()["include_in_exports"] is False
    assert changed.json()["accepts_introductions"] is True
    # A client that leaves the options out keeps them as they are.
    assert client.put(base, headers=headers, json=body).json()["include_in_exports"] is False
    bad = client.put(base, headers=headers, json={**body, "include_in_exports": "perhaps"})
    assert bad.status_code == 422

    api = {"Authorization": f"Bearer {create_api_token(db, organization=org, name='HR')}"}
    db.commit()
    patched = client.patch(
        f"/api/v1/participants/{p.id}", headers=api, json={"accepts_introductions": False}
    )
    assert patched.status_code == 200
    assert patched.json()["accepts_introductions"] is False
    assert _choices(db, p.id) == (False, False)


def test_registering_without_the_options_turns_both_on(db: Session, org: Organization) -> None:
    data = ParticipantIn(
        email="new@example.org", full_name="New Person", role="nurse", timezone="UTC"
    )
    created = register(db, org, data, source="import", active=True).participant
    db.commit()
    assert _choices(db, created.id) == (True, True)
