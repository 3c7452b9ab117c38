"""A real browser asks for a warm introduction through the member link; the colleague
accepts through the link in their email; both introduction emails (with the invite) land in
the outbox folder, and only then does the requester's page show the colleague's name.

Runs Debian's Chromium through Playwright against a real uvicorn server on a free loopback
port; skipped when either is missing. No page may log a console error (CSP included).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from service.models import Organization, Participant
from service.public.member import member_path, member_token
from tests.conftest import TEST_SECRET, email_text, read_emails
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LiveServer, launch_chromium
from tests.service.round_links_helpers import calendar

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")

NEED = "Someone who can teach grant writing: I am preparing my first foundation grant."
LUNCH = [[0, 720, 780], [2, 720, 780], [4, 720, 780]]


@pytest.fixture
def live(live_server: LiveServer) -> Iterator[LiveServer]:
    with live_server.app.state.sessionmaker() as session:
        org = Organization(slug="demo", name="Demo General Hospital", timezone="America/Chicago")
        session.add(org)
        session.flush()
        people = [
            ("dana@demo.example", "Dana Reyes", "fellow", "Nephrology", [], []),
            ("gina@demo.example", "Gina Grant", "attending", "Oncology", ["grant writing"], []),
            ("uma@demo.example", "Uma Ukulele", "nurse", "Dermatology", ["ukulele"], ["music"]),
        ]
        for email, name, role, specialty, can_teach, interests in people:
            session.add(
                Participant(
                    organization_id=org.id, email=email, full_name=name, role=role,
                    specialty=specialty, department=f"Department of {specialty}",
                    can_teach=can_teach, interests=interests, timezone="America/Chicago",
                    availability=LUNCH, status="active",
                )
            )
        session.commit()
    yield live_server


def _wait_for(outbox_dir: Path, count: int) -> list[EmailMessage]:
    """Emails are written by a background task after the response: wait for them."""
    deadline = time.monotonic() + 15
    messages = read_emails(outbox_dir)
    while len(messages) < count and time.monotonic() < deadline:
        time.sleep(0.1)
        messages = read_emails(outbox_dir)
    assert len(messages) >= count, f"expected {count} emails, found {len(messages)}"
    return messages


def _link(message: EmailMessage, base_url: str, marker: str) -> str:
    for match in re.finditer(re.escape(base_url) + r"/o/\S+", email_text(message)):
        if marker in match.group(0):
            return match.group(0).rstrip(".,)>")
    raise AssertionError(f"no {marker} link in {message['Subject']}")


def _watch_console(page: Any, errors: list[str]) -> None:
    """Console errors (CSP violations among them), except the form's deliberate 422."""

    def on_console(message: Any) -> None:
        if message.type == "error" and "status of 422" not in message.text:
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))


def test_ask_for_an_introduction_and_accept_it_in_a_browser(
    live: LiveServer, outbox_dir: Path
) -> None:
    from service.links import LinkSigner

    with live.app.state.sessionmaker() as session:
        dana = session.query(Participant).filter_by(email="dana@demo.example").one()
        org = session.query(Organization).filter_by(slug="demo").one()
        home = live.base_url + member_path(org, member_token(LinkSigner(TEST_SECRET), dana))
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            _watch_console(page, errors)
            page.goto(home)
            page.get_by_role("link", name="Ask for an introduction").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Ask for an introduction")

            # A first try with markup in a field: the error is next to it, the text kept.
            page.get_by_label("Who would you like to meet").fill(NEED)
            page.get_by_label("A skill they can teach").fill("<b>grant writing</b>")
            page.get_by_role("button", name="Ask for an introduction").click()
            expect(page.locator("#skill-error")).to_contain_text("plain text")
            expect(page.get_by_label("Who would you like to meet")).to_have_value(NEED)
            page.screenshot(path=str(ARTIFACTS / "introductions-form-error.png"), full_page=True)

            page.get_by_label("A skill they can teach").fill("grant writing")
            page.get_by_role("button", name="Ask for an introduction").click()
            expect(page.locator(".flash")).to_contain_text("We are asking a colleague")
            expect(page.locator(".badge").first).to_have_text("Asking a colleague")
            expect(page.locator("main")).not_to_contain_text("Gina")
            page.screenshot(path=str(ARTIFACTS / "introductions-asking.png"), full_page=True)

            # The colleague's email: the need, the requester's role, never the name.
            [ask] = _wait_for(outbox_dir, 1)
            assert "gina@demo.example" in str(ask["To"])
            assert NEED in email_text(ask) and "Dana" not in email_text(ask)
            assert "a fellow in Nephrology" in email_text(ask)

            candidate = browser.new_page(viewport={"width": 1000, "height": 900})
            _watch_console(candidate, errors)
            candidate.goto(_link(ask, live.base_url, "answer=accept"))
            expect(candidate.get_by_role("heading", level=1)).to_have_text(
                "Could you help a colleague?"
            )
            expect(candidate.locator("main")).not_to_contain_text("Dana")
            candidate.screenshot(path=str(ARTIFACTS / "introduction-ask.png"), full_page=True)
            candidate.get_by_role("button", name="Accept: introduce us").click()
            expect(candidate.get_by_role("heading", level=1)).to_have_text("Thank you!")
            expect(candidate.locator("main")).to_contain_text("You're meeting Dana Reyes")
            candidate.screenshot(path=str(ARTIFACTS / "introduction-accepted.png"), full_page=True)

            # Both introduction emails, each with the 20-minute invite, are in the outbox.
            messages = _wait_for(outbox_dir, 3)
            made = {str(m["To"]): m for m in messages[1:]}
            assert set(made) == {"Dana Reyes <dana@demo.example>",
                                 "Gina Grant <gina@demo.example>"}
            assert "Gina Grant" in email_text(made["Dana Reyes <dana@demo.example>"])
            for message in made.values():
                event = calendar(message).walk("VEVENT")[0]  # type: ignore[union-attr]
                minutes = (event.decoded("DTEND") - event.decoded("DTSTART")).total_seconds() / 60
                assert 15 <= minutes <= 20

            # Only now does the requester's page name the colleague.
            page.reload()
            expect(page.locator(".badge").first).to_have_text("Accepted: meet Gina Grant")
            expect(page.locator("main")).to_contain_text("gina@demo.example")
            page.screenshot(path=str(ARTIFACTS / "introductions-accepted.png"), full_page=True)

            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(page.url)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the introductions page scrolls sideways on a phone ({width}px)"
            phone.screenshot(path=str(ARTIFACTS / "introductions-phone.png"), full_page=True)
        finally:
            browser.close()
    assert errors == [], "console errors:\n" + "\n".join(errors)
