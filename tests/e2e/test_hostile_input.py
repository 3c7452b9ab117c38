"""In a real browser: names in any script, the 429 page, and no Content-Security-Policy
violation on the pages a participant sees.

Runs Debian's Chromium through Playwright against a real uvicorn server (see conftest.py).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from service.config import Settings
from service.links import LinkSigner
from service.models import Organization, Participant
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LiveServer, launch_chromium

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")

NAME = "عمر الفاروق ☕ 李雷"


@pytest.fixture
def live(live_settings: Settings) -> Iterator[tuple[LiveServer, str]]:
    settings = live_settings.model_copy(update={"rate_limit_requests_per_client_per_minute": 2})
    with LiveServer(settings) as server, server.app.state.sessionmaker() as session:
        org = Organization(slug="demo", name="Demo General Hospital", timezone="UTC")
        session.add(org)
        session.flush()
        person = Participant(
            organization_id=org.id,
            email="omar@demo.example",
            full_name=NAME,
            role="nurse",
            timezone="UTC",
            status="active",
            goals="سطر أول\n第二行 <script>alert(1)</script>",
            avoid_entries=[],
        )
        session.add(person)
        session.commit()
        signer = LinkSigner(TEST_SECRET)
        token = signer.make("manage", participant_id=person.id, version=person.link_version)
        yield server, f"/o/demo/manage/{token}"


def test_any_script_shows_as_typed_and_the_limit_answers_with_a_page(
    live: tuple[LiveServer, str],
) -> None:
    server, manage = live
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            violations: list[str] = []
            page.on(
                "console",
                lambda m: violations.append(m.text) if "Security Policy" in m.text else None,
            )
            page.on("dialog", lambda d: violations.append(f"a script ran: {d.message}"))

            page.goto(server.base_url + manage)
            expect(page.get_by_label("Full name")).to_have_value(NAME)
            expect(page.locator("#goals")).to_have_value(
                "سطر أول\n第二行 <script>alert(1)</script>"
            )
            page.screenshot(path=str(ARTIFACTS / "manage-page-any-script.png"), full_page=True)

            # Two posts a minute from this browser (the test setting); the third gets a page
            # that says what happened, not a bare error.
            for number in range(3):
                page.goto(f"{server.base_url}/o/demo/me")
                page.get_by_label("Your work email").fill(f"someone{number}@demo.example")
                page.get_by_role("button", name="Email me a link").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Too many requests")
            expect(page.locator("main")).to_contain_text("wait a minute and try again")
            page.screenshot(path=str(ARTIFACTS / "too-many-requests.png"), full_page=True)

            for path in ("/", "/o/demo/join", "/admin/login", "/o/demo/st%00x"):
                page.goto(server.base_url + path)
            expect(page.locator("main")).to_contain_text("control characters")
        finally:
            browser.close()
    assert violations == []
