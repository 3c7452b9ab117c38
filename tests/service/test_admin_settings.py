"""Dashboard Settings: validation with the values kept, saving, and the audit trail."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AuditEvent, Organization
from tests.service.admin_helpers import csrf, login, make_admin

BASE = "/admin/o/stmarys/settings"

VALID = {
    "timezone": "America/Chicago",
    "round_weekday": "2",
    "round_week_of_month": "1",
    "round_hour": "8",
    "round_minute": "30",
    "min_group_size": "3",
    "max_group_size": "5",
    "weight_interests": "2",
    "weight_mentoring": "1",
    "weight_seniority_mix": "0.5",
    "weight_cross_department": "1",
    "schedule_window_start_day": "5",
    "schedule_window_end_day": "20",
    "meeting_minutes": "45",
    "meeting_url_template": "https://meet.example.org/cr-{room}",
    "sender_name": "Wellness Office",
    "sender_email": "Wellness@StMarys.example",
    "allowed_email_domains": "stmarys.example\n@clinic.stmarys.example",
    "require_approval": "on",
}


def _signed_in(client: TestClient, db: Session, org: Organization) -> None:
    make_admin(db, org)
    assert login(client, "lead@stmarys.example").status_code == 303  # type: ignore[attr-defined]


def _post(client: TestClient, data: dict[str, str]):  # type: ignore[no-untyped-def]
    token = csrf(client, BASE)
    return client.post(BASE, data={"csrf_token": token, **data}, follow_redirects=False)


def test_the_form_shows_the_current_settings(
    client: TestClient, db: Session, org: Organization
) -> None:
    _signed_in(client, db, org)
    page = client.get(BASE)
    assert page.status_code == 200
    assert 'value="America/New_York"' in page.text
    assert "https://meet.jit.si/CoffeeRounds-{room}" in page.text
    assert "wait for my approval" in page.text


def test_a_valid_change_is_saved_and_audited_with_before_and_after(
    client: TestClient, db: Session, org: Organization
) -> None:
    _signed_in(client, db, org)
    response = _post(client, VALID)
    assert response.status_code == 303
    assert "Settings saved" in client.get(response.headers["location"]).text
    db.expire_all()
    saved = db.get(Organization, org.id)
    assert saved is not None
    assert (saved.timezone, saved.round_weekday, saved.round_hour, saved.round_minute) == (
        "America/Chicago",
        2,
        8,
        30,
    )
    assert (saved.min_group_size, saved.max_group_size, saved.meeting_minutes) == (3, 5, 45)
    assert saved.weight_seniority_mix == 0.5 and saved.require_approval is True
    assert saved.sender_email == "wellness@stmarys.example"
    assert saved.allowed_email_domains == ["stmarys.example", "clinic.stmarys.example"]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "organization.settings"))
    assert event is not None
    assert event.before["timezone"] == "America/New_York"  # type: ignore[index]
    assert event.after["timezone"] == "America/Chicago"  # type: ignore[index]
    assert "round_week_of_month" not in event.after  # type: ignore[operator]
    # Submitting the same values again changes nothing and logs nothing.
    assert _post(client, VALID).status_code == 303
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "organization.settings"))
    assert len(events.all()) == 1


def test_invalid_values_are_refused_with_messages_and_kept(
    client: TestClient, db: Session, org: Organization
) -> None:
    _signed_in(client, db, org)
    bad = {
        **VALID,
        "timezone": "Mars/Olympus",
        "min_group_size": "5",
        "max_group_size": "4",
        "weight_interests": "9",
        "schedule_window_start_day": "20",
        "schedule_window_end_day": "10",
        "meeting_minutes": "5",
        "meeting_url_template": "http://meet.example.org/<room>",
        "sender_email": "not-an-address",
        "allowed_email_domains": "stmarys.example\nbad domain!",
        "round_hour": "noon",
    }
    response = _post(client, bad)
    assert response.status_code == 422
    for message in (
        "time zone name like America/New_York",
        "cannot be smaller than the smallest",
        "from 0 to 5",
        "cannot end before it starts",
        "from 15 to 90 minutes",
        "must start with https://",
        "valid email address",
        "is not a domain",
        "hour from 0 to 23",
    ):
        assert message in response.text, message
    assert 'value="Mars/Olympus"' in response.text and 'value="noon"' in response.text
    assert "http://meet.example.org/&lt;room&gt;" in response.text
    db.expire_all()
    assert db.get(Organization, org.id).timezone == "America/New_York"  # type: ignore[union-attr]
    no_room = _post(client, {**VALID, "meeting_url_template": "https://meet.example.org/x"})
    assert no_room.status_code == 422 and "Include {room}" in no_room.text


def test_csrf_is_required_and_other_organizations_are_hidden(
    client: TestClient, db: Session, org: Organization
) -> None:
    _signed_in(client, db, org)
    assert client.post(BASE, data=VALID).status_code == 403
    other = Organization(slug="general", name="General", timezone="UTC")
    db.add(other)
    db.commit()
    assert client.get("/admin/o/general/settings").status_code == 404
