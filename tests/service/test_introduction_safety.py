"""Warm introductions against bad input and the wrong people: field errors, markup, CSRF,
links used by someone else or elsewhere, "did you meet?", and what the dashboard may show."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import utcnow
from service.introductions import links as intro_links
from service.introductions import requests
from service.introductions.requests import RequestFields
from service.introductions.stats import introduction_counts
from service.links import LinkSigner
from service.models import IntroductionAsk, IntroductionRequest, Organization
from service.public.member import member_token
from service.scheduler import build_scheduler
from tests.service.admin_helpers import login, make_admin
from tests.service.introduction_helpers import (
    GRANT_NEED,
    NOW,
    ask_for,
    csrf_of,
    hospital,
    intro_page,
    link_in,
    outbox,
    person,
)

SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def h(db: Session, org: Organization) -> Any:
    return hospital(db, org)


def _asked_link(client: TestClient, db: Session, h: Any, links: LinkSigner) -> str:
    ask_for(client, intro_page(h.org, links, h.requester), skill="grant writing")
    [(_, message)] = outbox(db, "introduction_ask")
    return link_in(message, "answer=accept").split("?")[0]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"need": ""}, "need", "Tell us who you would like to meet"),
        ({"need": "x" * 501}, "need", "Use at most 500 characters (you wrote 501)"),
        ({"skill": "y" * 121}, "skill", "Use at most 120 characters"),
        ({"need": "Someone <b>bold</b>"}, "need", "Use plain text without HTML"),
        ({"specialty": SCRIPT}, "specialty", "Use plain text without HTML"),
        ({"site": "<img src=x onerror=alert(1)>"}, "site", "Use plain text without HTML"),
        ({"site": "Main\u202eCampus"}, "site", "control characters"),
    ],
)
def test_bad_fields_come_back_with_the_error_next_to_the_field_and_nothing_saved(
    client: TestClient,
    db: Session,
    h: Any,
    links: LinkSigner,
    fields: dict[str, str],
    field: str,
    message: str,
) -> None:
    response = ask_for(client, intro_page(h.org, links, h.requester), **fields)
    assert response.status_code == 422
    html = response.text
    error_at = html.index(f'id="{field}-error"')
    assert message in html[error_at : error_at + 300]
    assert html.index(f'id="{field}-error"') < html.index(f'id="{field}"')  # next to its input
    assert 'class="error-summary"' in html
    assert SCRIPT not in html and "<img src=x" not in html  # typed markup is shown inert
    assert db.scalar(select(IntroductionRequest.id)) is None
    assert outbox(db) == []


def test_text_that_merely_contains_angle_brackets_is_kept_and_shown_escaped(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    page = intro_page(h.org, links, h.requester)
    need = 'Grant writing help: <5 years in, "R01" & K-award questions'
    assert ask_for(client, page, need=need).status_code == 303
    stored = db.scalar(select(IntroductionRequest.need))
    assert stored == need
    html = client.get(page).text
    assert "&lt;5 years in, &#34;R01&#34; &amp; K-award" in html


def test_markup_stored_by_any_other_route_still_renders_inert_everywhere(
    client: TestClient, db: Session, h: Any, settings: Settings, links: LinkSigner
) -> None:
    # Bypass the form's validation (e.g. an old row): pages and emails escape it anyway.
    created = requests.create_request(
        db,
        settings,
        links,
        h.org,
        h.requester,
        RequestFields(need=f"grant writing {SCRIPT}", skill="grant writing"),
        now=NOW,
    )
    db.commit()
    assert created.request.status == "open"
    [(_, message)] = outbox(db, "introduction_ask")
    html_part = str(message.get_body(preferencelist=("html",)).get_content())
    assert SCRIPT not in html_part and "&lt;script&gt;" in html_part
    candidate_page = client.get(link_in(message, "answer=accept"))
    assert SCRIPT not in candidate_page.text and "&lt;script&gt;" in candidate_page.text
    assert SCRIPT not in client.get(intro_page(h.org, links, h.requester)).text


def test_every_introduction_form_refuses_a_post_without_its_csrf_token(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    base = _asked_link(client, db, h, links)
    request = db.scalar(select(IntroductionRequest))
    assert request is not None
    page = intro_page(h.org, links, h.requester)
    for path in (
        page,
        f"{page}/{request.id}/cancel",
        f"{base}/accept",
        f"{base}/decline",
        f"{base}/met",
    ):
        response = client.post(
            path, data={"need": GRANT_NEED, "met": "yes"}, follow_redirects=False
        )
        assert response.status_code == 403, path
    db.expire_all()
    assert db.scalar(select(IntroductionRequest.status)) == "open"
    assert db.scalar(select(IntroductionAsk.status)) == "asked"


# --- links -----------------------------------------------------------------------------------


def test_an_ask_link_works_only_for_its_colleague_and_organization(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    base = _asked_link(client, db, h, links)
    token = base.rsplit("/", 1)[1]
    other = Organization(slug="east", name="East Clinic", timezone="UTC")
    db.add(other)
    db.commit()
    assert client.get(f"/o/east/intro/{token}").status_code == 400
    # A member link is not an answer link, and an answer link is not a member link.
    member = member_token(links, h.gina)
    assert client.get(f"/o/{h.org.slug}/intro/{member}").status_code == 400
    assert client.get(f"/o/{h.org.slug}/my/{token}/introductions").status_code == 400
    # A forged record id under a valid signature of someone else is refused.
    ask = db.scalar(select(IntroductionAsk))
    assert ask is not None
    forged = links.make("introduction", participant_id=h.omar.id, version=0, extra=f"a{ask.id}")
    assert client.get(f"/o/{h.org.slug}/intro/{forged}").status_code == 400
    # Leaving retires the link.
    h.gina.status, h.gina.link_version = "left", h.gina.link_version + 1
    db.commit()
    assert client.get(base).status_code == 400


def test_an_expired_ask_says_so_politely_and_cannot_be_accepted(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    base = _asked_link(client, db, h, links)
    token = csrf_of(client.get(base).text)
    ask = db.scalar(select(IntroductionAsk))
    assert ask is not None
    ask.expires_at = utcnow() - timedelta(minutes=1)
    db.commit()
    page = client.get(base)
    assert page.status_code == 200 and "This request has expired" in page.text
    client.post(f"{base}/accept", data={"csrf_token": token})
    assert outbox(db, "introduction_made") == []


# --- did you meet? ---------------------------------------------------------------------------


def test_either_side_says_whether_they_met_once_the_call_time_has_come(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    base = _asked_link(client, db, h, links)
    token = csrf_of(client.get(base).text)
    client.post(f"{base}/accept", data={"csrf_token": token})
    made = {row.to_address: message for row, message in outbox(db, "introduction_made")}
    requester_yes = link_in(made["ann@stmarys.example"], "met=yes")
    early = client.post(f"{base}/met", data={"csrf_token": token, "met": "yes"})
    assert early.status_code == 409
    request = db.scalar(select(IntroductionRequest))
    assert request is not None and request.meeting_start is not None
    request.meeting_start = utcnow() - timedelta(hours=1)
    db.commit()
    shown = client.get(requester_yes)
    assert 'id="met-yes" name="met" value="yes" checked' in shown.text  # the click preselects
    missing = client.post(f"{base}/met", data={"csrf_token": token})
    assert missing.status_code == 422 and 'id="met-error"' in missing.text
    done = client.post(
        requester_yes.split("?")[0] + "/met",
        data={"csrf_token": token, "met": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"].endswith("?done=met")
    db.refresh(request)
    assert request.met is True
    client.post(f"{base}/met", data={"csrf_token": token, "met": "no"})
    db.refresh(request)
    assert request.met is False  # the latest answer stands
    assert (
        "You told us: the call did not happen"
        in client.get(intro_page(h.org, links, h.requester)).text
    )
    # The requester's link cannot accept or decline anything.
    requester_base = requester_yes.split("?")[0]
    assert (
        client.post(
            f"{requester_base}/decline", data={"csrf_token": token}, follow_redirects=False
        ).headers["location"]
        == requester_base
    )


# --- dashboard and scheduler -----------------------------------------------------------------


def test_the_dashboard_counts_introductions_and_suppresses_small_numbers(
    client: TestClient, db: Session, org: Organization
) -> None:
    teacher = person(db, org, "t@stmarys.example", "Teacher", can_teach=["grant writing"])
    requesters = [person(db, org, f"r{i}@stmarys.example", f"Req {i}") for i in range(6)]
    helpers = [person(db, org, f"c{i}@stmarys.example", f"Col {i}") for i in range(6)]
    for i, requester in enumerate(requesters):
        accepted = i < 3
        request = IntroductionRequest(
            organization_id=org.id,
            requester_id=requester.id,
            need=f"secret need {i}",
            status="accepted" if accepted else "open",
            met=True if i == 0 else None,
        )
        db.add(request)
        db.flush()
        for position, helper in enumerate((helpers[i], teacher), start=1):
            db.add(
                IntroductionAsk(
                    request_id=request.id,
                    candidate_id=helper.id,
                    position=position,
                    status="accepted" if accepted and position == 1 else "declined",
                    expires_at=NOW,
                )
            )
    db.commit()
    counts = introduction_counts(db, org)
    assert (counts.requested.shown, counts.asked.shown) == (6, 12)
    assert counts.accepted.shown == 3  # 3 requests, 6 people: shown
    assert counts.met.suppressed  # 1 introduction, 2 people: "fewer than 5"
    make_admin(db, org)
    login(client, "lead@stmarys.example")
    html = client.get(f"/admin/o/{org.slug}/impact").text
    section = html[html.index('id="figure-introductions"') :]
    assert '>6</span><span class="label">introductions requested' in section
    assert '>12</span><span class="label">colleagues asked' in section
    assert 'fewer than 5</span><span class="label">introductions that led to a call' in section
    assert "secret need" not in html


def test_the_scheduler_passes_unanswered_asks_on_every_15_minutes(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    scheduler = build_scheduler(factory, settings, links)
    job = scheduler.get_job("introductions")
    assert job is not None and job.trigger.interval == timedelta(minutes=15)


def test_requester_link_shows_no_names_while_still_asking(
    db: Session, h: Any, settings: Settings, links: LinkSigner, client: TestClient
) -> None:
    created = requests.create_request(
        db,
        settings,
        links,
        h.org,
        h.requester,
        RequestFields(need=GRANT_NEED, skill="grant writing"),
        now=utcnow(),
    )
    db.commit()
    token = intro_links.requester_token(links, h.requester, created.request)
    page = client.get(intro_links.intro_path(h.org, token))
    assert page.status_code == 200 and "still looking" in page.text
    assert "Gina" not in page.text
