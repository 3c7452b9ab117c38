"""Self-service through the emailed manage link: edit, pause, resume, leave, delete."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import MatchGroup, Membership, Organization, Participant, Round
from service.participants.service import add_months
from tests.conftest import email_text

PROFILE = {
    "full_name": "Ann Lee",
    "role": "resident",
    "specialty": "Cardiology",
    "department": "Medicine",
    "site": "North",
    "interests": ["Research"],
    "interests_other": "Sailing",
    "goals": "Meet people.",
    "mentoring": "seek",
    "can_teach": "ECG reading",
    "wants_to_learn": "Statistics",
    "timezone": "Europe/London",
    "availability": ["Mon 12:00-13:00"],
    "availability_other": "",
    "avoid": "",
}


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "the page has no form with a CSRF field"
    return match.group(1)


def last_link(emails: Any) -> str:
    match = re.search(r"http://testserver(/o/\S+)", email_text(emails()[-1]))
    assert match
    return match.group(1).rstrip(".,)>")


def post(client: TestClient, url: str, data: dict[str, Any]) -> Any:
    token = csrf_of(client.get("/o/stmarys/me").text)
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def fetch(db: Session, participant_id: int) -> Participant | None:
    db.expire_all()
    return db.get(Participant, participant_id)


def active_participant(db: Session, org: Organization, **fields: Any) -> Participant:
    values: dict[str, Any] = {
        "organization_id": org.id, "email": "ann@example.org", "full_name": "Ann Lee",
        "role": "resident", "timezone": "Europe/London", "status": "active",
        "availability": [[0, 720, 780], [2, 1380, 1500]], "interests": ["Research", "Sailing"],
        "avoid_entries": [],
    }
    values.update(fields)
    participant = Participant(**values)
    db.add(participant)
    db.commit()
    return participant


def manage_path(app: FastAPI, p: Participant) -> str:
    token = app.state.links.make("manage", participant_id=p.id, version=p.link_version)
    return f"/o/stmarys/manage/{token}"


def test_full_journey_from_join_to_delete(
    client: TestClient, org: Organization, db: Session, emails: Any
) -> None:
    # Join, then confirm through the emailed link.
    join_page = client.get("/o/stmarys/join")
    data = {"csrf_token": csrf_of(join_page.text), "email": "Ann@Example.org", **PROFILE}
    assert client.post("/o/stmarys/join", data=data, follow_redirects=False).status_code == 303
    [confirmation] = emails()
    confirm_path = last_link(emails)
    confirmed = client.post(
        confirm_path, data={"csrf_token": csrf_of(client.get(confirm_path).text)},
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    [p] = db.scalars(select(Participant)).all()
    assert p.status == "active"

    # A manage link, asked for on /me.
    assert post(client, "/o/stmarys/me", {"email": "ann@example.org"}).status_code == 303
    assert len(emails()) == 2
    manage = last_link(emails)
    page = client.get(manage)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert "Active" in page.text
    assert "ann@example.org" in page.text and 'name="email"' not in page.text
    assert 'value="Cardiology"' in page.text and 'value="Research" checked' in page.text

    # Edit the profile.
    edited = {**PROFILE, "full_name": "Ann B. Lee", "availability_other": "Sat 09:00-10:00",
              "interests": ["Research", "Books"], "goals": "Find a mentor."}
    saved = post(client, f"{manage}/profile", edited)
    assert saved.status_code == 303 and saved.headers["location"] == f"{manage}?done=saved"
    participant = fetch(db, p.id)
    assert participant is not None
    assert participant.full_name == "Ann B. Lee"
    assert participant.interests == ["Research", "Books", "Sailing"]
    assert participant.availability == [[0, 720, 780], [5, 540, 600]]
    assert participant.email == "ann@example.org"
    assert "Your profile is saved." in client.get(saved.headers["location"]).text

    # Pause for two months, then resume.
    paused = post(client, f"{manage}/pause", {"months": "2"})
    assert paused.headers["location"] == f"{manage}?done=paused"
    participant = fetch(db, p.id)
    assert participant is not None and participant.status == "paused"
    assert participant.paused_until == add_months(datetime.now(UTC).date(), 2)
    page = client.get(paused.headers["location"])
    assert "Paused</strong> until" in page.text and "Resume now" in page.text

    resumed = post(client, f"{manage}/resume", {})
    assert resumed.headers["location"] == f"{manage}?done=resumed"
    participant = fetch(db, p.id)
    assert participant is not None and participant.status == "active"
    assert participant.paused_until is None

    # Leave: the old link stops working.
    left = post(client, f"{manage}/leave", {})
    assert left.status_code == 303 and left.headers["location"] == "/o/stmarys/left"
    assert "You have left" in client.get("/o/stmarys/left").text
    participant = fetch(db, p.id)
    assert participant is not None and participant.status == "left"
    assert client.get(manage).status_code == 400
    assert post(client, f"{manage}/delete", {"confirm_delete": "yes"}).status_code == 400

    # A new link, then delete everything.
    post(client, "/o/stmarys/me", {"email": "ann@example.org"})
    fresh = last_link(emails)
    assert fresh != manage
    deleted = post(client, f"{fresh}/delete", {"confirm_delete": "yes"})
    assert deleted.status_code == 303 and deleted.headers["location"] == "/o/stmarys/deleted"
    assert "Your data is deleted" in client.get("/o/stmarys/deleted").text
    assert fetch(db, p.id) is None
    assert client.get(fresh).status_code == 400
    assert confirmation is not None


def test_delete_keeps_an_anonymous_row_when_they_have_met_people(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    past = Round(organization_id=org.id, month="2026-10", status="sent")
    group = MatchGroup(round=past, number=1, ical_uid="group-1@test")
    db.add_all([past, group])
    db.flush()
    db.add(Membership(round_id=past.id, group_id=group.id, participant_id=p.id))
    db.commit()

    response = post(client, f"{manage_path(app, p)}/delete", {"confirm_delete": "yes"})
    assert response.status_code == 303
    participant = fetch(db, p.id)
    assert participant is not None
    assert participant.status == "deleted"
    assert participant.full_name == "Deleted participant"
    assert "ann" not in participant.email


def test_delete_needs_the_confirmation_box(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    response = post(client, f"{manage_path(app, p)}/delete", {})
    assert response.status_code == 422
    assert 'id="confirm_delete-error"' in response.text
    assert fetch(db, p.id) is not None


def test_profile_errors_rerender_with_values_kept(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    bad = {**PROFILE, "full_name": "Ann\nLee", "specialty": "Nephrology",
           "availability_other": "Fri 9-10"}
    response = post(client, f"{manage_path(app, p)}/profile", bad)
    assert response.status_code == 422
    assert response.headers["cache-control"] == "no-store"
    assert re.search(r'id="full_name-error">.*line breaks', response.text)
    assert re.search(r'id="availability_other-error">.*not a window', response.text)
    assert 'value="Nephrology"' in response.text
    assert 'value="Fri 9-10"' in response.text
    assert 'value="Mon 12:00-13:00" checked' in response.text
    participant = fetch(db, p.id)
    assert participant is not None and participant.full_name == "Ann Lee"


def test_stored_profile_fills_the_grid_and_the_free_text(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    html = client.get(manage_path(app, p)).text
    assert 'value="Mon 12:00-13:00" checked' in html
    assert re.search(r'id="availability_other"[^>]* value="Wed 23:00-01:00"', html)
    assert re.search(r'id="interests_other"[^>]* value="Sailing"', html)


def test_pause_needs_one_to_three_months(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    response = post(client, f"{manage_path(app, p)}/pause", {"months": "12"})
    assert response.status_code == 422
    assert 'id="months-error"' in response.text
    participant = fetch(db, p.id)
    assert participant is not None and participant.status == "active"


def test_names_are_escaped_and_flash_text_never_comes_from_the_url(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org, full_name="<script>alert(1)</script>")
    path = manage_path(app, p)
    html = client.get(path).text
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html

    injected = client.get(path, params={"done": "<b>You won a prize</b>"}).text
    assert "You won a prize" not in injected
    assert 'class="flash"' not in injected


def test_manage_links_fail_for_other_programmes_and_unknown_actions(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    other = Organization(slug="other", name="Other Hospital", timezone="UTC",
                         allowed_email_domains=[])
    db.add(other)
    db.commit()
    token = manage_path(app, p).rsplit("/", 1)[-1]
    assert client.get(f"/o/other/manage/{token}").status_code == 400
    assert post(client, f"{manage_path(app, p)}/explode", {}).status_code == 404
    # A confirm link is no manage link, and vice versa.
    confirm_token = app.state.links.make("confirm", participant_id=p.id, version=p.link_version)
    assert client.get(f"/o/stmarys/manage/{confirm_token}").status_code == 400


def test_manage_forms_need_the_csrf_token(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    client.get("/")
    response = client.post(f"{manage_path(app, p)}/leave", data={}, follow_redirects=False)
    assert response.status_code == 403
    participant = fetch(db, p.id)
    assert participant is not None and participant.status == "active"


class _Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.label_targets: list[str] = []
        self.unlabelled: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.append(str(attributes["id"]))
        if tag == "label" and attributes.get("for"):
            self.label_targets.append(str(attributes["for"]))
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.unlabelled.append(str(attributes.get("id", attributes.get("name"))))


def test_every_control_has_a_label_and_ids_are_unique(
    client: TestClient, app: FastAPI, org: Organization, db: Session
) -> None:
    p = active_participant(db, org)
    for url in ("/o/stmarys/join", manage_path(app, p), "/o/stmarys/me"):
        parser = _Ids()
        parser.feed(client.get(url).text)
        assert "email" in parser.unlabelled or "full_name" in parser.unlabelled, url
        assert len(parser.ids) == len(set(parser.ids)), url
        missing = set(parser.unlabelled) - set(parser.label_targets)
        assert not missing, f"{url}: controls without a <label for>: {missing}"
