"""Dashboard Topics: the catalog, validation, retiring, and the rotation calendar."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.links import LinkSigner
from service.models import AuditEvent, Organization, Topic
from service.rounds.create import plan_round
from tests.service.admin_helpers import csrf, login, make_admin
from tests.service.round_fixtures import make_org

BASE = "/admin/o/stmarys/topics"
STARTERS = "What surprised you this year?\nWho taught you the most?\nWhat would you change?"


def _signed_in(client: TestClient, db: Session, people: int = 0) -> Organization:
    org = make_org(db, people=people)
    db.commit()
    make_admin(db, org)
    assert login(client, "lead@stmarys.example").status_code == 303  # type: ignore[attr-defined]
    return org


def _post(client: TestClient, path: str, data: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    token = csrf(client, BASE)
    return client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def test_catalog_lists_topics_and_a_new_topic_is_created_and_audited(
    client: TestClient, db: Session
) -> None:
    _signed_in(client, db)
    page = client.get(BASE)
    assert page.status_code == 200 and "New topic" in page.text
    response = _post(
        client,
        f"{BASE}/new",
        {
            "title": "Night shifts",
            "description": "Sleep, food and the 3 a.m. slump.",
            "starters": STARTERS + "\n\n",
            "tags": "wellbeing; Sleep ;wellbeing",
        },
    )
    assert response.status_code == 303
    topic = db.scalar(select(Topic).where(Topic.title == "Night shifts"))
    assert topic is not None and topic.key == "night-shifts"
    assert len(topic.starters) == 3 and topic.tags == ["wellbeing", "sleep"]
    assert "Night shifts" in client.get(BASE).text
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "topic.create")) is not None


def test_too_few_starters_is_refused_with_the_values_kept(client: TestClient, db: Session) -> None:
    _signed_in(client, db)
    response = _post(
        client,
        f"{BASE}/new",
        {"title": "Half <b>done</b>", "description": "", "starters": "Only one?", "tags": ""},
    )
    assert response.status_code == 422
    assert "at least 3 conversation starters" in response.text
    assert "Half &lt;b&gt;done&lt;/b&gt;" in response.text and "Only one?" in response.text
    assert db.scalar(select(Topic).where(Topic.title.like("Half%"))) is None
    long_title = _post(client, f"{BASE}/new", {"title": "x" * 201, "starters": STARTERS})
    assert long_title.status_code == 422 and "at most 200 characters" in long_title.text


def test_editing_a_topic_saves_it_and_logs_before_and_after(
    client: TestClient, db: Session
) -> None:
    org = _signed_in(client, db)
    topic = db.scalars(select(Topic).where(Topic.organization_id == org.id)).first()
    assert topic is not None
    old_title = topic.title
    form = client.get(f"{BASE}/{topic.id}/edit")
    assert form.status_code == 200 and str(escape(topic.title)) in form.text
    response = _post(
        client,
        f"{BASE}/{topic.id}/edit",
        {"title": "Renamed topic", "description": "New words", "starters": STARTERS, "tags": "a"},
    )
    assert response.status_code == 303
    db.expire_all()
    saved = db.get(Topic, topic.id)
    assert saved is not None and saved.title == "Renamed topic" and saved.tags == ["a"]
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "topic.update"))
    assert event is not None and event.after["title"] == "Renamed topic"  # type: ignore[index]
    assert event.before["title"] == old_title  # type: ignore[index]


def test_a_retired_topic_is_left_out_of_the_next_round_and_can_be_restored(
    client: TestClient, db: Session
) -> None:
    org = _signed_in(client, db, people=12)
    now = datetime(2026, 12, 7, 14, tzinfo=UTC)
    used = {g.topic.id for g in plan_round(db, org, "2026-12", now=now).groups if g.topic}
    assert used
    for topic_id in used:
        assert _post(client, f"{BASE}/{topic_id}/retire").status_code == 303
    db.expire_all()
    again = {g.topic.id for g in plan_round(db, org, "2026-12", now=now).groups if g.topic}
    assert again and not again & used
    assert "retired" in client.get(BASE).text
    restore = next(iter(used))
    assert _post(client, f"{BASE}/{restore}/restore").status_code == 303
    db.expire_all()
    assert db.get(Topic, restore).retired_at is None  # type: ignore[union-attr]


def test_calendar_shows_twelve_months_of_available_topics(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    _signed_in(client, db)
    page = client.get(f"{BASE}/calendar")
    assert page.status_code == 200
    assert page.text.count('<th scope="row">') == 12
    assert "not used in the 6 rounds before it" in page.text


def test_another_organizations_topic_is_not_found_and_csrf_is_required(
    client: TestClient, db: Session
) -> None:
    _signed_in(client, db)
    other = make_org(db, slug="general", people=0)
    db.commit()
    theirs = db.scalars(select(Topic).where(Topic.organization_id == other.id)).first()
    assert theirs is not None
    assert client.get(f"{BASE}/{theirs.id}/edit").status_code == 404
    assert _post(client, f"{BASE}/{theirs.id}/retire").status_code == 404
    no_token = client.post(f"{BASE}/new", data={"title": "x", "starters": STARTERS})
    assert no_token.status_code == 403
