"""A real browser joins, confirms through the emailed link, edits, pauses and deletes.

Runs Debian's Chromium (`apt-get install chromium`) through Playwright against a real
uvicorn server on a free loopback port. Skipped when either is missing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from service.models import Organization, Participant
from tests.conftest import email_text, read_emails
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LiveServer, launch_chromium

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")


@pytest.fixture
def live(live_server: LiveServer) -> Iterator[LiveServer]:
    with live_server.app.state.sessionmaker() as session:
        session.add(
            Organization(
                slug="demo",
                name="Demo General Hospital",
                timezone="America/Chicago",
                allowed_email_domains=[],
            )
        )
        session.commit()
    yield live_server


def _link(outbox_dir: Path, base_url: str) -> str:
    # The email is written by a background task after the response: wait for it.
    deadline = time.monotonic() + 15
    messages = read_emails(outbox_dir)
    while not messages and time.monotonic() < deadline:
        time.sleep(0.1)
        messages = read_emails(outbox_dir)
    assert messages, "no email was written to the outbox folder"
    match = re.search(re.escape(base_url) + r"/o/\S+", email_text(messages[-1]))
    assert match
    return match.group(0).rstrip(".,)>")


def test_join_confirm_edit_pause_delete_in_a_browser(live: LiveServer, outbox_dir: Path) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(f"{live.base_url}/o/demo/join")
            expect(page.get_by_role("heading", level=1)).to_contain_text("Demo General Hospital")
            expect(page.locator("#timezone")).to_have_value("America/Chicago")

            # A first try with a bad time: the page comes back with the error and the input.
            page.get_by_label("Full name").fill("Dana Reyes")
            page.get_by_label("Work email").fill("Dana.Reyes@Demo.example")
            page.get_by_label("Role").select_option("fellow")
            page.get_by_label("Specialty").fill("Nephrology")
            page.get_by_label("Research", exact=True).check()
            page.get_by_label("Monday 12:00 to 13:00").check()
            page.get_by_label("Thursday 07:00 to 08:00").check()
            page.get_by_label("I'd like to find a mentor").check()
            page.get_by_label("Other times").fill("Tue 25:00-26:00")
            page.screenshot(path=str(ARTIFACTS / "join-form.png"), full_page=True)
            page.get_by_role("button", name="Join Coffee Rounds").click()
            expect(page.locator(".error-summary")).to_be_visible()
            expect(page.locator("#availability_other-error")).to_contain_text("not a time of day")
            expect(page.get_by_label("Full name")).to_have_value("Dana Reyes")
            expect(page.get_by_label("Monday 12:00 to 13:00")).to_be_checked()
            expect(page.locator(".error-summary")).to_be_focused()  # the small JS enhancement

            page.get_by_label("Other times").fill("Tue 23:00-01:00")
            page.get_by_role("button", name="Join Coffee Rounds").click()
            expect(page.get_by_role("heading", name="Check your inbox")).to_be_visible()

            # Confirm through the link in the .eml: opening it changes nothing, the button does.
            page.goto(_link(outbox_dir, live.base_url))
            page.get_by_role("button", name="Confirm and join").click()
            expect(page.locator(".flash")).to_contain_text("You're in!")
            expect(page.locator(".badge")).to_have_text("Active")

            # Edit the profile.
            page.get_by_label("Specialty").fill("Emergency medicine")
            page.get_by_role("button", name="Save changes").click()
            expect(page.locator(".flash")).to_have_text("Your profile is saved.")
            expect(page.get_by_label("Specialty")).to_have_value("Emergency medicine")
            page.screenshot(path=str(ARTIFACTS / "manage-page.png"), full_page=True)

            # Pause for two months.
            page.get_by_label("2 months").check()
            page.get_by_role("button", name="Pause", exact=True).click()
            expect(page.locator(".badge")).to_have_text("Paused")

            # On a phone the join form is one column and still fully usable.
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(f"{live.base_url}/o/demo/join")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the join form scrolls sideways on a phone ({width}px)"
            phone.screenshot(path=str(ARTIFACTS / "join-form-phone.png"), full_page=True)

            # Delete everything.
            page.get_by_label("I understand: delete everything about me").check()
            page.get_by_role("button", name="Delete all my data").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Your data is deleted")
        finally:
            browser.close()

    with live.app.state.sessionmaker() as session:
        assert session.scalars(select(Participant)).all() == []
