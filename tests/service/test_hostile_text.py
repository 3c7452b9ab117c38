"""Hostile text in every text field: refused with a clear message, or stored and shown exactly.

The sweep is data-driven: `TARGETS` lists every form, API body and file that takes text,
each with its fields and what kind of text they hold. Every field gets every payload:

* NUL, bidirectional overrides and a 100 KB string are always refused (422 with the error
  next to the field, or the API's field path). PostgreSQL cannot store NUL at all.
* CR/LF is refused, or folded into a space on one-line fields (never stored as a line break
  where one cannot be shown or mailed).
* Arabic, CJK, Devanagari and emoji are stored exactly (Unicode NFC) and shown exactly
  (HTML-escaped) on the page that displays the field.
* Fields that hold a choice, an email address, a time zone or times refuse all of them.

And nothing ever answers 500. Stored names then go through a confirmation email and a real
round's invitations: no header injection, every .ics line folded to at most 75 octets.

To cover a new form, add a `Target` to `TARGETS` in hostile_forms.py (usually one line with
an existing sender).
"""

from __future__ import annotations

import email
import email.policy
import re
import unicodedata
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications import FileSender
from notifications.ics import clean_ics_name
from service import outbox
from service.config import Settings
from service.links import LinkSigner
from service.models import (
    OutboxMessage,
    Participant,
    Topic,
)
from service.participants.csv_io import COLUMNS
from tests.service.hostile_forms import (
    CSV_COLUMNS,
    PROFILE_API,
    TARGETS,
    Answer,
    Kind,
    Target,
    World,
)
from tests.service.round_fixtures import make_org

PAYLOADS: dict[str, str] = {
    "crlf": "Ann\r\nBcc: victim@example.com",
    "nul": "Ann\x00Lee",
    "bidi": "Ann \u202eexe.cod",
    "huge": "A" * 100_000,
    "arabic": "عمر الفاروق",
    "cjk": "李雷 王芳",
    "devanagari": "अनुष्का शर्मा",
    "emoji": "Coffee ☕ 👩🏽\u200d⚕️",
}
ALWAYS_REFUSED = ("nul", "bidi", "huge")
SCRIPTS = ("arabic", "cjk", "devanagari", "emoji")

# --- the world the forms act on -------------------------------------------------------------


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Hundreds of posts from one test client: the per-client limit is tested elsewhere.
    return settings.model_copy(
        update={
            "rate_limit_requests_per_client_per_minute": 0,
            "rate_limit_signups_per_email_per_hour": 0,
        }
    )


@pytest.fixture
def world(app: FastAPI, client: TestClient, db: Session, links: LinkSigner) -> World:
    org = make_org(db, people=6, availability="Mon 12:00-13:00; Tue 12:00-13:00")
    db.commit()
    return World(app, db, client, org, links)


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def same_text(stored: str, sent: str) -> bool:
    """Equal but for whitespace (folded line breaks, trimmed ends) and Unicode NFC."""
    return " ".join(nfc(stored).split()) == " ".join(nfc(sent).split())


def problems_with(answer: Answer, kind: Kind, payload: str, value: str) -> list[str]:
    status = answer.response.status_code
    if status >= 500:
        return [f"server error {status}"]
    must_refuse = kind is Kind.CHOICE or payload in ALWAYS_REFUSED
    if not answer.accepted:
        found = [] if status in (200, 400, 422) else [f"refused with status {status}"]
        if not answer.error_shown:
            found.append(f"refused ({status}) without an error next to the field")
        if not answer.echoed and payload != "huge" and kind is not Kind.CHOICE:
            found.append("the form lost what was typed")
        if payload in SCRIPTS and kind is not Kind.CHOICE:
            found.append("valid text in another script was refused")
        return found
    if must_refuse:
        return [f"accepted ({status}) and stored {[s[:40] for s in answer.stored]!r}"]
    fold = str.casefold if answer.casefold else str
    stored_values = [fold(s) for s in answer.stored]
    parts = [fold(value)]
    if kind is Kind.ITEM and not any(same_text(s, parts[0]) for s in stored_values):
        # In most lists a line break separates entries, like ";".
        parts = [p for p in re.split(r"[;\r\n]", parts[0]) if p.strip()]
    found = []
    for part in parts:
        matches = [s for s in stored_values if same_text(s, part)]
        if not matches:
            return [f"stored {[s[:40] for s in answer.stored]!r} instead"]
        stored = matches[0]
        if "\r" in stored or (kind is not Kind.TEXT and "\n" in stored):
            found.append(f"a line break was stored in {kind.value}: {stored!r}")
        if payload in SCRIPTS and stored != nfc(part):
            found.append(f"stored {stored!r}, not exactly {part!r}")
        # Several lines may be shown with <br> between them: each line must be there.
        lines = stored.splitlines() if kind is Kind.TEXT else [" ".join(stored.split())]
        page = answer.page
        if page is not None and not all(str(escape(line)) in page for line in lines):
            found.append(f"{stored[:40]!r} is not shown (escaped) on its page")
    return found


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_hostile_text_is_refused_clearly_or_stored_and_shown_exactly(
    world: World, target: Target
) -> None:
    problems = []
    for name, kind in target.fields.items():
        for payload, value in PAYLOADS.items():
            answer = target.send(world, name, value)
            found = problems_with(answer, kind, payload, value)
            if (name, payload) in target.by_design and not answer.accepted:
                found = [text for text in found if "another script was refused" not in text]
            if (name, payload) in target.known_bugs:
                found = [] if found else ["known bug fixed: remove it from known_bugs"]
            problems += [f"{target.name} / {name} / {payload}: {text}" for text in found]
    # Whatever was stored went into emails too (confirmations, introduction asks...).
    world.db.expire_all()
    for kind, raw in world.db.execute(select(OutboxMessage.kind, OutboxMessage.body)):
        problems += [f"{target.name}: {kind} email: {text}" for text in email_problems(raw)]
    assert not problems, "\n".join(problems)


def test_the_sweep_covers_every_text_field_of_the_profile() -> None:
    from service.participants.schemas import ProfileIn

    choices = {"include_in_exports", "accepts_introductions", "role", "mentoring"}
    text = set(ProfileIn.model_fields) - choices
    assert text <= set(PROFILE_API)
    assert set(COLUMNS) == set(CSV_COLUMNS)


# --- what stored text does to emails and calendars ------------------------------------------

BASE_HEADERS = ["From", "To", "Subject", "Date", "Message-ID", "MIME-Version", "Content-Type"]
INVITE_HEADERS = {*BASE_HEADERS, "List-Unsubscribe", "List-Unsubscribe-Post"}
EMAIL_HEADERS = {*INVITE_HEADERS, "Reply-To"}


def wire_problems(raw: bytes) -> list[str]:
    found = []
    if not raw.isascii():
        found.append("8-bit bytes on the wire")
    if re.search(rb"(?<!\r)\n|\r(?!\n)", raw):
        found.append("a bare CR or LF")
    if max(len(line) for line in raw.split(b"\r\n")) > 998:
        found.append("a line longer than 998 octets")
    return found


def email_problems(raw: bytes) -> list[str]:
    found = wire_problems(raw)
    message = parse(raw)
    if not set(message.keys()) <= EMAIL_HEADERS:
        found.append(f"unexpected headers {sorted(set(message.keys()) - EMAIL_HEADERS)}")
    if any(len(message.get_all(name, [])) != 1 for name in message):
        found.append("a repeated header")
    if len(message["To"].addresses) != 1:
        found.append(f"To: {message['To']!r}")
    return found


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def ics_problems(data: bytes) -> list[str]:
    found = []
    if not data.endswith(b"\r\n") or re.search(rb"(?<!\r)\n|\r(?!\n)", data):
        found.append("a bare CR or LF in the calendar")
    found += [
        f"calendar line of {len(line)} octets" for line in data.split(b"\r\n") if len(line) > 75
    ]
    return found


def test_confirmation_emails_to_names_in_any_script_keep_their_headers(
    client: TestClient, world: World, outbox_dir: Path
) -> None:
    names = {payload: PAYLOADS[payload] for payload in (*SCRIPTS, "crlf", "bidi")}
    accepted = {}
    for payload, name in names.items():
        address = f"{payload}@stmarys.example"
        body = {"email": address, "full_name": name, "role": "nurse", "timezone": "UTC"}
        response = client.post("/api/v1/organizations/stmarys/signups", json=body)
        if response.status_code == 202:
            accepted[address] = name
    assert set(accepted.values()) == {PAYLOADS[p] for p in SCRIPTS}
    messages = list(outbox_dir.glob("*.eml"))
    assert len(messages) == len(SCRIPTS)
    for path in messages:
        raw = path.read_bytes()
        assert wire_problems(raw) == [], path
        message = parse(raw)
        assert list(message.keys()) == BASE_HEADERS
        [recipient] = message["To"].addresses
        assert recipient.display_name == accepted[recipient.addr_spec]
        assert "\n" not in message["Subject"] and "\r" not in message["Subject"]


def test_round_invitations_stay_valid_with_names_topics_and_sender_in_any_script(
    app: FastAPI, world: World, outbox_dir: Path
) -> None:
    db = world.db
    people = list(
        db.scalars(select(Participant).where(Participant.organization_id == world.org.id))
    )
    names = [PAYLOADS[p] for p in SCRIPTS] + ["Ωmega " + "長" * 110]
    for person, name in zip(people, names, strict=False):
        person.full_name = name
    for topic in db.scalars(select(Topic).where(Topic.organization_id == world.org.id)):
        topic.title = "Coffee ☕ قهوة 咖啡 " + "ह" * 150
        topic.description = "第一行\nسطر ثاني 👩🏽\u200d⚕️"
    world.org.sender_name = "Wellness ☕ عافية 健康"
    world.org.sender_email = "wellness@stmarys.example"
    db.commit()
    world.membership()  # makes next month's round
    outbox.deliver_due(app.state.sessionmaker, FileSender(outbox_dir))
    invites = 0
    for path in outbox_dir.glob("*.eml"):
        raw = path.read_bytes()
        assert wire_problems(raw) == [], path
        message = parse(raw)
        assert set(message.keys()) <= INVITE_HEADERS, message.keys()
        assert all(len(message.get_all(name, [])) == 1 for name in message)
        for part in message.walk():
            if part.get_content_type() != "text/calendar":
                continue
            invites += 1
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            assert ics_problems(data) == []
            event = Calendar.from_ical(data).walk("VEVENT")[0]
            attendees = event.get("ATTENDEE")
            attendees = attendees if isinstance(attendees, list) else [attendees]
            cns = {a.params.get("CN", "") for a in attendees}
            assert cns <= {clean_ics_name(n) for n in [*names, "Person 5"]} | {""}
            assert event["ORGANIZER"].params["CN"] == clean_ics_name(world.org.sender_name)
    assert invites >= len(people)


# --- addresses -------------------------------------------------------------------------------


def test_control_characters_in_any_address_are_a_bad_request_never_a_server_error(
    app: FastAPI, world: World
) -> None:
    from tests.service.test_security_headers import get_routes

    admin = world.admin()
    answers = {}
    for route in get_routes(app):
        if "{" in route:
            for bad in ("st%00marys", "a%0d%0aSet-Cookie:x=1"):
                url = re.sub(r"\{[^}]+\}", bad, route)
                answers[url] = admin.get(url, follow_redirects=False).status_code
        elif not route.startswith("/api/"):
            url = f"{route}?q=%00"
            answers[url] = admin.get(url, follow_redirects=False).status_code
    wrong = {url: status for url, status in answers.items() if status not in (400, 404, 405)}
    assert wrong == {}
    assert sum(status == 400 for status in answers.values()) >= 60
    # PostgreSQL cannot compare text with NUL: the slug lookup alone used to fail with a 500.
    page = world.client.get("/o/st%00marys/join")
    assert page.status_code == 400 and "control characters" in page.text
    api = world.client.get("/api/v1/organizations/st%00marys/me")
    assert api.status_code == 400 and api.json()["code"] == "bad_request"
