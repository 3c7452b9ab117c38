"""The invites a round stores, read by other software: icalendar, vobject and Node's ical.js
for the .ics, Python's email parser for the MIME tree; hostile and non-Latin names; DST."""

from __future__ import annotations

import email
import email.policy
import html
import json
import shutil
import subprocess
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import vobject
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.links import LinkSigner
from service.models import Membership, Organization, OutboxMessage, Participant
from service.participants.schemas import ParticipantIn
from service.participants.service import register
from service.rounds.changes import drop_out
from service.rounds.create import create_round
from tests.service.round_fixtures import make_org

DEC_ROUND_TIME = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
JS_DIR = Path(__file__).resolve().parents[1] / "js"
NAMES = [
    'Zoë O\'Brien, MD; "Chief"',
    "王小明",
    "Αλέξης Παπαδόπουλος",
    "محمد عبد الله",
    'Ann: Lee, \\"RN\\"',
]
# Bypasses the schema (which refuses line breaks), as old imported data might: the invite
# code itself must still never let it start a header or an iCalendar property.
HOSTILE = "Eve\r\nBcc: evil@attacker.example\r\nATTENDEE:mailto:evil@attacker.example"
ALLOWED_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
    "list-unsubscribe",
    "list-unsubscribe-post",
    "auto-submitted",
    "x-auto-response-suppress",
    "reply-to",
    "precedence",
}
HOSTILE_ONE_LINE = "Eve Bcc: evil@attacker.example ATTENDEE:mailto:evil@attacker.example"


def parse(body: bytes) -> EmailMessage:
    message = email.message_from_bytes(body, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def calendar_parts(message: EmailMessage) -> tuple[EmailMessage, EmailMessage]:
    """Check the MIME tree and return (inline text/calendar, application/ics attachment)."""
    assert message.get_content_type() == "multipart/mixed"
    alternative, attachment = message.get_payload()  # type: ignore[misc]
    assert alternative.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in alternative.get_payload()]
    assert types == ["text/plain", "text/html", "text/calendar"]
    assert attachment.get_content_type() == "application/ics"
    assert attachment.get_content_disposition() == "attachment"
    inline = alternative.get_payload()[2]
    for part in (inline, attachment):
        assert part["Content-Transfer-Encoding"] == "base64"
    return inline, attachment


def check_wire_format(body: bytes) -> None:
    assert body.count(b"\n") == body.count(b"\r\n"), "bare LF"
    assert body.count(b"\r") == body.count(b"\r\n"), "bare CR"
    longest = max(len(line) for line in body.split(b"\r\n"))
    assert longest <= 998
    body.decode("ascii")  # 7-bit on the wire: no 8BITMIME needed


def check_icalendar(data: bytes, method: str) -> Calendar:
    calendar = Calendar.from_ical(data)
    for component in calendar.walk():
        assert component.errors == [], (component.name, component.errors)
    assert str(calendar["METHOD"]) == method
    [event] = calendar.walk("VEVENT")
    expected = "CANCELLED" if method == "CANCEL" else "CONFIRMED"
    assert str(event["STATUS"]) == expected
    return calendar


def attendees(calendar: Calendar) -> dict[str, str]:
    [event] = calendar.walk("VEVENT")
    found = event.get("ATTENDEE")
    found = found if isinstance(found, list) else [found]
    return {str(a).removeprefix("mailto:"): str(a.params.get("CN", "")) for a in found}


def ical_js(paths: list[Path]) -> list[dict[str, object]]:
    if shutil.which("node") is None:
        pytest.skip("node is not installed (Node 20 runs ical.js)")
    if not (JS_DIR / "node_modules" / "ical.js").exists():
        pytest.skip("ical.js is missing: run `cd tests/js && npm install`")
    result = subprocess.run(
        ["node", str(JS_DIR / "parse_ics.mjs"), *map(str, paths)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def compare_with_ical_js(data: bytes, calendar: Calendar, path: Path) -> None:
    path.write_bytes(data)
    [parsed] = ical_js([path])
    [theirs] = parsed["events"]  # type: ignore[misc]
    [ours] = calendar.walk("VEVENT")
    assert parsed["method"] == str(calendar["METHOD"])
    assert theirs["uid"] == str(ours["UID"])
    assert theirs["sequence"] == int(ours["SEQUENCE"])
    assert theirs["status"] == str(ours["STATUS"])
    start = ours.decoded("DTSTART").astimezone(UTC)
    assert theirs["dtstart"] == start.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    assert theirs["summary"] == str(ours["SUMMARY"])
    assert theirs["description"] == str(ours["DESCRIPTION"])
    assert {a["email"]: a["cn"] for a in theirs["attendees"]} == attendees(calendar)
    assert {(a["partstat"], str(a["rsvp"]).upper()) for a in theirs["attendees"]} == {
        ("NEEDS-ACTION", "TRUE")
    }
    assert theirs["organizer"]["email"] == "coffee@hospital.example"


def names_org(session: Session) -> Organization:
    org = make_org(session, people=0)
    for i, name in enumerate([*NAMES, "Eve"]):
        register(
            session,
            org,
            ParticipantIn(
                email=f"member{i}@stmarys.example",
                full_name=name,
                role="nurse" if i % 2 else "attending",
                department=f"Dept {i % 3}",
                timezone="America/New_York",
                availability="Mon 12:00-13:00; Tue 12:00-13:00",
            ),
            source="import",
            active=True,
        )
    eve = session.scalar(select(Participant).where(Participant.full_name == "Eve"))
    assert eve is not None
    eve.full_name = HOSTILE
    session.flush()
    return org


def test_round_invites_parse_everywhere_and_names_round_trip(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, tmp_path: Path
) -> None:
    with factory.begin() as session:
        org = names_org(session)
        create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME)
    with factory() as session:
        rows = list(session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invite")))
        people = {p.email: p.full_name for p in session.scalars(select(Participant))}
    assert len(rows) == 6
    expected_cn = {
        address: HOSTILE_ONE_LINE if name == HOSTILE else name.replace("\\", "/")
        for address, name in people.items()
    }
    for number, row in enumerate(rows):
        check_wire_format(row.body)
        message = parse(row.body)
        assert message["Message-ID"] == row.message_id
        assert message["Bcc"] is None and "evil" not in str(message.keys()).lower()
        [to] = message["To"].addresses
        assert to.addr_spec == row.to_address
        if people[row.to_address] != HOSTILE:
            assert to.display_name == people[row.to_address]
        inline, attachment = calendar_parts(message)
        assert inline.get_param("method") == "REQUEST"
        data = inline.get_payload(decode=True)
        assert data == attachment.get_payload(decode=True)
        calendar = check_icalendar(data, "REQUEST")
        members = attendees(calendar)
        assert row.to_address in members and len(members) == 3
        assert members == {address: expected_cn[address] for address in members}
        # The hostile name added no property anywhere.
        assert data.count(b"\r\nATTENDEE") == 3 and b"\r\nBcc" not in data
        vobject.readOne(data.decode()).validate()
        compare_with_ical_js(data, calendar, tmp_path / f"request-{number}.ics")
        # The names reach the email body unchanged (escaped in HTML).
        text_part = message.get_body(preferencelist=("plain",))
        html_part = message.get_body(preferencelist=("html",))
        assert text_part is not None and html_part is not None
        plain, markup = str(text_part.get_content()), str(html_part.get_content())
        for address in members:
            name = people[address]
            if name != HOSTILE:
                assert name in plain
                assert name in html.unescape(markup)
        assert '"Chief"' not in markup  # quotes are escaped in HTML
        # The hostile name stays inside the encoded body text, never in any part's headers.
        for part in message.walk():
            assert {key.lower() for key in part} <= ALLOWED_HEADERS


def test_a_cancel_after_drop_out_parses_everywhere(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner, tmp_path: Path
) -> None:
    with factory.begin() as session:
        org = names_org(session)
        create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME)
        zoe = session.scalar(select(Participant).where(Participant.full_name == NAMES[0]))
        assert zoe is not None
        membership = session.scalar(select(Membership).where(Membership.participant_id == zoe.id))
        assert membership is not None
        assert drop_out(session, settings, links, org, zoe, membership)
    with factory() as session:
        [cancel] = session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "invite_cancel")
        )
        [original] = session.scalars(
            select(OutboxMessage).where(
                OutboxMessage.kind == "invite", OutboxMessage.participant_id == zoe.id
            )
        )
        updates = list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invite_update"))
        )
    check_wire_format(cancel.body)
    inline, attachment = calendar_parts(parse(cancel.body))
    assert inline.get_param("method") == "CANCEL"
    data = inline.get_payload(decode=True)
    assert data == attachment.get_payload(decode=True)
    calendar = check_icalendar(data, "CANCEL")
    assert attendees(calendar) == {zoe.email: NAMES[0]}
    vobject.readOne(data.decode()).validate()
    compare_with_ical_js(data, calendar, tmp_path / "cancel.ics")

    first = check_icalendar(
        calendar_parts(parse(original.body))[0].get_payload(decode=True), "REQUEST"
    )
    [before], [after] = first.walk("VEVENT"), calendar.walk("VEVENT")
    assert str(after["UID"]) == str(before["UID"])
    assert int(after["SEQUENCE"]) == int(before["SEQUENCE"]) + 1
    # The two who stay get the new REQUEST at the same SEQUENCE, without Zoë.
    assert len(updates) == 2
    for row in updates:
        check_wire_format(row.body)
        update = check_icalendar(
            calendar_parts(parse(row.body))[0].get_payload(decode=True), "REQUEST"
        )
        [event] = update.walk("VEVENT")
        assert int(event["SEQUENCE"]) == int(after["SEQUENCE"])
        assert zoe.email not in attendees(update) and len(attendees(update)) == 2


def dst_round(
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
    *,
    slug: str,
    days: tuple[int, int],
    berlin_window: str,
    month: str,
    now: datetime,
) -> tuple[datetime, dict[str, str]]:
    with factory.begin() as session:
        org = make_org(session, slug=slug, people=0, timezone="America/New_York")
        org.schedule_window_start_day, org.schedule_window_end_day = days
        for i, (zone, window) in enumerate(
            [
                ("America/New_York", "Mon 11:00-12:00"),
                ("America/New_York", "Mon 11:00-12:00"),
                ("Europe/Berlin", berlin_window),
            ]
        ):
            register(
                session,
                org,
                ParticipantIn(
                    email=f"dst{i}@{slug}.example",
                    full_name=f"D {i}",
                    role="resident",
                    timezone=zone,
                    availability=window,
                ),
                source="import",
                active=True,
            )
        create_round(session, settings, links, org, month, now=now)
        rows = list(
            session.scalars(select(OutboxMessage).where(OutboxMessage.organization_id == org.id))
        )
        zones = {p.email: p.timezone for p in session.scalars(select(Participant))}
    assert len(rows) == 3
    starts = set()
    for row in rows:
        calendar = check_icalendar(
            calendar_parts(parse(row.body))[0].get_payload(decode=True), "REQUEST"
        )
        [event] = calendar.walk("VEVENT")
        assert "TZID" not in event["DTSTART"].params  # plain UTC: no VTIMEZONE to get wrong
        starts.add(event.decoded("DTSTART"))
    [start] = starts
    return start, zones


def test_dst_invites_start_at_the_utc_instant_of_everyones_local_window(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    # 15 March 2027: New York already on EDT (UTC-4), Berlin still on CET (UTC+1).
    start, _ = dst_round(
        factory,
        settings,
        links,
        slug="march",
        days=(15, 26),
        berlin_window="Mon 16:00-17:00",
        month="2027-03",
        now=datetime(2027, 3, 1, 14, tzinfo=UTC),
    )
    assert start == datetime(2027, 3, 15, 15, 0, tzinfo=UTC)
    assert start.astimezone(ZoneInfo("America/New_York")).hour == 11
    assert start.astimezone(ZoneInfo("Europe/Berlin")).hour == 16
    # 25 October 2027: Berlin still on CEST (UTC+2) until the 31st, New York on EDT.
    start, _ = dst_round(
        factory,
        settings,
        links,
        slug="october",
        days=(25, 31),
        berlin_window="Mon 17:00-18:00",
        month="2027-10",
        now=datetime(2027, 10, 4, 13, tzinfo=UTC),
    )
    assert start == datetime(2027, 10, 25, 15, 0, tzinfo=UTC)
    assert start.astimezone(ZoneInfo("America/New_York")).hour == 11
    assert start.astimezone(ZoneInfo("Europe/Berlin")).hour == 17
