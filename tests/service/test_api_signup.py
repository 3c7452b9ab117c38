"""Self-service through the JSON API: signup, confirmation, manage links and /me."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import Organization, Participant
from tests.conftest import email_text

BASE = "/api/v1/organizations/stmarys"
ACCEPTED_SIGNUP = {
    "status": "pending_confirmation",
    "detail": "If this address can join, we have emailed a confirmation link.",
}


def signup_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": "Ada.Lovelace@StMarys.example",
        "full_name": "Ada Lovelace",
        "role": "resident",
        "department": "Medicine",
        "interests": ["running", "jazz"],
        "timezone": "America/New_York",
        "availability": "Mon 12:00-13:00; Thu 07:00-07:30",
    }
    body.update(overrides)
    return body


def link_token(emails: Any, kind: str) -> str:
    """The token of the newest `kind` (confirm|manage) link emailed."""
    for message in reversed(emails()):
        match = re.search(rf"/o/stmarys/{kind}/([A-Za-z0-9_.\-]+)", email_text(message))
        if match:
            return match.group(1)
    raise AssertionError(f"no {kind} link in any email")


def signed_up_and_confirmed(client: TestClient, emails: Any) -> str:
    """Sign Ada up, confirm, and return a manage token."""
    client.post(f"{BASE}/signups", json=signup_body())
    confirmed = client.post(f"{BASE}/confirmations", json={"token": link_token(emails, "confirm")})
    assert confirmed.status_code == 200
    client.post(f"{BASE}/manage-links", json={"email": "ada.lovelace@stmarys.example"})
    return link_token(emails, "manage")


def test_signup_is_pending_until_the_emailed_link_is_confirmed(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    response = client.post(f"{BASE}/signups", json=signup_body())

    assert response.status_code == 202
    assert response.json() == ACCEPTED_SIGNUP
    participant = db.scalar(select(Participant))
    assert participant is not None
    assert participant.email == "ada.lovelace@stmarys.example"
    assert participant.status == "pending"
    [message] = emails()
    assert message["To"].addresses[0].addr_spec == "ada.lovelace@stmarys.example"

    confirmed = client.post(f"{BASE}/confirmations", json={"token": link_token(emails, "confirm")})

    assert confirmed.status_code == 200
    profile = confirmed.json()
    assert profile["status"] == "active"
    assert profile["availability"] == [[0, 720, 780], [3, 420, 450]]
    assert profile["availability_text"] == "Mon 12:00-13:00; Thu 07:00-07:30"
    assert profile["confirmed_at"] is not None


def test_signup_answers_the_same_for_an_existing_address_and_keeps_the_profile(
    client: TestClient, org: Organization, emails: Any
) -> None:
    token = signed_up_and_confirmed(client, emails)
    sent_before = len(emails())

    again = client.post(
        f"{BASE}/signups", json=signup_body(email="ADA.lovelace@stmarys.example", full_name="Eve")
    )

    assert again.status_code == 202
    assert again.json() == ACCEPTED_SIGNUP
    assert len(emails()) == sent_before + 1  # the real owner hears about it
    me = client.get(f"{BASE}/me", headers={"X-Manage-Token": token}).json()
    assert me["full_name"] == "Ada Lovelace"


def test_manage_link_answer_does_not_reveal_whether_the_address_exists(
    client: TestClient, org: Organization, emails: Any
) -> None:
    unknown = client.post(f"{BASE}/manage-links", json={"email": "nobody@stmarys.example"})
    assert unknown.status_code == 202
    assert emails() == []

    signed_up_and_confirmed(client, emails)
    known = client.post(f"{BASE}/manage-links", json={"email": "ada.lovelace@stmarys.example"})

    assert known.status_code == 202
    assert known.json() == unknown.json()


def test_a_bad_or_missing_token_is_refused(client: TestClient, org: Organization) -> None:
    assert client.post(f"{BASE}/confirmations", json={"token": "abc.def.ghi"}).status_code == 400
    missing = client.get(f"{BASE}/me")
    assert missing.status_code == 401
    assert missing.json()["code"] == "unauthorized"
    forged = client.get(f"{BASE}/me", headers={"X-Manage-Token": "abc.def"})
    assert forged.status_code == 400
    assert forged.json()["code"] == "link_invalid"


def test_a_manage_token_only_works_under_its_own_organization(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    db.add(Organization(slug="general", name="General", timezone="UTC", allowed_email_domains=[]))
    db.commit()
    headers = {"X-Manage-Token": signed_up_and_confirmed(client, emails)}

    elsewhere = client.get("/api/v1/organizations/general/me", headers=headers)

    assert elsewhere.status_code == 400
    assert elsewhere.json()["code"] == "link_invalid"


def test_confirm_token_is_not_a_manage_token(
    client: TestClient, org: Organization, emails: Any
) -> None:
    client.post(f"{BASE}/signups", json=signup_body())
    confirm_token = link_token(emails, "confirm")

    assert client.get(f"{BASE}/me", headers={"X-Manage-Token": confirm_token}).status_code == 400


def test_me_read_edit_pause_resume(client: TestClient, org: Organization, emails: Any) -> None:
    headers = {"X-Manage-Token": signed_up_and_confirmed(client, emails)}

    me = client.get(f"{BASE}/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["email"] == "ada.lovelace@stmarys.example"

    edited = client.put(
        f"{BASE}/me",
        headers=headers,
        json={"full_name": "Ada King", "role": "fellow", "timezone": "Europe/London",
              "goals": "Meet surgeons", "avoid": "x@stmarys.example"},
    )
    assert edited.status_code == 200
    assert edited.json()["full_name"] == "Ada King"
    assert edited.json()["avoid"] == ["x@stmarys.example"]
    assert client.get(f"{BASE}/me", headers=headers).json()["timezone"] == "Europe/London"

    paused = client.post(f"{BASE}/me/pause", headers=headers, json={"months": 2})
    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    assert paused.json()["paused_until"] is not None

    bad_pause = client.post(f"{BASE}/me/pause", headers=headers, json={"months": 4})
    assert bad_pause.status_code == 422
    assert bad_pause.json()["detail"][0]["loc"] == ["body", "months"]

    resumed = client.post(f"{BASE}/me/resume", headers=headers)
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "active"
    assert resumed.json()["paused_until"] is None


def test_leave_ends_the_manage_token(client: TestClient, org: Organization, emails: Any) -> None:
    headers = {"X-Manage-Token": signed_up_and_confirmed(client, emails)}

    left = client.post(f"{BASE}/me/leave", headers=headers)

    assert left.status_code == 200
    assert left.json()["status"] == "left"
    assert client.get(f"{BASE}/me", headers=headers).status_code == 400


def test_delete_removes_the_data(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    headers = {"X-Manage-Token": signed_up_and_confirmed(client, emails)}

    deleted = client.delete(f"{BASE}/me", headers=headers)

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert db.scalar(select(Participant)) is None
    assert client.get(f"{BASE}/me", headers=headers).status_code == 400


def test_unconfirmed_participant_is_never_sent_a_manage_link(
    client: TestClient, org: Organization, emails: Any
) -> None:
    client.post(f"{BASE}/signups", json=signup_body())
    response = client.post(f"{BASE}/manage-links", json={"email": "ada.lovelace@stmarys.example"})

    assert response.status_code == 202
    texts = [email_text(message) for message in emails()]
    assert texts and all("/o/stmarys/confirm/" in text for text in texts)
    assert not any("/manage/" in text for text in texts)


def field_paths(response: Any) -> list[list[Any]]:
    assert response.status_code == 422, response.text
    return [problem["loc"] for problem in response.json()["detail"]]


def test_invalid_signup_fields_are_named(client: TestClient, org: Organization) -> None:
    cases = {
        "email": "not-an-email",
        "timezone": "Mars/Olympus_Mons",
        "availability": "Someday 12:00-13:00",
        "full_name": "Ada\r\nBcc: victim@example.com",
        "goals": "x" * 1001,
    }
    for field, value in cases.items():
        response = client.post(f"{BASE}/signups", json=signup_body(**{field: value}))
        assert ["body", field] in field_paths(response), field

    nul = client.post(f"{BASE}/signups", json=signup_body(department="Cardio\x00logy"))
    assert ["body", "department"] in field_paths(nul)
    assert ["body", "email"] in field_paths(
        client.post(f"{BASE}/manage-links", json={"email": "a\x00@stmarys.example"})
    )
    assert ["body", "token"] in field_paths(
        client.post(f"{BASE}/confirmations", json={"token": "abc\x00"})
    )


def test_lone_surrogates_in_json_are_refused_not_a_server_error(
    client: TestClient, org: Organization
) -> None:
    # json.dumps escapes the surrogate as \\ud800, which is valid JSON text.
    for field in ("timezone", "full_name", "unexpected"):
        raw = json.dumps(signup_body(**{field: "\ud800"}))
        response = client.post(
            f"{BASE}/signups", content=raw, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 422
        assert response.json()["detail"][0]["type"] == "json_invalid"


def test_timezone_message_says_what_is_expected(client: TestClient, org: Organization) -> None:
    response = client.post(f"{BASE}/signups", json=signup_body(timezone="Mars/Olympus_Mons"))

    [problem] = response.json()["detail"]
    assert "not a known time zone" in problem["msg"]


def test_email_outside_the_allowed_domains_is_refused(
    client: TestClient, org: Organization, db: Session
) -> None:
    org.allowed_email_domains = ["stmarys.example"]
    db.commit()

    response = client.post(f"{BASE}/signups", json=signup_body(email="ada@gmail.com"))

    assert response.status_code == 422
    assert "email" in response.json()["fields"]


def test_unknown_or_malformed_organization(client: TestClient, org: Organization) -> None:
    unknown = client.post("/api/v1/organizations/nowhere/signups", json=signup_body())
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "not_found"

    malformed = client.post("/api/v1/organizations/Bad_Slug!/signups", json=signup_body())
    assert ["path", "slug"] in field_paths(malformed)
