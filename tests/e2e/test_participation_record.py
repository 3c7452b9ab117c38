"""A real browser opens the participation record from the member link, prints it and
downloads its CSV.

Runs Debian's Chromium through Playwright against a real uvicorn server; skipped when either
is missing. Screenshots of the screen and print renderings go to test-artifacts/.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from service.models import Organization
from service.public.member import member_path, member_token
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LiveServer, launch_chromium
from tests.service.participation_helpers import chat, checkin, introduction, person

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")


@pytest.fixture
def home_url(live_server: LiveServer) -> Iterator[str]:
    with live_server.app.state.sessionmaker() as db:
        org = Organization(slug="demo", name="Demo General Hospital", timezone="America/Chicago")
        db.add(org)
        db.flush()
        dana = person(db, org, "Dana Reyes", "Emergency medicine", role="fellow", site="North")
        bo = person(db, org, "Bo Chen", "Nursing")
        cy = person(db, org, "Cy Diaz", "Pharmacy")
        ed = person(db, org, "Ed Fox", "Radiology")
        fay = person(db, org, "Fay Gill", "Paediatrics")
        first = chat(db, org, "2026-06", [dana, bo, cy], topic="Burnout and recovery")
        checkin(db, first[dana.id], met=True,
                learned="Pharmacy is happy to be asked early.\nI will call them first.")
        second = chat(db, org, "2026-07", [dana, ed, fay], topic="Teaching on the ward",
                      minutes=45)
        checkin(db, second[dana.id], met=True)
        chat(db, org, "2026-08", [dana, bo, fay], topic="Night shifts", dropped=(dana,))
        introduction(db, org, dana, ed, when=datetime(2026, 9, 14, 16, tzinfo=UTC),
                     skill="Point-of-care ultrasound")
        db.commit()
        token = member_token(live_server.app.state.links, dana)
        yield live_server.base_url + member_path(org, token)


def test_open_print_and_download_the_participation_record(
    live_server: LiveServer, home_url: str
) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    expect = sync_api.expect
    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport={"width": 1000, "height": 900}, accept_downloads=True)
            console_errors: list[str] = []
            page.on("console", lambda m: console_errors.append(m.text) if m.type == "error"
                    else None)

            # From the member home to the record.
            page.goto(home_url)
            page.get_by_role("link", name="Your participation record").click()
            expect(page.get_by_role("heading", level=1)).to_have_text(
                "Coffee Rounds participation record"
            )
            totals = page.locator(".record-totals")
            expect(totals.locator("div", has_text="Coffee chats").locator("dd")).to_have_text("2")
            expect(totals.locator("div", has_text="Hours invested").locator("dd")).to_have_text(
                "1.6"  # 30 + 45 + 20 minutes
            )
            expect(totals.locator("div", has_text="Colleagues met").locator("dd")).to_have_text("4")
            expect(page.get_by_role("row", name="August 2026")).to_contain_text("Couldn't make it")
            expect(page.locator(".entry-reflection")).to_contain_text("Pharmacy is happy")
            # The Print button is shown by print.js (no inline script under the CSP).
            print_button = page.get_by_role("button", name="Print or save as PDF")
            expect(print_button).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "participation-record.png"), full_page=True)

            # On paper: no header, footer, links back or buttons; the table stays.
            page.emulate_media(media="print")
            expect(page.locator(".site-header")).to_be_hidden()
            expect(page.locator(".site-footer")).to_be_hidden()
            expect(print_button).to_be_hidden()
            expect(page.get_by_role("link", name="Download as CSV")).to_be_hidden()
            expect(page.locator(".record-table")).to_be_visible()
            page.screenshot(path=str(ARTIFACTS / "participation-record-print.png"), full_page=True)
            pdf = page.pdf(format="A4")
            assert pdf.startswith(b"%PDF")
            page.emulate_media(media="screen")

            # Download the CSV.
            with page.expect_download() as download_info:
                page.get_by_role("link", name="Download as CSV").click()
            download = download_info.value
            assert download.suggested_filename.startswith("coffee-rounds-record-demo-")
            path = download.path()
            assert path is not None
            rows = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"))))
            assert [(r["month"], r["type"], r["outcome"]) for r in rows] == [
                ("2026-06", "Coffee chat", "Met"),
                ("2026-07", "Coffee chat", "Met"),
                ("2026-08", "Coffee chat", "Couldn't make it"),
                ("2026-09", "Introduction", "Met"),
            ]
            assert rows[0]["reflection"].startswith("Pharmacy is happy")

            # A phone shows the record without sideways scrolling of the page itself.
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(page.url)
            width = phone.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the record scrolls sideways on a phone ({width}px)"
            phone.screenshot(path=str(ARTIFACTS / "participation-record-phone.png"),
                             full_page=True)
            assert console_errors == []
        finally:
            browser.close()
