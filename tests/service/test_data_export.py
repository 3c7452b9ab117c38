"""'Download my data': everything held about a participant, as JSON, from the manage link
and from the API; what belongs to colleagues stays out."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service import audit
from service.models import (
    AvoidEntry,
    IntroductionAsk,
    IntroductionRequest,
    Organization,
    OutboxMessage,
    Participant,
    Resource,
    ResourceVote,
)
from service.participants.personal_data import NOTES
from tests.service.participation_helpers import chat, checkin, introduction, person
from tests.service.test_public_manage import csrf_of, manage_path

WHEN = datetime(2026, 2, 10, 15, tzinfo=UTC)


def _ann_with_everything(db: Session, org: Organization) -> Participant:
    ann = person(db, org, "Ann Lee", "Cardiology", role="resident", goals="Find a mentor")
    bo = person(db, org, "Bo Chen", "Nursing", role="nurse")
    cy = person(db, org, "Cy Diaz", "Pharmacy")
    ed = person(db, org, "Ed Fox", "Radiology")
    ann.avoid_entries.append(AvoidEntry(email="someone@stmarys.example"))
    group = chat(db, org, "2026-01", [ann, bo], topic="Burnout and recovery")
    checkin(db, group[ann.id], met=True, learned="Ask pharmacy early", rating=5)
    mine = Resource(
        organization_id=org.id, participant_id=ann.id, url="https://example.org/ann",
        title="Ann's favourite", why="It helped me sleep", tags=["sleep"], useful_count=0,
    )
    theirs = Resource(
        organization_id=org.id, participant_id=bo.id, url="https://example.org/bo",
        title="Bo's pick", why="Bo's own words", useful_count=1,
    )
    db.add_all([mine, theirs])
    db.flush()
    db.add(ResourceVote(resource_id=theirs.id, participant_id=ann.id))
    introduction(db, org, ann, ed, when=WHEN, need="Help with my first grant")
    asked = IntroductionRequest(
        organization_id=org.id, requester_id=cy.id, need="Cy's private need",
        skill="Ultrasound", status="unmatched",
    )
    db.add(asked)
    db.flush()
    db.add(IntroductionAsk(
        request_id=asked.id, candidate_id=ann.id, position=1, status="declined",
        expires_at=WHEN + timedelta(days=5), answered_at=WHEN,
    ))
    db.add(OutboxMessage(
        organization_id=org.id, participant_id=ann.id, idempotency_key="manage_link:x",
        kind="manage_link", to_address=ann.email, envelope_from="coffee@hospital.example",
        subject="Your link to manage Coffee Rounds", message_id="<m1@hospital.example>",
        body=b"Subject: secret body", status="sent", sent_at=WHEN,
    ))
    audit.record(
        db, org=org, actor="lead@stmarys.example", action="participant.pause",
        target_type="participant", target_id=ann.id, before={"status": "active"},
        after={"status": "paused"},
    )
    db.commit()
    return ann


def _check_everything(data: dict[str, Any]) -> None:
    assert data["organization"] == {"slug": "stmarys", "name": "St Mary's Hospital"}
    profile = data["profile"]
    assert profile["email"] == "ann.lee@stmarys.example" and profile["full_name"] == "Ann Lee"
    assert profile["goals"] == "Find a mentor" and profile["include_in_exports"] is True
    assert data["avoid"] == ["someone@stmarys.example"]
    [membership] = data["rounds"]
    assert membership["month"] == "2026-01" and membership["topic"] == "Burnout and recovery"
    assert membership["colleagues"] == [{"department": "Nursing", "role": "nurse"}]
    [feedback] = membership["feedback"]
    assert feedback["learned"] == "Ask pharmacy early" and feedback["rating"] == 5
    [shared] = data["resources_shared"]
    assert shared["why"] == "It helped me sleep" and shared["url"] == "https://example.org/ann"
    assert data["useful_votes"][0]["resource_title"] == "Bo's pick"
    [request] = data["introduction_requests"]
    assert request["need"] == "Help with my first grant" and request["status"] == "accepted"
    assert request["asks"][0]["status"] == "accepted"
    [ask] = data["introduction_asks_received"]
    assert ask == {**ask, "skill": "Ultrasound", "status": "declined"}
    [message] = data["emails"]
    assert message["subject"] == "Your link to manage Coffee Rounds"
    assert message["status"] == "sent" and "body" not in message
    [event] = data["audit_events"]
    assert event["action"] == "participant.pause" and "actor" not in event
    assert data["notes"] == NOTES
    # Colleagues' data stays out: names, addresses, their free text, the lead's address.
    text = json.dumps(data)
    for theirs in ("Bo Chen", "Ed Fox", "Cy Diaz", "bo.chen@", "ed.fox@", "Cy's private need",
                   "Bo's own words", "lead@stmarys.example", "secret body"):
        assert theirs not in text, theirs


def test_the_manage_page_offers_the_download(
    client: TestClient, app: FastAPI, db: Session, org: Organization
) -> None:
    ann = _ann_with_everything(db, org)
    manage = manage_path(app, ann)
    page = client.get(manage).text
    assert f'href="{manage}/export.json" download>Download my data (JSON)</a>' in page

    response = client.get(f"{manage}/export.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="coffee-rounds-my-data-stmarys-'
    )
    assert response.headers["cache-control"] == "no-store"
    _check_everything(response.json())


def test_the_api_gives_the_same_data(
    client: TestClient, app: FastAPI, db: Session, org: Organization
) -> None:
    ann = _ann_with_everything(db, org)
    token = app.state.links.make("manage", participant_id=ann.id, version=ann.link_version)
    response = client.get(
        "/api/v1/organizations/stmarys/me/export", headers={"X-Manage-Token": token}
    )
    assert response.status_code == 200
    _check_everything(response.json())
    assert client.get("/api/v1/organizations/stmarys/me/export").status_code == 401
    wrong = client.get(
        "/api/v1/organizations/stmarys/me/export", headers={"X-Manage-Token": "nope"}
    )
    assert wrong.status_code == 400


def test_a_member_link_or_an_old_link_does_not_open_the_export(
    client: TestClient, app: FastAPI, db: Session, org: Organization
) -> None:
    ann = _ann_with_everything(db, org)
    member = app.state.links.make("member", participant_id=ann.id, version=ann.link_version)
    assert client.get(f"/o/stmarys/manage/{member}/export.json").status_code == 400
    manage = manage_path(app, ann)
    ann.link_version += 1  # as leaving does
    db.commit()
    response = client.get(f"{manage}/export.json")
    assert response.status_code == 400 and "no longer valid" in response.text


def test_someone_without_history_gets_empty_lists(
    client: TestClient, app: FastAPI, db: Session, org: Organization
) -> None:
    ann = person(db, org, "Ann Lee", "Cardiology")
    db.commit()
    data = client.get(f"{manage_path(app, ann)}/export.json").json()
    for key in ("avoid", "rounds", "resources_shared", "useful_votes", "introduction_requests",
                "introduction_asks_received", "emails", "audit_events"):
        assert data[key] == [], key
    assert csrf_of(client.get(manage_path(app, ann)).text)
