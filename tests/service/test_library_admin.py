"""The library on the dashboard: list, hide and show again (audited), CSV import and export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.library import csv_io
from service.links import LinkSigner
from service.models import AuditEvent, Organization, Resource, Topic
from tests.service.admin_helpers import csrf, login, make_admin
from tests.service.library_helpers import add_resource, library_path
from tests.service.test_public_manage import active_participant

BASE = "/admin/o/stmarys/library"


def signed_in(client: TestClient, db: Session, org: Organization) -> None:
    account = make_admin(db, org)
    assert login(client, account.email).status_code == 303


def resources(db: Session) -> list[Resource]:
    db.expire_all()
    return list(db.scalars(select(Resource).order_by(Resource.id)))


def audit_actions(db: Session) -> list[str]:
    db.expire_all()
    return [e.action for e in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]


def csv_bytes(*rows: dict[str, str], header: tuple[str, ...] = csv_io.COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header])
    return buffer.getvalue().encode()


def upload(client: TestClient, data: bytes) -> Response:
    token = csrf(client, f"{BASE}/import")
    return client.post(
        f"{BASE}/import",
        data={"csrf_token": token},
        files={"file": ("library.csv", data, "text/csv")},
    )


def confirm(client: TestClient, report_html: str) -> Response:
    token = re.search(r'name="token" value="([^"]+)"', report_html)
    assert token, "the report page carries the file for the confirm step"
    return client.post(
        f"{BASE}/import/confirm",
        data={"csrf_token": csrf(client, BASE), "token": token.group(1)},
    )


# --- the list, hiding --------------------------------------------------------------------


def test_the_list_shows_every_resource_and_filters_by_status(
    client: TestClient, db: Session, org: Organization
) -> None:
    add_resource(db, org, "https://example.org/a", "Visible guide", tags="sleep")
    hidden = add_resource(db, org, "https://spam.example/", "Spam offer")
    hidden.hidden_at, hidden.hidden_by = datetime.now(UTC), "lead@stmarys.example"
    db.commit()
    signed_in(client, db, org)
    page = client.get(BASE)
    assert page.status_code == 200
    assert f'href="{BASE}" aria-current="page">Library</a>' in page.text
    assert "Visible guide" in page.text and "Spam offer" in page.text
    assert "by lead@stmarys.example" in page.text
    visible_only = client.get(f"{BASE}?status=visible").text
    assert "Visible guide" in visible_only and "Spam offer" not in visible_only
    hidden_only = client.get(f"{BASE}?status=hidden").text
    assert "Spam offer" in hidden_only and "Visible guide" not in hidden_only
    assert "Spam offer" not in client.get(f"{BASE}?q=guide").text
    assert client.get(f"{BASE}?page=zz&sort=evil&status=evil&topic=x").status_code == 200
    assert client.get(f"{BASE}?topic={'9' * 30}").status_code == 200


def test_hiding_removes_a_resource_for_participants_and_is_audited(
    client: TestClient, db: Session, org: Organization, links: LinkSigner
) -> None:
    resource = add_resource(db, org, "https://spam.example/", "Spam offer")
    reader = active_participant(db, org)
    signed_in(client, db, org)
    token = csrf(client, BASE)
    response = client.post(
        f"{BASE}/{resource.id}/hide",
        data={"csrf_token": token, "q": "spam", "status": "all"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"{BASE}?q=spam&status=all"
    page = client.get(response.headers["location"])
    assert "is hidden" in page.text
    [stored] = resources(db)
    assert stored.hidden_at is not None and stored.hidden_by == "lead@stmarys.example"
    assert audit_actions(db)[-1] == "resource.hide"
    assert "Spam offer" not in client.get(library_path(links, org, reader)).text

    again = client.post(f"{BASE}/{resource.id}/hide", data={"csrf_token": token})
    assert "hidden already" in again.text
    assert audit_actions(db).count("resource.hide") == 1

    client.post(f"{BASE}/{resource.id}/unhide", data={"csrf_token": token})
    assert resources(db)[0].hidden_at is None
    assert audit_actions(db)[-1] == "resource.unhide"
    assert "Spam offer" in client.get(library_path(links, org, reader)).text


def test_another_hospitals_resource_cannot_be_hidden(
    client: TestClient, db: Session, org: Organization
) -> None:
    other = Organization(slug="north", name="North", timezone="UTC")
    db.add(other)
    db.commit()
    foreign = add_resource(db, other, "https://example.org/f", "Foreign")
    signed_in(client, db, org)
    token = csrf(client, BASE)
    assert client.post(f"{BASE}/{foreign.id}/hide", data={"csrf_token": token}).status_code == 404
    for missing in (999_999, 10**20):
        response = client.post(f"{BASE}/{missing}/hide", data={"csrf_token": token})
        assert response.status_code == 404
    assert resources(db)[0].hidden_at is None


# --- export -------------------------------------------------------------------------------


def test_export_writes_every_resource_and_marks_the_hidden_ones(
    client: TestClient, db: Session, org: Organization
) -> None:
    topic = Topic(organization_id=org.id, key="sleep", title="Sleep and shifts", description="",
                  starters=[])
    db.add(topic)
    db.commit()
    add_resource(db, org, "https://example.org/a", "=HYPERLINK(\"x\")", why="Why, with a comma",
                 tags="sleep, night shifts", topic_id=topic.id, useful=3)
    hidden = add_resource(db, org, "https://spam.example/", "Spam")
    hidden.hidden_at = datetime.now(UTC)
    db.commit()
    signed_in(client, db, org)
    response = client.get(f"{BASE}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["url"] for r in rows] == ["https://example.org/a", "https://spam.example/"]
    assert rows[0]["title"] == "'=HYPERLINK(\"x\")"  # never run as a formula
    assert (rows[0]["why"], rows[0]["tags"], rows[0]["topic"]) == (
        "Why, with a comma", "sleep; night shifts", "Sleep and shifts"
    )
    assert (rows[0]["useful_count"], rows[0]["hidden"], rows[1]["hidden"]) == ("3", "no", "yes")
    assert audit_actions(db)[-1] == "resource.export"


# --- import -------------------------------------------------------------------------------


def test_import_checks_first_then_writes_on_confirmation(
    client: TestClient, db: Session, org: Organization
) -> None:
    db.add(Topic(organization_id=org.id, key="sleep", title="Sleep", description="", starters=[]))
    db.commit()
    add_resource(db, org, "https://example.org/known", "Old title")
    signed_in(client, db, org)
    data = csv_bytes(
        {"url": "https://example.org/new", "title": "New one", "tags": "Sleep; Naps",
         "topic": "sleep", "created_at": "2025-05-01"},
        {"url": "example.org/known", "title": "Better title", "why": "Updated"},
        {"url": "https://spam.example/", "title": "Spam", "hidden": "yes"},
    )
    report = upload(client, data)
    assert report.status_code == 200
    assert "nothing has been written yet" in report.text
    assert [r.title for r in resources(db)] == ["Old title"]  # the check writes nothing
    done = confirm(client, report.text)
    assert "Imported: 2 added, 1 updated, 0 unchanged, 1 hidden." in done.text
    stored = {r.url: r for r in resources(db)}
    new = stored["https://example.org/new"]
    assert new.tags == ["sleep", "naps"] and new.source == "import" and new.topic_id is not None
    assert new.created_at.date().isoformat() == "2025-05-01"
    assert stored["https://example.org/known"].title == "Better title"
    assert stored["https://spam.example/"].hidden_at is not None
    assert audit_actions(db)[-1] == "resource.import"


def test_an_exported_file_imports_back_unchanged(
    client: TestClient, db: Session, org: Organization
) -> None:
    add_resource(db, org, "https://example.org/a", "-3 tips", why="Short", tags="a, b", useful=2)
    add_resource(db, org, "https://example.org/b", "B")
    signed_in(client, db, org)
    exported = client.get(f"{BASE}/export.csv").content
    done = confirm(client, upload(client, exported).text)
    assert "0 added, 0 updated, 2 unchanged" in done.text
    assert [(r.title, r.useful_count) for r in resources(db)] == [("-3 tips", 2), ("B", 0)]


def test_an_import_never_shows_a_hidden_resource_again(
    client: TestClient, db: Session, org: Organization
) -> None:
    hidden = add_resource(db, org, "https://spam.example/", "Spam")
    hidden.hidden_at = datetime.now(UTC)
    db.commit()
    signed_in(client, db, org)
    data = csv_bytes({"url": "https://spam.example/", "title": "Spam", "hidden": "no"})
    confirm(client, upload(client, data).text)
    assert resources(db)[0].hidden_at is not None


def test_every_bad_row_is_reported_by_line_and_nothing_is_imported(
    client: TestClient, db: Session, org: Organization
) -> None:
    signed_in(client, db, org)
    data = csv_bytes(
        {"url": "https://example.org/ok", "title": "Fine"},
        {"url": "javascript:alert(1)", "title": "<b>x</b>"},
        {"url": "https://example.org/ok#again", "title": "Same link"},
        {"url": "https://example.org/t", "title": "T", "tags": "a,b,c,d,e,f", "topic": "nope",
         "created_at": "yesterday", "useful_count": "-1", "hidden": "maybe"},
    )
    report = upload(client, data)
    assert report.status_code == 200
    rows = re.findall(r"<tr><td class=\"num\">(\d+)</td><td>([^<]+)</td><td>([^<]+)</td></tr>",
                      report.text)
    found = {(int(line), column) for line, column, _ in rows}
    assert found == {
        (3, "url"), (3, "title"), (4, "url"),
        (5, "tags"), (5, "topic"), (5, "created_at"), (5, "useful_count"), (5, "hidden"),
    }
    assert "the same link as line 2" in report.text
    assert 'name="token"' not in report.text  # no way to import a partly bad file
    assert resources(db) == []


def test_files_that_cannot_be_read_are_refused_with_a_reason(
    client: TestClient, db: Session, org: Organization
) -> None:
    signed_in(client, db, org)
    bad_header = upload(client, csv_bytes(header=("url", "title")))
    assert bad_header.status_code == 422
    assert "the header must be exactly these columns" in bad_header.text
    assert "UTF-16" in upload(client, "url".encode("utf-16")).text
    assert "is empty" in upload(client, b"").text
    token = csrf(client, f"{BASE}/import")
    assert "Choose a CSV file" in client.post(f"{BASE}/import", data={"csrf_token": token}).text
    tampered = client.post(
        f"{BASE}/import/confirm", data={"csrf_token": csrf(client, BASE), "token": "forged"}
    )
    assert "expired or was changed" in tampered.text
    assert resources(db) == []
