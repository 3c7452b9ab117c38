"""Dashboard audit log: newest first, in the organization's time, filterable, paginated."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service import audit
from service.models import AuditEvent, Organization
from tests.service.admin_helpers import login, make_admin

AUDIT = "/admin/o/stmarys/audit"


def add_event(
    db: Session,
    org: Organization | None,
    *,
    actor: str = "lead@stmarys.example",
    action: str = "participant.pause",
    target_type: str = "participant",
    target_id: object = 7,
    at: datetime | None = None,
    before: dict[str, object] | None = None,
    after: dict[str, object] | None = None,
) -> AuditEvent:
    event = audit.record(
        db, org=org, actor=actor, action=action, target_type=target_type,
        target_id=target_id, before=before, after=after,
    )
    if at is not None:
        event.created_at = at
    return event


def actions_shown(html: str) -> list[str]:
    return re.findall(r"<td><code>([^<]+)</code></td>", html)


def test_events_are_listed_newest_first_in_local_time_with_a_diff(
    client: TestClient, db: Session, org: Organization
) -> None:
    make_admin(db, org)
    start = datetime(2026, 7, 1, 16, 5, tzinfo=UTC)
    add_event(db, org, action="participant.pause", at=start,
              before={"status": "active"}, after={"status": "paused", "paused_until": "2026-9-1"})
    add_event(db, org, action="participant.reactivate", at=start + timedelta(hours=1),
              before={"status": "paused"}, after={"status": "active"})
    add_event(db, org, action="participant.import", target_type="participants", target_id="",
              at=start + timedelta(hours=2), after={"created": 3, "file": "<b>x</b>.csv"})
    other = Organization(slug="general", name="General", timezone="UTC")
    db.add(other)
    db.flush()
    add_event(db, other, action="participant.remove", at=start)
    db.commit()
    login(client, "lead@stmarys.example")

    page = client.get(AUDIT)
    assert page.status_code == 200
    # Newest first; another organization's events are not shown.
    # Newest first (signing in just now is logged too); another organization's are not shown.
    assert actions_shown(page.text) == [
        "login", "participant.import", "participant.reactivate", "participant.pause"
    ]
    assert "participant.remove" not in page.text
    assert "2026-07-01 12:05:00" in page.text  # 16:05 UTC in New York (EDT)
    assert "<del>active</del> → <ins>paused</ins>" in page.text
    assert "&lt;b&gt;x&lt;/b&gt;.csv" in page.text
    assert 'href="/admin/o/stmarys/participants/7"' in page.text


def test_filters_by_actor_action_and_target(
    client: TestClient, db: Session, org: Organization
) -> None:
    make_admin(db, org)
    add_event(db, org, actor="amy@stmarys.example", action="participant.pause")
    add_event(db, org, actor="amy@stmarys.example", action="topic.create", target_type="topic")
    add_event(db, org, actor="bo@stmarys.example", action="participant.pause")
    db.commit()
    login(client, "lead@stmarys.example")

    by_amy = client.get(AUDIT, params={"actor": "amy@stmarys.example"}).text
    assert sorted(actions_shown(by_amy)) == ["participant.pause", "topic.create"]
    pauses = client.get(AUDIT, params={"action": "participant.pause"}).text
    assert actions_shown(pauses) == ["participant.pause"] * 2
    topics = client.get(AUDIT, params={"target_type": "topic"}).text
    assert actions_shown(topics) == ["topic.create"]
    both = client.get(AUDIT, params={"actor": "bo@stmarys.example", "target_type": "topic"})
    assert actions_shown(both.text) == [] and "No event matches" in both.text
    # The filter choices are the organization's own values.
    assert '<option value="bo@stmarys.example"' in by_amy


def test_the_log_is_paginated_by_50(client: TestClient, db: Session, org: Organization) -> None:
    make_admin(db, org)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(60):
        add_event(db, org, action=f"test.{i:02d}", target_id=i, at=start + timedelta(minutes=i))
    db.commit()
    login(client, "lead@stmarys.example")
    first = actions_shown(client.get(AUDIT, params={"action": "", "page": 1}).text)
    second_page = client.get(AUDIT, params={"page": 2}).text
    second = actions_shown(second_page)
    assert len(first) == 50 and first[0] == "login" and first[1] == "test.59"
    assert second[-1] == "test.00" and len(first) + len(second) == 61
    assert "Page 2 of 2" in second_page
    assert client.get(AUDIT, params={"page": "-3"}).status_code == 200


def test_participant_actions_from_the_dashboard_appear_in_the_log(
    client: TestClient, db: Session, org: Organization
) -> None:
    from tests.service.admin_helpers import csrf
    from tests.service.test_admin_participants import add_person

    p = add_person(db, org, "ana@stmarys.example", "Ana")
    db.commit()
    make_admin(db, org)
    login(client, "lead@stmarys.example")
    client.post(
        f"/admin/o/stmarys/participants/{p.id}/pause",
        data={"csrf_token": csrf(client, AUDIT), "months": "1"},
    )
    page = client.get(AUDIT, params={"action": "participant.pause"}).text
    assert actions_shown(page) == ["participant.pause"]
    assert "lead@stmarys.example" in page and "<del>active</del> → <ins>paused</ins>" in page
