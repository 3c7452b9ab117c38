"""Warm introductions: who is asked, in what order, what each side sees and receives, and
what happens on accept, decline, silence and cancel."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import utcnow
from service.introductions import candidates, jobs, requests
from service.introductions.requests import RequestFields
from service.links import LinkSigner
from service.models import IntroductionAsk, IntroductionRequest, Organization, Participant
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
    shared_group,
    text_of,
)
from tests.service.round_links_helpers import calendar


@pytest.fixture
def h(db: Session, org: Organization) -> Any:
    return hospital(db, org)


def _create(
    db: Session,
    settings: Settings,
    links: LinkSigner,
    h: Any,
    *,
    now: datetime = NOW,
    **fields: Any,
) -> Any:
    values = {"need": GRANT_NEED, **fields}
    created = requests.create_request(
        db, settings, links, h.org, h.requester, RequestFields(**values), now=now
    )
    db.commit()
    return created.request


def _asked(db: Session, request: IntroductionRequest) -> list[tuple[int, str]]:
    db.expire_all()
    asks = db.scalars(
        select(IntroductionAsk)
        .where(IntroductionAsk.request_id == request.id)
        .order_by(IntroductionAsk.position)
    )
    return [(a.candidate_id, a.status) for a in asks]


# --- ranking ---------------------------------------------------------------------------------


def test_ranking_only_offers_active_consenting_colleagues_of_the_same_organization(
    db: Session, h: Any
) -> None:
    request = IntroductionRequest(
        organization_id=h.org.id,
        requester_id=h.requester.id,
        need=GRANT_NEED,
        skill="grant writing",
    )
    ranked = candidates.rank_candidates(db, request, h.requester, now=NOW, limit=None)
    keys = [c.key for c in ranked]
    assert keys[:2] == [h.gina.id, h.omar.id]  # both teach it; Gina's profile is about nothing else
    assert h.priya.id in keys  # interested in grants: relevant, further down
    assert h.uma.id not in keys  # nothing to do with grants
    assert h.requester.id not in keys
    for reason, someone in h.excluded.items():
        assert someone.id not in keys, f"{reason} was offered"


def test_people_never_met_come_before_people_already_met(db: Session, h: Any) -> None:
    shared_group(db, h.org, h.requester, h.gina)
    request = IntroductionRequest(
        organization_id=h.org.id,
        requester_id=h.requester.id,
        need=GRANT_NEED,
        skill="grant writing",
    )
    ranked = candidates.rank_candidates(db, request, h.requester, now=NOW, limit=None)
    assert [c.key for c in ranked][:2] == [h.omar.id, h.gina.id]
    assert ranked[1].met_before and not ranked[0].met_before


def test_the_kept_model_follows_profile_edits_new_people_and_silent_status_changes(
    db: Session, h: Any
) -> None:
    request = IntroductionRequest(
        organization_id=h.org.id,
        requester_id=h.requester.id,
        need=GRANT_NEED,
        skill="grant writing",
    )

    def ranked() -> list[int]:
        found = candidates.rank_candidates(db, request, h.requester, now=NOW, limit=None)
        return [c.key for c in found]

    assert ranked()[:2] == [h.gina.id, h.omar.id]
    h.gina.can_teach = ["ukulele"]  # an edit through the ORM bumps updated_at
    db.commit()
    assert h.gina.id not in ranked()
    newcomer = person(db, h.org, "nell@stmarys.example", "Nell New", can_teach=["grant writing"])
    db.commit()
    assert ranked()[0] == newcomer.id
    # A bounce marks the address undeliverable with a bulk UPDATE that leaves updated_at alone.
    db.execute(update(Participant).where(Participant.id == newcomer.id).values(undeliverable=True))
    db.commit()
    assert newcomer.id not in ranked()


# --- asking, names hidden --------------------------------------------------------------------


def test_a_request_asks_the_best_colleague_without_telling_either_side_a_name(
    client: TestClient, db: Session, h: Any, links: LinkSigner, emails: Any
) -> None:
    page = intro_page(h.org, links, h.requester)
    response = ask_for(client, page, skill="grant writing")
    assert response.status_code == 303
    assert response.headers["location"].endswith("?done=asked")

    [(row, message)] = outbox(db, "introduction_ask")
    assert row.to_address == "gina@stmarys.example"
    text = text_of(message)
    assert GRANT_NEED in text
    assert "a resident in Cardiology, Department of Medicine" in text
    assert "Ann Lee" not in text and "ann@stmarys.example" not in text
    assert "Ann Lee" not in str(message.get_body(preferencelist=("html",)).get_content())
    assert "what you can teach matches “grant writing”" in text
    assert [m["To"] for m in emails()] == ["Gina Grant <gina@stmarys.example>"]  # delivered

    listing = client.get(response.headers["location"])
    assert "Asking a colleague" in listing.text
    assert "Colleague 1 of up to 3" in listing.text
    assert "Gina" not in listing.text
    assert listing.headers["cache-control"].startswith("no-store")


def test_accepting_introduces_both_with_a_20_minute_invite_at_a_time_both_listed(
    client: TestClient, db: Session, h: Any, links: LinkSigner, emails: Any
) -> None:
    page = intro_page(h.org, links, h.requester)
    ask_for(client, page, skill="grant writing")
    [(_, ask_email)] = outbox(db, "introduction_ask")
    answer = link_in(ask_email, "answer=accept")
    shown = client.get(answer)
    assert shown.status_code == 200
    assert "Could you help a colleague?" in shown.text and "Ann Lee" not in shown.text
    base = answer.split("?")[0]
    accepted = client.post(
        f"{base}/accept", data={"csrf_token": csrf_of(shown.text)}, follow_redirects=False
    )
    assert accepted.status_code == 303 and accepted.headers["location"] == f"{base}/thanks"
    thanks = client.get(accepted.headers["location"])
    assert "We have emailed you both" in thanks.text and "Ann Lee" in thanks.text

    made = outbox(db, "introduction_made")
    assert sorted(row.to_address for row, _ in made) == [
        "ann@stmarys.example",
        "gina@stmarys.example",
    ]
    for row, message in made:
        text = text_of(message)
        other = "Gina Grant" if row.to_address.startswith("ann") else "Ann Lee"
        assert other in text and GRANT_NEED in text
        event = calendar(message).walk("VEVENT")[0]  # type: ignore[union-attr]
        start, end = event.decoded("DTSTART"), event.decoded("DTEND")
        assert timedelta(minutes=15) <= end - start <= timedelta(minutes=20)
        local = start.astimezone(ZoneInfo("America/New_York"))
        assert local.weekday() in (0, 2) and (local.hour, local.minute) == (12, 0)
        assert utcnow() < start < utcnow() + timedelta(days=15)
        attendees = sorted(str(a) for a in event.get("ATTENDEE"))
        assert attendees == ["mailto:ann@stmarys.example", "mailto:gina@stmarys.example"]
    delivered = [str(m["To"]) for m in emails() if calendar(m) is not None]  # sent right away
    assert sorted(delivered) == [
        "Ann Lee <ann@stmarys.example>",
        "Gina Grant <gina@stmarys.example>",
    ]

    listing = client.get(page)
    assert "Accepted: meet Gina Grant" in listing.text
    assert "gina@stmarys.example" in listing.text


def test_answering_twice_or_after_accepting_changes_nothing(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    ask_for(client, intro_page(h.org, links, h.requester), skill="grant writing")
    [(_, ask_email)] = outbox(db, "introduction_ask")
    base = link_in(ask_email, "answer=accept").split("?")[0]
    token = csrf_of(client.get(base).text)
    for _ in range(2):
        response = client.post(f"{base}/accept", data={"csrf_token": token}, follow_redirects=False)
        assert response.status_code == 303
    response = client.post(f"{base}/decline", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert len(outbox(db, "introduction_made")) == 2
    assert len(outbox(db, "introduction_ask")) == 1
    request = db.scalar(select(IntroductionRequest))
    assert request is not None and request.status == "accepted"
    assert "You're meeting Ann Lee" in client.get(base).text


def test_declining_asks_the_next_colleague_and_can_stop_future_requests(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    ask_for(client, intro_page(h.org, links, h.requester), skill="grant writing")
    [(_, first)] = outbox(db, "introduction_ask")
    base = link_in(first, "answer=decline").split("?")[0]
    response = client.post(
        f"{base}/decline",
        data={"csrf_token": csrf_of(client.get(base).text), "stop_asking": "yes"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    thanks = client.get(response.headers["location"])
    assert "we will ask someone else" in thanks.text.lower()
    assert "won't receive introduction requests" in thanks.text
    asks = outbox(db, "introduction_ask")
    assert [row.to_address for row, _ in asks] == ["gina@stmarys.example", "omar@stmarys.example"]
    db.expire_all()
    assert db.get(Participant, h.gina.id).accepts_introductions is False  # type: ignore[union-attr]
    assert "You declined" in client.get(base).text


def test_no_answer_within_seven_days_passes_the_request_on(
    db: Session, h: Any, settings: Settings, links: LinkSigner, factory: sessionmaker[Session]
) -> None:
    request = _create(db, settings, links, h, skill="grant writing")
    assert _asked(db, request) == [(h.gina.id, "asked")]
    assert jobs.expire_unanswered(factory, settings, links, now=NOW + timedelta(days=6)) == 0
    assert _asked(db, request) == [(h.gina.id, "asked")]
    later = NOW + timedelta(days=7, minutes=1)
    assert jobs.expire_unanswered(factory, settings, links, now=later) == 1
    assert _asked(db, request) == [(h.gina.id, "expired"), (h.omar.id, "asked")]
    assert jobs.expire_unanswered(factory, settings, links, now=later) == 0  # runs twice: harmless
    [(row, _)] = [pair for pair in outbox(db, "introduction_ask") if "omar" in pair[0].to_address]
    assert row.status == "pending"


def test_after_three_colleagues_the_request_closes_with_a_kind_no_match_email(
    db: Session, h: Any, settings: Settings, links: LinkSigner, factory: sessionmaker[Session]
) -> None:
    # Two more who would fit: still, at most three are asked.
    for i in range(2):
        person(db, h.org, f"extra{i}@stmarys.example", f"Extra {i}", can_teach=["grant writing"])
    db.commit()
    request = _create(db, settings, links, h, skill="grant writing")
    when = NOW
    for _ in range(3):
        when += timedelta(days=8)
        jobs.expire_unanswered(factory, settings, links, now=when)
    asked = _asked(db, request)
    assert len(asked) == 3 and all(status == "expired" for _, status in asked)
    db.refresh(request)
    assert request.status == "unmatched"
    [(row, message)] = outbox(db, "introduction_unmatched")
    assert row.to_address == "ann@stmarys.example"
    assert "none of them could take it on" in text_of(message)
    assert "/my/" in link_in(message, "/introductions")


def test_a_need_nobody_fits_is_closed_at_once(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    page = intro_page(h.org, links, h.requester)
    response = ask_for(client, page, need="Someone who restores antique harpsichords")
    assert response.headers["location"].endswith("?done=unmatched")
    assert outbox(db, "introduction_ask") == []
    assert len(outbox(db, "introduction_unmatched")) == 1
    assert "No match" in client.get(page).text


# --- limits ----------------------------------------------------------------------------------


def test_two_open_requests_at_most_with_the_error_on_the_form(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    page = intro_page(h.org, links, h.requester)
    assert ask_for(client, page, skill="grant writing").status_code == 303
    assert ask_for(client, page, need="Someone who teaches research methods").status_code == 303
    third = ask_for(client, page, need="A pulmonologist to talk about fellowships")
    assert third.status_code == 422
    assert "You already have two open requests" in third.text
    assert "A pulmonologist to talk about fellowships" in third.text  # what they typed is kept
    assert (
        db.scalar(select(IntroductionRequest.id).where(IntroductionRequest.need.like("A pulm%")))
        is None
    )


def test_the_same_colleague_is_not_asked_again_by_the_same_person_within_90_days(
    db: Session, h: Any, settings: Settings, links: LinkSigner
) -> None:
    first = _create(db, settings, links, h, skill="grant writing")
    assert requests.cancel_request(db, h.requester, first.id, now=NOW)
    db.commit()
    second = _create(db, settings, links, h, skill="grant writing", now=NOW + timedelta(days=1))
    assert _asked(db, second) == [(h.omar.id, "asked")]
    requests.cancel_request(db, h.requester, second.id, now=NOW + timedelta(days=2))
    db.commit()
    third = _create(db, settings, links, h, skill="grant writing", now=NOW + timedelta(days=91))
    assert _asked(db, third) == [(h.gina.id, "asked")]


# --- cancel ----------------------------------------------------------------------------------


def test_cancelling_withdraws_the_ask_and_a_late_accept_does_nothing(
    client: TestClient, db: Session, h: Any, links: LinkSigner
) -> None:
    page = intro_page(h.org, links, h.requester)
    ask_for(client, page, skill="grant writing")
    [(_, ask_email)] = outbox(db, "introduction_ask")
    base = link_in(ask_email, "answer=accept").split("?")[0]
    candidate_csrf = csrf_of(client.get(base).text)
    request = db.scalar(select(IntroductionRequest))
    assert request is not None
    listing = client.get(page)
    cancelled = client.post(
        f"{page}/{request.id}/cancel",
        data={"csrf_token": csrf_of(listing.text)},
        follow_redirects=False,
    )
    assert cancelled.headers["location"].endswith("?done=cancelled")
    assert _asked(db, request) == [(h.gina.id, "withdrawn")]
    assert "no longer needs this introduction" in client.get(base).text
    client.post(f"{base}/accept", data={"csrf_token": candidate_csrf})
    db.refresh(request)
    assert request.status == "cancelled" and outbox(db, "introduction_made") == []
    # Cancelling again, or someone else's request, changes nothing.
    again = client.post(
        f"{page}/{request.id}/cancel", data={"csrf_token": candidate_csrf}, follow_redirects=False
    )
    assert again.headers["location"].endswith("?done=closed")
    other_page = intro_page(h.org, links, h.gina)
    assert (
        client.post(
            f"{other_page}/{request.id}/cancel", data={"csrf_token": candidate_csrf}
        ).status_code
        == 404
    )


def test_the_command_line_passes_unanswered_asks_on_like_the_scheduler(
    db: Session,
    h: Any,
    settings: Settings,
    links: LinkSigner,
    monkeypatch: pytest.MonkeyPatch,
    database_url: str,
) -> None:
    from typer.testing import CliRunner

    from service.cli import app
    from service.config import get_settings
    from tests.conftest import TEST_SECRET

    request = _create(
        db, settings, links, h, skill="grant writing", now=utcnow() - timedelta(days=8)
    )
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("ENVIRONMENT", "test")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["introductions"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "1 unanswered introduction asks passed on" in result.output
    assert _asked(db, request) == [(h.gina.id, "expired"), (h.omar.id, "asked")]
