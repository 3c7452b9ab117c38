"""The wellness lead's participation export: consent respected, no reflections, no colleagues'
names, a validated month range, and an audit entry for every download."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.models import AuditEvent, Organization
from tests.service.admin_helpers import login, make_admin
from tests.service.participation_helpers import chat, checkin, introduction, person

BASE = "/admin/o/stmarys/participation"


def _setup(db: Session, org: Organization) -> None:
    ann = person(db, org, "Ann Lee", "Cardiology", role="resident", site="North")
    bo = person(db, org, "Bo Chen", "Nursing", include_in_exports=False)
    cy = person(db, org, "Cy Diaz", "Pharmacy")
    ed = person(db, org, "Ed Fox", "Radiology")
    first = chat(db, org, "2026-01", [ann, bo, cy], topic="Burnout and recovery")
    checkin(db, first[ann.id], met=True, learned="A private reflection")
    chat(db, org, "2026-03", [ann, ed, cy], topic="Night shifts", dropped=(cy,))
    chat(db, org, "2026-06", [ann, bo, ed], topic="Outside the range")
    introduction(db, org, ann, ed, when=datetime(2026, 2, 10, 15, tzinfo=UTC))
    make_admin(db, org)


def _rows(response) -> list[dict[str, str]]:  # noqa: ANN001
    assert response.status_code == 200, response.text
    return list(csv.DictReader(io.StringIO(response.text)))


def test_export_has_one_row_per_person_per_chat_for_those_who_agreed(
    client: TestClient, db: Session, org: Organization
) -> None:
    _setup(db, org)
    login(client, "lead@stmarys.example")
    response = client.get(f"{BASE}.csv", params={"start": "2026-01", "end": "2026-03"})
    assert response.headers["content-disposition"] == (
        'attachment; filename="participation-stmarys-2026-01-to-2026-03.csv"'
    )
    assert response.headers["cache-control"] == "no-store"
    rows = _rows(response)
    assert [(r["name"], r["month"], r["type"], r["outcome"]) for r in rows] == [
        ("Ann Lee", "2026-01", "Coffee chat", "Met"),
        ("Ann Lee", "2026-02", "Introduction", "Met"),
        ("Ann Lee", "2026-03", "Coffee chat", "Not recorded"),
        ("Cy Diaz", "2026-01", "Coffee chat", "Not recorded"),
        ("Cy Diaz", "2026-03", "Coffee chat", "Couldn't make it"),
        ("Ed Fox", "2026-02", "Introduction", "Met"),
        ("Ed Fox", "2026-03", "Coffee chat", "Not recorded"),
    ]
    ann = rows[0]
    assert ann["email"] == "ann.lee@stmarys.example" and ann["role"] == "Resident"
    assert ann["department"] == "Cardiology" and ann["site"] == "North"
    assert ann["group_size"] == "3" and ann["duration_minutes"] == "30"
    # Bo opted out: not a row of their own, and never named (nobody is), though the
    # department of the people Ann met is there.
    assert ann["departments_met"] == "Nursing; Pharmacy"
    text = response.text
    assert "Bo Chen" not in text and "bo.chen@" not in text
    assert "A private reflection" not in text
    assert "reflection" not in rows[0] and "colleagues" not in rows[0]


def test_every_download_is_audited(client: TestClient, db: Session, org: Organization) -> None:
    _setup(db, org)
    login(client, "lead@stmarys.example")
    client.get(f"{BASE}.csv", params={"start": "2026-01", "end": "2026-06"})
    [event] = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "participation.export")
    ).all()
    assert event.actor == "lead@stmarys.example"
    assert event.after == {"start": "2026-01", "end": "2026-06", "people": 3, "rows": 9}


def test_the_form_says_who_is_left_out_and_checks_the_months(
    client: TestClient, db: Session, org: Organization
) -> None:
    _setup(db, org)
    login(client, "lead@stmarys.example")
    page = client.get(BASE)
    assert page.status_code == 200
    assert "<strong>1</strong> person has opted out" in page.text
    assert 'action="/admin/o/stmarys/participation.csv"' in page.text
    assert 'type="month"' in page.text

    cases = [
        ({}, ["start", "end"]),
        ({"start": "2026-13", "end": "2026-03"}, ["start"]),
        ({"start": "2026-03", "end": "March"}, ["end"]),
        ({"start": "2026-04", "end": "2026-03"}, ["end"]),
        ({"start": "2000-01", "end": "2026-03"}, ["end"]),
        ({"start": "<script>", "end": "2026-03"}, ["start"]),
    ]
    for params, fields in cases:
        response = client.get(f"{BASE}.csv", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"].startswith("text/html")
        for name in fields:
            assert f'id="{name}-error"' in response.text, (params, name)
        assert "<script>" not in response.text
        # The values typed are kept.
        for value in params.values():
            if value != "<script>":
                assert f'value="{value}"' in response.text
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "participation.export")) is None


def test_the_participants_page_links_to_the_export(
    client: TestClient, db: Session, org: Organization
) -> None:
    make_admin(db, org)
    login(client, "lead@stmarys.example")
    assert f'href="{BASE}"' in client.get("/admin/o/stmarys/participants").text


def test_the_profile_page_shows_both_choices(
    client: TestClient, db: Session, org: Organization
) -> None:
    ann = person(db, org, "Ann Lee", "Cardiology", include_in_exports=False)
    make_admin(db, org)
    db.commit()
    login(client, "lead@stmarys.example")
    page = client.get(f"/admin/o/stmarys/participants/{ann.id}").text
    assert "Left out (their choice)" in page
    assert "Colleagues may ask to meet them" in page
