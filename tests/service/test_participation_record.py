"""A participant's printable participation record and its CSV, behind the member link."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service.links import LinkSigner
from service.models import Organization, Participant
from service.participation import participation_record
from service.public.member import member_path, member_token
from tests.service.participation_helpers import chat, checkin, introduction, person

XSS = "<script>alert(1)</script>"


@dataclass
class History:
    ann: Participant
    base: str  # Ann's member link


def _history(db: Session, org: Organization, links: LinkSigner) -> History:
    """Ann: one chat she met in (with a reflection), one she said did not happen, one she
    dropped out of, one accepted introduction; plus chats that must not show."""
    ann = person(db, org, "Ann Lee", "Cardiology", role="resident")
    bo = person(db, org, "Bo Chen", "Nursing")
    cy = person(db, org, "Cy Diaz", "Pharmacy")
    di = person(db, org, "Di Evans", "Nursing")
    ed = person(db, org, "Ed Fox", "Radiology")
    met = chat(db, org, "2026-01", [ann, bo, cy], topic="Burnout and recovery", minutes=30)
    checkin(db, met[ann.id], met=True, learned="Ask pharmacy early.\nThey want to help.")
    missed = chat(db, org, "2026-02", [ann, di, ed], topic="Teaching on the ward", minutes=45)
    checkin(db, missed[ann.id], met=False)
    chat(db, org, "2026-03", [ann, bo, ed], topic="Night shifts", dropped=(ann,))
    introduction(db, org, ann, ed, when=datetime(2026, 3, 20, 15, tzinfo=UTC), minutes=20)
    # Not sent yet, and another hospital: neither appears.
    chat(db, org, "2026-04", [ann, cy, di], topic="Preview topic", status="preview")
    other = Organization(slug="north", name="North General", timezone="UTC")
    db.add(other)
    db.flush()
    db.commit()
    return History(ann, member_path(org, member_token(links, ann)))


def test_record_page_shows_totals_every_entry_and_prints(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    h = _history(db, org, links)
    page = client.get(f"{h.base}/record")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    text = page.text
    # Totals: the January chat and the introduction count (30 + 20 minutes); the February
    # chat she said did not happen and the March one she dropped out of do not.
    assert "<dt>Coffee chats</dt><dd>1</dd>" in text
    assert "<dt>Introductions</dt><dd>1</dd>" in text
    assert "<dt>Hours invested</dt><dd>0.8</dd>" in text
    assert "<dt>Colleagues met</dt><dd>3</dd>" in text  # Bo, Cy, Ed
    assert "<dt>Departments reached</dt><dd>3</dd>" in text  # Nursing, Pharmacy, Radiology
    for expected in (
        "January 2026", "Burnout and recovery", "Bo Chen, Cy Diaz", "Nursing, Pharmacy",
        "Didn&#39;t happen", "Couldn&#39;t make it", "Grant writing", "Ed Fox", "20 min",
        "Ask pharmacy early.\nThey want to help.", "Ann Lee", "Cardiology",
    ):
        assert expected in text, expected
    assert "Preview topic" not in text
    # Print support without inline script (the CSP forbids it).
    assert '<link rel="stylesheet" href="/static/css/print.css">' in text
    assert '<script src="/static/js/print.js" defer></script>' in text
    assert "data-print" in text and "onclick" not in text
    assert f'href="{h.base}/record.csv"' in text
    css = client.get("/static/css/print.css")
    assert css.status_code == 200 and "@media print" in css.text
    assert "window.print()" in client.get("/static/js/print.js").text


def test_entries_come_oldest_first_with_their_outcome(
    db: Session, org: Organization, links: LinkSigner
) -> None:
    h = _history(db, org, links)
    record = participation_record(db, org, h.ann)
    assert [(e.month, e.kind, e.outcome) for e in record.entries] == [
        ("2026-01", "chat", "Met"),
        ("2026-02", "chat", "Didn't happen"),
        ("2026-03", "chat", "Couldn't make it"),
        ("2026-03", "introduction", "Met"),
    ]
    dropped = record.entries[2]
    assert dropped.group_size == 2 and dropped.colleagues == ("Bo Chen", "Ed Fox")
    assert record.entries[1].minutes == 45 and record.entries[3].minutes == 20
    assert record.totals.minutes == 50


def test_record_csv_is_theirs_in_full(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    h = _history(db, org, links)
    response = client.get(f"{h.base}/record.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.headers["cache-control"] == "no-store"
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["month"] for r in rows] == ["2026-01", "2026-02", "2026-03", "2026-03"]
    first = rows[0]
    assert first["type"] == "Coffee chat" and first["topic"] == "Burnout and recovery"
    assert first["duration_minutes"] == "30" and first["group_size"] == "3"
    assert first["colleagues"] == "Bo Chen; Cy Diaz"
    assert first["departments_met"] == "Nursing; Pharmacy"
    assert first["outcome"] == "Met"
    assert first["reflection"] == "Ask pharmacy early.\nThey want to help."
    intro = rows[3]
    assert intro["type"] == "Introduction" and intro["topic"] == "Introduction: Grant writing"
    assert intro["colleagues"] == "Ed Fox" and intro["departments_met"] == "Radiology"


def test_a_cell_that_looks_like_a_formula_is_neutralised(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    ann = person(db, org, "Ann Lee", "Cardiology")
    bo = person(db, org, "Bo Chen", "=HYPERLINK(\"http://evil\")")
    chat(db, org, "2026-01", [ann, bo], topic="@SUM(A1)")
    db.commit()
    response = client.get(f"{member_path(org, member_token(links, ann))}/record.csv")
    [row] = list(csv.DictReader(io.StringIO(response.text)))
    assert row["topic"] == "'@SUM(A1)"
    assert row["departments_met"].startswith("'=")


def test_the_candidate_sees_the_introduction_too_and_deleted_colleagues_are_not_named(
    db: Session, org: Organization, links: LinkSigner
) -> None:
    ann = person(db, org, "Ann Lee", "Cardiology")
    ed = person(db, org, "Ed Fox", "Radiology")
    gone = person(db, org, "Deleted participant", "Nursing", status="deleted")
    introduction(db, org, ann, ed, when=datetime(2026, 5, 3, 14, tzinfo=UTC), met=None)
    chat(db, org, "2026-05", [ed, gone])
    db.commit()
    entries = participation_record(db, org, ed).entries
    assert [(e.kind, e.colleagues, e.outcome) for e in entries] == [
        ("chat", ("Former participant",), "Not recorded"),
        ("introduction", ("Ann Lee",), "Not recorded"),
    ]


def test_an_empty_record_says_so(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    ann = person(db, org, "Ann Lee", "Cardiology")
    db.commit()
    page = client.get(f"{member_path(org, member_token(links, ann))}/record")
    assert page.status_code == 200
    assert "Nothing here yet" in page.text
    assert "<dt>Hours invested</dt><dd>0</dd>" in page.text
    rows = list(csv.reader(io.StringIO(client.get(
        f"{member_path(org, member_token(links, ann))}/record.csv").text)))
    assert rows == [["month", "type", "topic", "duration_minutes", "group_size", "colleagues",
                     "departments_met", "outcome", "reflection"]]


def test_names_and_topics_are_escaped(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    ann = person(db, org, XSS, XSS)
    bo = person(db, org, XSS + " Bo", XSS)
    membership = chat(db, org, "2026-01", [ann, bo], topic=XSS)
    checkin(db, membership[ann.id], met=True, learned=XSS)
    db.commit()
    page = client.get(f"{member_path(org, member_token(links, ann))}/record")
    assert page.status_code == 200
    assert XSS not in page.text and "&lt;script&gt;" in page.text


def test_the_record_needs_a_current_member_link(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    ann = person(db, org, "Ann Lee", "Cardiology")
    db.commit()
    manage = links.make("manage", participant_id=ann.id, version=ann.link_version)
    for suffix in ("record", "record.csv"):
        assert client.get(f"/o/stmarys/my/{manage}/{suffix}").status_code == 400
        assert client.get(f"/o/stmarys/my/not-a-token/{suffix}").status_code == 400
    token = member_token(links, ann)
    ann.status, ann.link_version = "left", ann.link_version + 1
    db.commit()
    for suffix in ("record", "record.csv"):
        response = client.get(f"/o/stmarys/my/{token}/{suffix}")
        assert response.status_code == 400 and "no longer valid" in response.text
    assert client.get(f"/o/nowhere/my/{token}/record").status_code == 404
