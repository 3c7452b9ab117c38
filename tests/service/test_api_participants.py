"""The HR-integration API: bearer tokens, listing, creating and updating participants."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.accounts import create_api_token
from service.models import Organization
from tests.conftest import email_text

URL = "/api/v1/participants"


def person(email: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "email": email,
        "full_name": email.split("@")[0].title(),
        "role": "nurse",
        "department": "Cardiology",
        "site": "Main",
        "timezone": "America/New_York",
    }
    body.update(overrides)
    return body


@pytest.fixture
def auth(db: Session, org: Organization) -> dict[str, str]:
    token = create_api_token(db, organization=org, name="HR system")
    db.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def other_org(db: Session) -> Organization:
    other = Organization(slug="general", name="General", timezone="UTC", allowed_email_domains=[])
    db.add(other)
    db.commit()
    return other


def test_create_read_and_conflict(client: TestClient, auth: dict[str, str], emails: Any) -> None:
    created = client.post(URL, headers=auth, json=person("Nia@Hospital.example"))

    assert created.status_code == 201
    body = created.json()
    assert body["email"] == "nia@hospital.example"
    assert body["status"] == "active"
    assert emails() == []  # hospital-created participants are not asked to confirm
    assert client.get(f"{URL}/{body['id']}", headers=auth).json() == body

    again = client.post(URL, headers=auth, json=person("NIA@hospital.example"))
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"


def test_require_confirmation_emails_a_link(
    client: TestClient, auth: dict[str, str], emails: Any
) -> None:
    created = client.post(
        URL, headers=auth, json=person("omar@hospital.example", require_confirmation=True)
    )

    assert created.status_code == 201
    assert created.json()["status"] == "pending"
    [message] = emails()
    assert "/o/stmarys/confirm/" in email_text(message)


def test_list_filters_and_pages(client: TestClient, auth: dict[str, str]) -> None:
    for i in range(5):
        client.post(URL, headers=auth, json=person(f"nurse{i}@hospital.example"))
    client.post(
        URL, headers=auth,
        json=person("zoe.o'neil@hospital.example", full_name="Zoë 100% O'Neil",
                    role="attending", department="Surgery", site="North"),
    )
    ids = [p["id"] for p in client.get(URL, headers=auth).json()["items"]]
    client.patch(f"{URL}/{ids[0]}", headers=auth, json={"status": "left"})

    def emails_of(**params: Any) -> list[str]:
        response = client.get(URL, headers=auth, params=params)
        assert response.status_code == 200, response.text
        return [p["email"] for p in response.json()["items"]]

    assert ids == sorted(ids)
    assert emails_of(role="attending") == ["zoe.o'neil@hospital.example"]
    assert emails_of(department="Surgery", site="North") == ["zoe.o'neil@hospital.example"]
    assert emails_of(q="ZOË") == ["zoe.o'neil@hospital.example"]
    assert emails_of(q="100%") == ["zoe.o'neil@hospital.example"]
    assert emails_of(q="_") == []  # LIKE wildcards are matched literally
    assert emails_of(status="left") == ["nurse0@hospital.example"]
    assert len(emails_of(status="active")) == 5

    page = client.get(URL, headers=auth, params={"per_page": 4, "page": 2}).json()
    assert page["total"] == 6
    assert (page["page"], page["per_page"]) == (2, 4)
    assert [p["id"] for p in page["items"]] == ids[4:]


def test_list_paging_limits(client: TestClient, auth: dict[str, str]) -> None:
    too_many = client.get(URL, headers=auth, params={"per_page": 501})
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"] == ["query", "per_page"]
    assert client.get(URL, headers=auth, params={"page": 0}).status_code == 422
    assert client.get(URL, headers=auth, params={"q": "a\x00b"}).status_code == 422


def test_patch_changes_only_given_fields(client: TestClient, auth: dict[str, str]) -> None:
    created = client.post(URL, headers=auth, json=person("li@hospital.example")).json()

    patched = client.patch(
        f"{URL}/{created['id']}",
        headers=auth,
        json={"department": "Oncology", "status": "paused", "paused_until": "2031-01-31"},
    )

    assert patched.status_code == 200
    body = patched.json()
    assert (body["department"], body["site"]) == ("Oncology", "Main")
    assert (body["status"], body["paused_until"]) == ("paused", "2031-01-31")

    no_date = client.patch(f"{URL}/{created['id']}", headers=auth, json={"status": "paused"})
    assert no_date.status_code == 422
    assert "paused_until" in no_date.json()["fields"]
    unknown_field = client.patch(f"{URL}/{created['id']}", headers=auth, json={"email": "x@y.z"})
    assert unknown_field.json()["detail"][0]["loc"] == ["body", "email"]


def test_tokens_only_see_their_own_organization(
    client: TestClient, db: Session, auth: dict[str, str], other_org: Organization
) -> None:
    other_auth = {
        "Authorization": f"Bearer {create_api_token(db, organization=other_org, name='B')}"
    }
    db.commit()
    theirs = client.post(URL, headers=other_auth, json=person("b@general.example")).json()
    ours = client.post(URL, headers=auth, json=person("a@stmarys.example")).json()

    assert client.get(f"{URL}/{theirs['id']}", headers=auth).status_code == 404
    assert client.patch(
        f"{URL}/{theirs['id']}", headers=auth, json={"full_name": "Hijacked"}
    ).status_code == 404
    listed = client.get(URL, headers=auth).json()
    assert [p["id"] for p in listed["items"]] == [ours["id"]]
    assert listed["total"] == 1
    # The same address may exist in both organizations.
    assert client.post(URL, headers=auth, json=person("b@general.example")).status_code == 201


def test_missing_or_bad_token_is_401(client: TestClient, org: Organization) -> None:
    for headers in ({}, {"Authorization": "Bearer cr_not-a-real-token"}, {"Authorization": "x"}):
        response = client.get(URL, headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.json()["code"] == "unauthorized"


def test_ids_out_of_range_are_422_not_errors(client: TestClient, auth: dict[str, str]) -> None:
    for bad in ("0", str(2**31), str(2**70), "abc"):
        response = client.get(f"{URL}/{bad}", headers=auth)
        assert response.status_code == 422, bad
        assert response.json()["detail"][0]["loc"] == ["path", "participant_id"]
    assert client.get(f"{URL}/{2**31 - 1}", headers=auth).status_code == 404


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("email", "no-at-sign"),
        ("timezone", "Atlantis/Capital"),
        ("availability", [[0, 720]]),
        ("availability", "Mon 25:00-26:00"),
        ("full_name", "Ada\nLovelace"),
        ("full_name", "Ada\x00"),
        ("full_name", "   "),
        # NFC turns U+0958 into two code points: 120 typed become 240 stored.
        ("full_name", "\u0958" * 120),
        ("department", "\u0958" * 120),
        ("goals", "g" * 1001),
        ("role", "surgeon"),
        ("interests", {"not": "a list"}),
    ],
)
def test_invalid_create_names_the_field(
    client: TestClient, auth: dict[str, str], field: str, value: Any
) -> None:
    body = person("ok@hospital.example") | {field: value}

    response = client.post(URL, headers=auth, json=body)

    assert response.status_code == 422
    assert ["body", field] in [problem["loc"][:2] for problem in response.json()["detail"]]


def test_oversized_body_is_refused_before_parsing(client: TestClient, auth: dict[str, str]) -> None:
    body = person("big@hospital.example", goals="x" * 300_000)

    response = client.post(URL, headers=auth, json=body)

    assert response.status_code == 413


def test_a_filter_given_twice_is_refused_not_guessed(
    client: TestClient, auth: dict[str, str]
) -> None:
    response = client.get(
        "/api/v1/participants?department=Surgery&department=Medicine", headers=auth
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "department"]
