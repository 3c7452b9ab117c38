"""A real sent round, and helpers to pull its links and calendars out of the .eml files.

The round is for the month after the current one (not a fixed date), so its meetings are
always in the future of the real clock that the pages and pause() use: the tests stay
deterministic whenever they run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy import select
from sqlalchemy.orm import Session

from notifications import FileSender
from service import outbox
from service.models import MatchGroup, Membership, Participant, Round
from service.rounds.create import create_round
from service.rounds.jobs import send_followups
from service.rounds.timing import month_of
from tests.conftest import email_text, read_emails
from tests.service.round_fixtures import make_org

AVAILABILITY = "Mon 12:00-13:00; Tue 12:00-13:00"
PEOPLE = 7  # one group of 4 and one of 3


def month_start(day: date, months_ahead: int) -> date:
    index = day.year * 12 + day.month - 1 + months_ahead
    return date(index // 12, index % 12 + 1, 1)


def round_time(months_ahead: int) -> tuple[str, datetime]:
    """(month, moment the round runs): the 1st of a coming month, 14:00 UTC."""
    first = month_start(datetime.now(UTC).date(), months_ahead)
    return month_of(first), datetime.combine(first, datetime.min.time(), UTC) + timedelta(hours=14)


@dataclass
class SentRound:
    app: FastAPI
    outbox_dir: Path
    round_id: int
    month: str

    def deliver(self) -> None:
        outbox.deliver_due(self.app.state.sessionmaker, FileSender(self.outbox_dir))

    def emails(self) -> list[EmailMessage]:
        return read_emails(self.outbox_dir)

    def session(self) -> Session:
        return self.app.state.sessionmaker()  # type: ignore[no-any-return]

    def groups(self) -> list[tuple[MatchGroup, list[Participant]]]:
        """Each group with its members still in it, by group number."""
        with self.session() as session:
            result = []
            for group in session.scalars(
                select(MatchGroup)
                .where(MatchGroup.round_id == self.round_id)
                .order_by(MatchGroup.number)
            ):
                members = list(
                    session.scalars(
                        select(Participant)
                        .join(Membership, Membership.participant_id == Participant.id)
                        .where(Membership.group_id == group.id, Membership.status == "invited")
                        .order_by(Membership.id)
                    )
                )
                result.append((group, members))
            session.expunge_all()
            return result

    def send_checkins_and_followups(self) -> None:
        """Run the follow-up job 17 days after the latest meeting: check-ins and follow-ups."""
        last = max(g.meeting_start for g, _ in self.groups() if g.meeting_start is not None)
        factory = self.app.state.sessionmaker
        settings, links = self.app.state.settings, self.app.state.links
        counts = send_followups(factory, settings, links, now=last + timedelta(days=17))
        assert counts["checkin"] > 0 and counts["followup"] > 0, counts
        self.deliver()


@pytest.fixture(name="sent_round")
def sent_round_fixture(app: FastAPI, outbox_dir: Path) -> SentRound:
    """7 active people (a group of 4 and one of 3) invited to next month's round, emails sent."""
    month, now = round_time(1)
    factory = app.state.sessionmaker
    with factory.begin() as session:
        org = make_org(session, people=PEOPLE, availability=AVAILABILITY)
        run = create_round(session, app.state.settings, app.state.links, org, month, now=now)
        round_id = run.round.id
    made = SentRound(app, outbox_dir, round_id, month)
    made.deliver()
    return made


def emails_to(messages: list[EmailMessage], address: str) -> list[EmailMessage]:
    return [m for m in messages if address in str(m["To"])]


def link(message: EmailMessage, action: str) -> str:
    """The path of the first link in the text part whose path contains `action`."""
    text = email_text(message)
    for match in re.finditer(r"http://testserver(/o/\S+)", text):
        path = match.group(1).rstrip(".,)>")
        if action in path:
            return path
    raise AssertionError(f"no {action!r} link in:\n{text}")


def calendar(message: EmailMessage) -> Calendar | None:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            data = part.get_payload(decode=True)
            assert isinstance(data, bytes)
            return Calendar.from_ical(data)
    return None


def event_facts(message: EmailMessage) -> dict[str, Any]:
    cal = calendar(message)
    assert cal is not None, f"no calendar in {message['Subject']}"
    event = cal.walk("VEVENT")[0]
    attendees = event.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    return {
        "method": str(cal["METHOD"]),
        "sequence": int(str(event["SEQUENCE"])),
        "uid": str(event["UID"]),
        "attendees": sorted(str(a).removeprefix("mailto:").lower() for a in attendees),
    }


def csrf(client: TestClient, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, "the form has no CSRF field"
    return match.group(1)


def post_form(client: TestClient, url: str, data: dict[str, Any]) -> Any:
    """Open the page (for the CSRF cookie), then post what its form would send."""
    page = client.get(url.split("?")[0])
    assert page.status_code == 200, page.text
    token = client.cookies.get("cr_csrf")
    return client.post(url, data={"csrf_token": token, **data}, follow_redirects=False)


def round_of(session: Session, round_id: int) -> Round:
    found = session.get(Round, round_id)
    assert found is not None
    return found
