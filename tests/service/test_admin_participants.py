"""Dashboard Participants area: table, profile, status actions, CSV import and export."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import Settings
from service.links import LinkSigner
from service.models import AuditEvent, Membership, Organization, Participant
from service.participants import csv_io
from service.participants.schemas import ParticipantIn
from service.participants.service import register
from service.rounds.create import create_round
from service.rounds.feedback import record_checkin
from tests.conftest import email_text
from tests.service.admin_helpers import csrf, login, make_admin
from tests.service.round_fixtures import make_org

BASE = "/admin/o/stmarys/participants"


def add_person(
    db: Session, org: Organization, email: str, name: str, **profile: object
) -> Participant:
    data = ParticipantIn(
        email=email,
        full_name=name,
        role=profile.pop("role", "resident"),  # type: ignore[arg-type]
        timezone="America/New_York",
        **profile,  # type: ignore[arg-type]
    )
    return register(db, org, data, source="import", active=True).participant


def signed_in(client: TestClient, db: Session, org: Organization, **kwargs: object) -> None:
    account = make_admin(db, org, **kwargs)  # type: ignore[arg-type]
    assert login(client, account.email).status_code == 303


def profile_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'href="/admin/o/stmarys/participants/(\d+)"', html)]


def csv_text(*rows: dict[str, str]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(csv_io.COLUMNS)
    for values in rows:
        row = {
            "role": "nurse",
            "timezone": "America/New_York",
            "availability": "Mon 12:00-13:00",
            **values,
        }
        writer.writerow([row.get(column, "") for column in csv_io.COLUMNS])
    return buffer.getvalue().encode()


def count_people(db: Session) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(Participant)) or 0


def upload(client: TestClient, data: bytes, **options: str) -> object:
    token = csrf(client, f"{BASE}/import")
    return client.post(
        f"{BASE}/import",
        data={"csrf_token": token, **options},
        files={"file": ("people.csv", data, "text/csv")},
    )


def confirm_import(client: TestClient, report_html: str, **options: str) -> object:
    token = re.search(r'name="token" value="([^"]+)"', report_html)
    assert token, "the report page carries the file for the confirm step"
    return client.post(
        f"{BASE}/import/confirm",
        data={"csrf_token": csrf(client, BASE), "token": token.group(1), **options},
    )


# --- the table ----------------------------------------------------------------------------


def test_table_searches_filters_and_paginates_in_pages_of_50(
    client: TestClient, db: Session, org: Organization
) -> None:
    for i in range(60):
        add_person(
            db, org, f"person{i}@stmarys.example", f"Person {i}",
            role="nurse" if i % 3 == 0 else "resident", department=f"Dept {i % 2}",
            site="North" if i < 10 else "South",
        )
    add_person(db, org, "odd@stmarys.example", "100% Sure_Name", department="Oncology")
    paused = add_person(db, org, "paused@stmarys.example", "Paula Paused")
    paused.status = "paused"
    db.commit()
    signed_in(client, db, org)

    first = client.get(BASE)
    assert first.status_code == 200
    assert len(profile_ids(first.text)) == 50 and "of 62 participants" in first.text
    second = client.get(BASE, params={"page": 2})
    assert len(profile_ids(second.text)) == 12
    assert not set(profile_ids(first.text)) & set(profile_ids(second.text))
    assert "Page 2 of 2" in second.text
    assert client.get(BASE, params={"page": "nonsense"}).status_code == 200

    def names(**params: object) -> set[int]:
        response = client.get(BASE, params=params)
        assert response.status_code == 200
        return set(profile_ids(response.text))

    assert names(q="PERSON 1") == {
        p.id for p in db.scalars(select(Participant).where(Participant.full_name.like("Person 1%")))
    }
    # Wildcards are searched for literally.
    assert names(q="100%") == names(q="%") == names(q="_") == names(q="sure_name")
    assert len(names(q="%")) == 1
    assert len(names(q="person5@stmarys")) == 1
    assert len(names(role="nurse")) == 20
    assert len(names(department="Oncology")) == 1
    assert len(names(site="North", department="Dept 0")) == 5
    assert names(status="paused") == {paused.id}
    assert "Nobody matches these filters" in client.get(BASE, params={"q": "zzz"}).text
    # Filter choices come from the organization's own values.
    assert '<option value="Oncology"' in first.text and '<option value="North"' in first.text
    assert "export.csv?department=Oncology" in client.get(
        BASE, params={"department": "Oncology"}
    ).text


def test_an_empty_organization_shows_how_to_add_people(
    client: TestClient, db: Session, org: Organization
) -> None:
    signed_in(client, db, org)
    page = client.get(BASE)
    assert "No participants yet" in page.text and f"{BASE}/import" in page.text


def test_names_are_escaped_on_the_list_and_the_profile(
    client: TestClient, db: Session, org: Organization
) -> None:
    p = add_person(db, org, "x@stmarys.example", "<script>alert(1)</script>")
    db.commit()
    signed_in(client, db, org)
    for path in (BASE, f"{BASE}/{p.id}"):
        html = client.get(path).text
        assert "<script>alert(1)" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- the profile: rounds and feedback -----------------------------------------------------


@pytest.fixture
def round_org(
    db: Session, settings: Settings, links: LinkSigner
) -> tuple[Organization, Participant]:
    """An organization with a sent round; person 0 said what they learned."""
    org = make_org(db, people=7)
    now = datetime(2026, 12, 7, 14, tzinfo=UTC)
    run = create_round(db, settings, links, org, "2026-12", now=now, send=False)
    run.round.status = "sent"
    person = db.scalar(select(Participant).where(Participant.email == "person0@stmarys.example"))
    assert person is not None
    membership = db.scalar(select(Membership).where(Membership.participant_id == person.id))
    assert membership is not None
    record_checkin(db, membership, met=True, rating=5, learned="How the <b>PICU</b> does rounds")
    db.commit()
    return org, person


def test_profile_shows_rounds_group_members_and_free_text_to_the_org_admin(
    client: TestClient, db: Session, round_org: tuple[Organization, Participant]
) -> None:
    org, person = round_org
    signed_in(client, db, org)
    page = client.get(f"{BASE}/{person.id}")
    assert page.status_code == 200
    assert "2026-12" in page.text and "Rated 5/5".lower() in page.text.lower()
    group = db.scalar(select(Membership).where(Membership.participant_id == person.id))
    assert group is not None
    mates = db.scalars(
        select(Participant.full_name)
        .join(Membership, Membership.participant_id == Participant.id)
        .where(Membership.group_id == group.group_id, Participant.id != person.id)
    ).all()
    assert mates and all(name in page.text for name in mates)
    assert "How the &lt;b&gt;PICU&lt;/b&gt; does rounds" in page.text
    assert "Mon 12:00-13:00" in page.text  # availability as text
    # The table says when they last met.
    assert "Dec 2026" in client.get(BASE, params={"q": "person0@"}).text


def test_a_super_admin_does_not_see_free_text_feedback(
    client: TestClient, db: Session, round_org: tuple[Organization, Participant]
) -> None:
    _, person = round_org
    account = make_admin(db, None, "root@coffee.example", is_super=True)
    login(client, account.email)
    page = client.get(f"{BASE}/{person.id}")
    assert page.status_code == 200 and "rated 5/5" in page.text
    assert "PICU" not in page.text


# --- status actions -----------------------------------------------------------------------


def post(client: TestClient, path: str, **data: str) -> object:
    return client.post(path, data={"csrf_token": csrf(client, BASE), **data})


def events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_pause_and_reactivate_change_status_and_are_audited(
    client: TestClient, db: Session, org: Organization
) -> None:
    p = add_person(db, org, "ana@stmarys.example", "Ana")
    db.commit()
    signed_in(client, db, org)
    paused = post(client, f"{BASE}/{p.id}/pause", months="2")
    assert paused.status_code == 200 and "Ana is paused until" in paused.text
    db.refresh(p)
    assert p.status == "paused" and p.paused_until is not None
    (event,) = events(db, "participant.pause")
    assert event.actor == "lead@stmarys.example" and event.target_id == str(p.id)
    assert event.before == {"status": "active", "paused_until": None}
    assert event.after == {"status": "paused", "paused_until": p.paused_until.isoformat()}

    bad = post(client, f"{BASE}/{p.id}/pause", months="7")
    assert "1, 2 or 3 months" in bad.text

    again = post(client, f"{BASE}/{p.id}/reactivate")
    assert "active again" in again.text
    db.refresh(p)
    assert p.status == "active" and p.paused_until is None
    (event,) = events(db, "participant.reactivate")
    assert event.before is not None and event.before["status"] == "paused"
    assert event.after is not None and event.after["status"] == "active"

    refused = client.post(
        f"{BASE}/{p.id}/reactivate", data={"csrf_token": csrf(client, BASE)},
        follow_redirects=False,
    )
    assert refused.status_code == 303
    assert "can be reactivated" in client.get(refused.headers["location"]).text


def test_someone_who_left_can_be_reactivated(
    client: TestClient, db: Session, org: Organization
) -> None:
    p = add_person(db, org, "ana@stmarys.example", "Ana")
    p.status, p.left_at = "left", datetime(2026, 1, 1, tzinfo=UTC)
    db.commit()
    signed_in(client, db, org)
    post(client, f"{BASE}/{p.id}/reactivate")
    db.refresh(p)
    assert p.status == "active" and p.left_at is None


def test_remove_asks_for_confirmation_then_erases(
    client: TestClient, db: Session, org: Organization
) -> None:
    p = add_person(db, org, "ana@stmarys.example", "Ana Lopez")
    db.commit()
    pid = p.id
    signed_in(client, db, org)
    form = client.get(f"{BASE}/{pid}/remove")
    assert "cannot be undone" in form.text
    unconfirmed = post(client, f"{BASE}/{pid}/remove", confirm_email="someone@else.example")
    assert unconfirmed.status_code == 422 and count_people(db) == 1
    done = post(client, f"{BASE}/{pid}/remove", confirm_email=" ANA@stmarys.example ")
    assert done.status_code == 200 and "personal data is deleted" in done.text
    assert count_people(db) == 0  # never in a round: removed outright
    (event,) = events(db, "participant.remove")
    assert event.before == {"status": "active"} and event.after == {"status": "deleted"}
    assert "ana" not in str(event.before) + str(event.after)
    assert client.get(f"{BASE}/{pid}").status_code == 404


def test_removing_someone_with_history_keeps_an_anonymous_row(
    client: TestClient, db: Session, round_org: tuple[Organization, Participant]
) -> None:
    org, person = round_org
    signed_in(client, db, org)
    post(client, f"{BASE}/{person.id}/remove", confirmed="yes")
    db.expire_all()
    gone = db.get(Participant, person.id)
    assert gone is not None and gone.status == "deleted" and gone.full_name == "Deleted participant"
    assert "person0@" not in client.get(BASE, params={"status": "deleted"}).text


def test_another_organizations_participant_is_not_found(
    client: TestClient, db: Session, org: Organization
) -> None:
    other = Organization(slug="general", name="General", timezone="UTC")
    db.add(other)
    db.flush()
    stranger = add_person(db, other, "x@general.example", "Stranger")
    db.commit()
    signed_in(client, db, org)
    assert client.get(f"{BASE}/{stranger.id}").status_code == 404
    assert post(client, f"{BASE}/{stranger.id}/pause", months="1").status_code == 404
    assert post(client, f"{BASE}/{stranger.id}/remove", confirmed="yes").status_code == 404
    assert client.get("/admin/o/general/participants").status_code == 404
    db.refresh(stranger)
    assert stranger.status == "active"


def test_a_post_without_csrf_token_is_refused(
    client: TestClient, db: Session, org: Organization
) -> None:
    p = add_person(db, org, "ana@stmarys.example", "Ana")
    db.commit()
    signed_in(client, db, org)
    refused = client.post(f"{BASE}/{p.id}/pause", data={"months": "1"})
    assert refused.status_code == 403
    db.refresh(p)
    assert p.status == "active" and events(db, "participant.pause") == []


# --- import and export --------------------------------------------------------------------


def test_a_file_with_a_bad_row_shows_the_report_and_writes_nothing(
    client: TestClient, db: Session, org: Organization
) -> None:
    signed_in(client, db, org)
    data = csv_text(
        {"email": "a@stmarys.example", "full_name": "Amy"},
        {"email": "b@stmarys.example", "full_name": "Bo", "role": "wizard"},
        {"email": "c@stmarys.example", "full_name": "Cy"},
    )
    report = upload(client, data)
    assert report.status_code == 200
    assert "nothing has been written yet" in report.text
    row = re.search(r"<td class=\"num\">3</td><td>role</td><td>(.*?)</td>", report.text)
    assert row and "wizard" in row.group(1) and "attending" in row.group(1)
    assert count_people(db) == 0

    strict = confirm_import(client, report.text)
    assert "2 invalid" not in strict.text and "nothing was imported" in strict.text
    assert count_people(db) == 0

    done = confirm_import(client, report.text, skip_invalid="yes")
    assert "Imported: 2 created, 0 updated" in done.text
    db.expire_all()
    assert set(db.scalars(select(Participant.email))) == {"a@stmarys.example", "c@stmarys.example"}
    (event,) = events(db, "participant.import")
    assert event.after is not None and event.after["created"] == 2
    assert event.after["skipped_invalid"] == 1


def test_an_all_valid_import_with_confirmation_emails(
    client: TestClient, db: Session, org: Organization, emails: object
) -> None:
    existing = add_person(db, org, "a@stmarys.example", "Amy Old")
    db.commit()
    signed_in(client, db, org)
    data = csv_text(
        {"email": "a@stmarys.example", "full_name": "Amy New"},
        {"email": "new@stmarys.example", "full_name": "Newton"},
    )
    report = upload(client, data, require_confirmation="yes")
    assert "Invalid rows" not in report.text
    done = confirm_import(client, report.text, require_confirmation="yes")
    assert "Imported: 1 created, 1 updated" in done.text
    db.refresh(existing)
    assert existing.full_name == "Amy New" and existing.status == "active"
    new = db.scalar(select(Participant).where(Participant.email == "new@stmarys.example"))
    assert new is not None and new.status == "pending"
    sent = emails()  # type: ignore[operator]
    assert [m["To"] for m in sent] == ["Newton <new@stmarys.example>"]
    assert "/o/stmarys/confirm/" in email_text(sent[0])


def test_an_unusable_file_or_a_tampered_token_is_refused(
    client: TestClient, db: Session, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    signed_in(client, db, org)
    wrong = upload(client, b"name,mail\nAmy,a@x.example\n")
    assert wrong.status_code == 422 and "line 1: the header must be" in wrong.text
    assert "the file is empty" in upload(client, b"").text
    no_file = client.post(f"{BASE}/import", data={"csrf_token": csrf(client, BASE)})
    assert no_file.status_code == 422 and "Choose a CSV file" in no_file.text
    with monkeypatch.context() as patched:
        patched.setattr(csv_io, "MAX_FILE_BYTES", 100)
        big = upload(client, csv_text(*({"email": f"p{i}@x.example"} for i in range(5))))
        assert big.status_code == 422 and "larger than" in big.text
    report = upload(client, csv_text({"email": "a@stmarys.example", "full_name": "Amy"}))
    forged = report.text.replace('name="token" value="', 'name="token" value="x', 1)
    refused = confirm_import(client, forged)
    assert "Upload the file again" in refused.text and count_people(db) == 0


def test_export_gives_the_cli_format_with_the_tables_filters(
    client: TestClient, db: Session, org: Organization
) -> None:
    add_person(db, org, "b@stmarys.example", "=Bo", department="ICU", avoid=["z@x.example"])
    add_person(db, org, "a@stmarys.example", "Amy", department="ER")
    db.commit()
    signed_in(client, db, org)
    response = client.get(f"{BASE}/export.csv")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="participants-stmarys-\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["content-disposition"],
    )
    expected = io.StringIO()
    csv_io.write_participants_csv(csv_io.participants_for_export(db, org), expected)
    assert response.text == expected.getvalue()
    assert "'=Bo" in response.text  # formula cells are defused, as in the CLI
    only_icu = client.get(f"{BASE}/export.csv", params={"department": "ICU"}).text
    assert only_icu.count("\n") == 2 and "b@stmarys.example" in only_icu
    assert only_icu.rstrip("\n").endswith(",z@x.example")  # the avoid list is the last column
    (first, second) = events(db, "participant.export")
    assert {first.after["rows"], second.after["rows"]} == {2, 1}  # type: ignore[index]
