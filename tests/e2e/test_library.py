"""A participant shares a resource in a real browser, and a colleague marks it useful.

Open the member link, go to the library, share a link with a `javascript:` URL (the error
appears next to the field, everything typed is kept), fix it, see it listed, then a colleague
marks it useful; a wellness lead hides it from the dashboard. A screenshot of each page goes
to test-artifacts/. No page may log a console error (CSP violations included).
Runs Debian's Chromium through Playwright against a real uvicorn server; skipped without.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from service.models import Organization, Participant, Resource
from service.public.member import member_path, member_token
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LiveServer, launch_chromium
from tests.service.admin_helpers import PASSWORD, make_admin
from tests.service.round_fixtures import make_org

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")

LEAD = "lead@stmarys.example"


@pytest.fixture
def live(live_server: LiveServer) -> Iterator[LiveServer]:
    with live_server.app.state.sessionmaker() as session:
        org = make_org(session, people=2)
        session.commit()
        make_admin(session, org, LEAD)
    yield live_server


def _member_urls(live: LiveServer) -> list[str]:
    with live.app.state.sessionmaker() as session:
        org = session.scalar(select(Organization))
        people = session.scalars(select(Participant).order_by(Participant.id)).all()
        assert org is not None and len(people) == 2
        return [live.base_url + member_path(org, member_token(live.app.state.links, p))
                for p in people]


def _watch(page: Any, errors: list[str]) -> None:
    """Collect console errors (CSP violations are some) besides the intended 422 answer."""

    def on_console(message: Any) -> None:
        if message.type == "error" and "status of 422" not in message.text:
            errors.append(f"{page.url}: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))


def test_share_a_resource_then_a_colleague_marks_it_useful(live: LiveServer) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    sharer_url, reader_url = _member_urls(live)
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            _watch(page, errors)
            page.goto(sharer_url)
            page.get_by_role("link", name="Resource library").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Resource library")
            expect(page.get_by_text("The library is empty so far")).to_be_visible()
            page.get_by_role("link", name="Share a resource").click()

            # A javascript: link: refused, with the error next to the field.
            page.get_by_label("Link").fill("javascript:alert(document.cookie)")
            page.get_by_label("Title").fill("Sleep strategies for night shifts")
            page.get_by_label("Why it helped").fill("Finally slept properly after a run of nights.")
            page.get_by_label("wellness", exact=True).check()
            page.get_by_label("Other tags").fill("Sleep, Night shifts")
            page.screenshot(path=str(ARTIFACTS / "library-share-form.png"), full_page=True)
            page.get_by_role("button", name="Share").click()
            expect(page.locator(".error-summary")).to_be_focused()
            expect(page.locator("#url-error")).to_contain_text("http:// or https://")
            expect(page.get_by_label("Link")).to_have_attribute("aria-invalid", "true")
            expect(page.get_by_label("Title")).to_have_value("Sleep strategies for night shifts")
            expect(page.get_by_label("wellness", exact=True)).to_be_checked()
            page.screenshot(path=str(ARTIFACTS / "library-share-error.png"), full_page=True)

            # Fixed: listed in the library, with its tags.
            page.get_by_label("Link").fill("https://www.example.org/sleep-and-nights")
            page.get_by_role("button", name="Share").click()
            expect(page.locator(".flash")).to_have_text("Thank you! Your link is in the library.")
            card = page.locator(".resource").first
            title = card.get_by_role("link", name="Sleep strategies for night shifts")
            expect(title).to_have_attribute("href", "https://www.example.org/sleep-and-nights")
            expect(card.locator(".resource__site")).to_have_text("example.org")
            expect(card.get_by_role("link", name="night shifts", exact=True)).to_be_visible()
            expect(card.get_by_text("You shared this")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "library-list.png"), full_page=True)

            # A colleague finds it by tag and marks it useful, once.
            colleague = browser.new_page(viewport={"width": 1000, "height": 900})
            _watch(colleague, errors)
            colleague.goto(reader_url + "/library")
            colleague.get_by_label("Tag", exact=True).select_option("sleep")
            colleague.get_by_role("button", name="Search").click()
            expect(colleague.locator(".resource")).to_have_count(1)
            colleague.get_by_role("button", name="Mark as useful").click()
            expect(colleague.locator(".flash")).to_have_text("Thank you: marked as useful.")
            expect(colleague.locator(".useful-count")).to_have_text("1 found this useful")
            expect(colleague.get_by_text("✓ You found this useful")).to_be_visible()
            expect(colleague.get_by_role("button", name="Mark as useful")).to_have_count(0)
            # The same search is kept after the vote.
            expect(colleague.get_by_label("Tag", exact=True)).to_have_value("sleep")
            colleague.screenshot(path=str(ARTIFACTS / "library-marked-useful.png"),
                                 full_page=True)

            # On a phone the library is one column and never scrolls sideways.
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            _watch(phone, errors)
            phone.goto(reader_url + "/library")
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the library scrolls sideways on a phone ({width}px)"
            phone.screenshot(path=str(ARTIFACTS / "library-phone.png"), full_page=True)

            # The wellness lead hides it: gone from the participants' library.
            lead = browser.new_page(viewport={"width": 1200, "height": 900})
            _watch(lead, errors)
            lead.goto(f"{live.base_url}/admin/login")
            lead.get_by_label("Email").fill(LEAD)
            lead.get_by_label("Password").fill(PASSWORD)
            lead.get_by_role("button", name="Sign in").click()
            lead.get_by_role("link", name="Library").click()
            expect(lead.get_by_role("heading", level=1)).to_have_text("Resource library")
            lead.get_by_role("button", name="Hide").click()
            expect(lead.locator(".flash")).to_contain_text("is hidden")
            expect(lead.locator(".badge")).to_have_text("Hidden")
            lead.screenshot(path=str(ARTIFACTS / "library-admin.png"), full_page=True)
            colleague.reload()
            expect(colleague.locator(".resource")).to_have_count(0)
        finally:
            browser.close()

    assert errors == [], "console errors:\n" + "\n".join(errors)
    with live.app.state.sessionmaker() as session:
        [resource] = session.scalars(select(Resource)).all()
        assert resource.useful_count == 1
        assert resource.tags == ["wellness", "sleep", "night shifts"]
        assert resource.hidden_at is not None
