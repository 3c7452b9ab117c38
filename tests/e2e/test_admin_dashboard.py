"""A wellness lead runs the whole dashboard in a real browser, with a screenshot of each page.

Sign in, look people up, import a CSV with one bad row, prepare a round, move someone,
approve and send, look at topics, change a setting, read the audit log and the impact charts,
download a CSV, sign out. No page may log a console error (CSP violations included).
Runs Debian's Chromium (`apt-get install chromium`) through Playwright against a real uvicorn
server on a free loopback port; skipped when either is missing.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from service.config import Settings
from service.db import utcnow
from service.links import LinkSigner
from service.models import Feedback, Membership, Organization, OutboxMessage, Participant, Round
from service.rounds.create import create_round
from service.rounds.jobs import current_month
from service.rounds.timing import parse_month
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import ARTIFACTS, CHROMIUM, LiveServer, launch_chromium
from tests.service.admin_helpers import PASSWORD, make_admin
from tests.service.round_fixtures import make_org

if not CHROMIUM.exists():
    pytest.skip("Debian's Chromium is not installed (/usr/bin/chromium)", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
uvicorn = pytest.importorskip("uvicorn")

SLUG = "stmarys"
LEAD = "lead@stmarys.example"
ANSWERED = 20  # of the 24 people in last month's round, this many filled in the check-in


@dataclass(frozen=True)
class Seeded:
    org_id: int
    last_month: str
    this_month: str
    invites_before: int


def _month_before(month: str) -> str:
    year, mon = parse_month(month)
    return f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"


def _seed(live: LiveServer, settings: Settings) -> Seeded:
    """24 active people, a wellness lead, and last month's round, sent, with check-ins."""
    with live.app.state.sessionmaker() as session:
        org = make_org(session, slug=SLUG, people=24)
        session.commit()
        make_admin(session, org, LEAD)
        this_month = current_month(org, utcnow())
        last_month = _month_before(this_month)
        year, mon = parse_month(last_month)
        run = create_round(
            session,
            settings,
            LinkSigner(TEST_SECRET),
            org,
            last_month,
            seed=3,
            now=datetime(year, mon, 7, 14, tzinfo=UTC),
        )
        assert run.round.status == "sent"
        memberships = session.scalars(
            select(Membership).where(Membership.round_id == run.round.id).order_by(Membership.id)
        ).all()
        for i, membership in enumerate(memberships[:ANSWERED]):
            session.add(
                Feedback(
                    membership_id=membership.id,
                    kind="checkin",
                    met=True,
                    rating=5 if i % 3 else 4,
                    learned=f"How the other unit runs handover ({i}).",
                )
            )
        session.commit()
        invites = _count_invites(session, org.id)
        return Seeded(org.id, last_month, this_month, invites)


def _count_invites(session: Any, org_id: int) -> int:
    return session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.organization_id == org_id, OutboxMessage.kind == "invite")
    )


def _write_import_csv(path: Path) -> Path:
    """Three good rows and, on line 4 of the file, one with a time zone that does not exist."""
    header = (
        "email,full_name,role,specialty,department,site,interests,goals,mentoring,"
        "can_teach,wants_to_learn,timezone,availability,avoid"
    )
    rows = [
        "amara.okafor@stmarys.example,Amara Okafor,attending,Cardiology,Medicine,Main,"
        "teaching;running,Meet people,offer,echo,,America/New_York,Mon 12:00-13:00,",
        "li.wei@stmarys.example,Li Wei,resident,,Surgery,Main,running,,seek,,suturing,"
        "America/New_York,Tue 12:00-13:00; Wed 07:00-08:00,",
        "bad.zone@stmarys.example,Bad Zone,nurse,,ICU,Main,,,none,,,Mars/Olympus_Mons,"
        "Mon 12:00-13:00,",
        "noor.haddad@stmarys.example,Noor Haddad,nurse,,ICU,North,quality improvement,,none,"
        ",,America/New_York,Mon 12:00-13:00; Tue 12:00-13:00,",
    ]
    path.write_text(header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


class Dashboard:
    """The signed-in browser tab, with the few moves every step makes."""

    def __init__(self, page: Any, base: str) -> None:
        self.page = page
        self.base = base
        self.console_errors: list[str] = []  # CSP violations are console errors in Chromium
        self.failed_requests: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.console_errors.append(f"{page.url}: {exc}"))
        page.on("response", self._on_response)

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            self.console_errors.append(f"{self.page.url}: {message.text} {message.location}")

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.failed_requests.append(f"{response.status} {response.url}")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"admin-{name}.png"), full_page=True)

    def open(self, section: str) -> None:
        nav = self.page.get_by_role("navigation", name="Dashboard")
        nav.get_by_role("link", name=section, exact=True).click()

    def heading(self) -> Any:
        return self.page.get_by_role("heading", level=1)

    def flash_says(self, text: str) -> None:
        sync_api.expect(self.page.locator(".flash")).to_contain_text(text)


def _sign_in(ui: Dashboard) -> None:
    expect, page = sync_api.expect, ui.page
    page.goto(ui.base)
    expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    page.get_by_label("Email").fill(LEAD)
    page.get_by_label("Password").fill(PASSWORD)
    ui.shot("login")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(ui.base)  # back to the page first asked for
    expect(ui.heading()).to_have_text("Stmarys Hospital")
    ui.shot("overview")


def _find_a_participant(ui: Dashboard) -> None:
    expect, page = sync_api.expect, ui.page
    ui.open("Participants")
    expect(page.locator(".participants-table tbody tr")).to_have_count(24)
    ui.shot("participants")
    page.get_by_label("Name or email").fill("Person 7")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".participants-table tbody tr")).to_have_count(1)
    page.get_by_role("link", name="Person 7", exact=True).click()
    expect(ui.heading()).to_contain_text("Person 7")
    expect(page.get_by_text("person7@stmarys.example").first).to_be_visible()
    ui.shot("participant-profile")


def _import_with_one_bad_row(ui: Dashboard, upload: Path, people_in_db: Any) -> None:
    expect, page = sync_api.expect, ui.page
    page.goto(f"{ui.base}/participants/import")
    page.get_by_label("CSV file").set_input_files(str(upload))
    ui.shot("import-form")
    page.get_by_role("button", name="Check the file").click()
    expect(ui.heading()).to_have_text("Check before importing")
    expect(page.get_by_text("nothing has been written yet")).to_be_visible()
    bad_row = page.locator("table.import-errors tbody tr")
    expect(bad_row).to_have_count(1)
    expect(bad_row.locator("td").nth(0)).to_have_text("4")
    expect(bad_row.locator("td").nth(1)).to_have_text("timezone")
    expect(bad_row.locator("td").nth(2)).to_contain_text("Mars/Olympus_Mons")
    ui.shot("import-report")
    assert people_in_db() == 24, "checking the file wrote participants"

    page.get_by_label(re.compile("Skip the 1 invalid row")).check()
    page.get_by_role("button", name="Import").click()
    ui.flash_says("Imported: 3 created, 0 updated, 1 invalid row(s) skipped")
    table = page.locator(".participants-table")
    for name in ("Amara Okafor", "Li Wei", "Noor Haddad"):
        expect(table.get_by_role("link", name=name, exact=True)).to_be_visible()
    expect(table.get_by_text("Bad Zone")).to_have_count(0)
    ui.shot("participants-imported")
    assert people_in_db() == 27


def _preview_move_and_send(ui: Dashboard) -> str:
    """Returns the flash shown after approving."""
    expect, page = sync_api.expect, ui.page
    ui.open("Rounds")
    ui.shot("rounds")
    page.get_by_role("button", name="Prepare preview").click()
    ui.flash_says("round ready")
    expect(ui.heading()).to_contain_text("Preview")
    quality = page.locator(".stat-grid.quality")
    expect(quality.locator('[data-figure="repeats"]')).to_be_visible()
    cards = page.locator("article.group-card")
    expect(cards.first).to_be_visible()
    assert cards.count() >= 6, "27 people should make several groups"
    expect(cards.first.locator(".reason")).not_to_be_empty()
    ui.shot("round-preview")

    sizes = [cards.nth(i).locator("ul.members > li").count() for i in range(cards.count())]
    source = sizes.index(max(sizes))  # a group that still has two people after the move
    target = min((i for i in range(len(sizes)) if i != source), key=sizes.__getitem__)
    target_number = int(str(cards.nth(target).get_attribute("id")).removeprefix("group-"))
    mover = cards.nth(source).locator("ul.members > li").first
    mover_name = mover.locator(".member-name").inner_text()
    mover.get_by_role("textbox").fill(str(target_number))
    mover.get_by_role("button", name="Move").click()
    ui.flash_says(f"Moved to group {target_number}.")
    # Exact text: "Person 1" must not also match "Person 12" already in that group.
    moved = page.locator(f"#group-{target_number} .member-name").filter(
        has_text=re.compile(rf"^\s*{re.escape(mover_name)}\s*$")
    )
    expect(moved).to_have_count(1)
    for figure in ("repeats", "no-slot", "cross", "mix", "interests"):
        expect(quality.locator(f'[data-figure="{figure}"]')).not_to_be_empty()
    ui.shot("round-moved")

    page.get_by_role("button", name="Approve & send").click()
    ui.flash_says("Round approved:")
    expect(ui.heading().locator(".badge")).to_have_text("sent")
    ui.shot("round-sent")
    return str(page.locator(".flash").inner_text())


def _topics_settings_audit(ui: Dashboard) -> int:
    """Returns the meeting length saved on the settings page."""
    expect, page = sync_api.expect, ui.page
    ui.open("Topics")
    expect(ui.heading()).to_have_text("Topics")
    ui.shot("topics")
    page.get_by_role("link", name="Rotation calendar").click()
    expect(ui.heading()).to_contain_text("Topic rotation")
    ui.shot("topics-calendar")

    ui.open("Settings")
    minutes = page.get_by_label("Meeting length (minutes)")
    new_minutes = "45" if minutes.input_value() != "45" else "40"
    minutes.fill(new_minutes)
    page.get_by_role("button", name="Save settings").click()
    ui.flash_says("Settings saved.")
    expect(page.get_by_label("Meeting length (minutes)")).to_have_value(new_minutes)
    ui.shot("settings")

    ui.open("Audit log")
    actions = page.locator(".audit-table code")
    for action in ("organization.settings", "round.move_member", "participant.import"):
        expect(actions.filter(has_text=action)).to_have_count(1)
    expect(page.locator(".audit-table")).to_contain_text("meeting_minutes")
    ui.shot("audit")
    return int(new_minutes)


def _impact(ui: Dashboard, last_month: str) -> None:
    expect, page = sync_api.expect, ui.page
    ui.open("Impact")
    expect(ui.heading()).to_have_text("Impact")
    charts = page.locator(".chart svg")
    expect(charts.first).to_be_visible()
    assert charts.count() >= 4, f"only {charts.count()} charts on the impact page"
    ui.shot("impact")
    with page.expect_download() as download_info:
        page.locator('a[href$="/impact/participation.csv"]').click()
    download = download_info.value
    assert download.suggested_filename == f"impact-{SLUG}-participation.csv"
    rows = list(csv.reader(io.StringIO(Path(download.path()).read_text(encoding="utf-8"))))
    assert rows[0][:4] == ["month", "signed_up", "took_part", "participation_rate"]
    assert rows[0][-1] == "note"
    assert any(row[0] == last_month for row in rows[1:]), rows


def _sign_out(ui: Dashboard) -> None:
    expect, page = sync_api.expect, ui.page
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    ui.flash_says("You are signed out.")
    page.goto(ui.base)
    expect(page).to_have_url(re.compile(r"/admin/login\?next="))
    ui.shot("signed-out")


def test_a_wellness_lead_runs_the_dashboard_in_a_browser(
    live_server: LiveServer, live_settings: Settings, tmp_path: Path
) -> None:
    live = live_server
    seeded = _seed(live, live_settings)
    upload = _write_import_csv(tmp_path / "new-people.csv")
    ARTIFACTS.mkdir(exist_ok=True)
    sync_api.expect.set_options(timeout=10_000)  # the CI machine is shared: allow a slow page

    def people_in_db() -> int:
        with live.app.state.sessionmaker() as session:
            return (
                session.scalar(
                    select(func.count())
                    .select_from(Participant)
                    .where(Participant.organization_id == seeded.org_id)
                )
                or 0
            )

    with sync_api.sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            context = browser.new_context(
                viewport={"width": 1280, "height": 900}, accept_downloads=True
            )
            context.set_default_timeout(10_000)
            ui = Dashboard(context.new_page(), f"{live.base_url}/admin/o/{SLUG}")
            _sign_in(ui)
            _find_a_participant(ui)
            _import_with_one_bad_row(ui, upload, people_in_db)
            approved_flash = _preview_move_and_send(ui)
            meeting_minutes = _topics_settings_audit(ui)
            _impact(ui, seeded.last_month)
            _sign_out(ui)
        finally:
            browser.close()

    assert ui.console_errors == [], "console errors:\n" + "\n".join(ui.console_errors)
    assert ui.failed_requests == [], "failed requests:\n" + "\n".join(ui.failed_requests)
    with live.app.state.sessionmaker() as session:
        org = session.get(Organization, seeded.org_id)
        assert org is not None
        assert org.meeting_minutes == meeting_minutes
        sent = session.scalar(
            select(Round).where(Round.organization_id == org.id, Round.month == seeded.this_month)
        )
        assert sent is not None and sent.status == "sent"
        new_invites = _count_invites(session, org.id) - seeded.invites_before
        assert new_invites == 27, "one invitation for each of the 27 people in the round"
    # The flash tells the lead how many emails went into the outbox (PostgreSQL said -1).
    assert f"Round approved: {new_invites} emails are on their way." in approved_flash
