"""The pages behind the links in round emails, driven by the links in the real emails."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import itsdangerous.timed
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from service.models import Feedback, MatchGroup, Membership, Organization, Participant
from service.participants.service import add_months
from service.rounds.changes import drop_out
from service.rounds.create import create_round
from service.rounds.feedback import group_met
from service.rounds.timing import format_local
from tests.conftest import email_text
from tests.service.round_links_helpers import (
    PEOPLE,
    SentRound,
    csrf,
    emails_to,
    event_facts,
    link,
    post_form,
    round_time,
    sent_round_fixture,  # noqa: F401
)


def invite_for(sent: SentRound, person: Participant) -> EmailMessage:
    (invite,) = emails_to(sent.emails(), person.email)
    return invite


def member(sent: SentRound, email: str) -> Membership:
    with sent.session() as session:
        found = session.scalar(
            select(Membership)
            .join(Participant, Participant.id == Membership.participant_id)
            .where(Participant.email == email, Membership.round_id == sent.round_id)
        )
        assert found is not None
        return found


def person(sent: SentRound, email: str) -> Participant:
    with sent.session() as session:
        found = session.scalar(select(Participant).where(Participant.email == email))
        assert found is not None
        return found


# --- can't make it -------------------------------------------------------------------------


def test_cant_make_it_page_names_the_meeting_and_changes_nothing(
    client: TestClient, sent_round: SentRound
) -> None:
    group, members = sent_round.groups()[0]
    url = link(invite_for(sent_round, members[0]), "cant-make-it")
    page = client.get(url)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert group.meeting_start is not None
    assert format_local(group.meeting_start, "America/New_York") in page.text
    assert "I can't make it this month" in page.text
    assert members[1].full_name in page.text and "keep meeting" in page.text
    client.get(url)  # a mail scanner opening the link twice
    assert client.post(url, data={}, follow_redirects=False).status_code == 403  # no CSRF token
    assert member(sent_round, members[0].email).status == "invited"
    assert len(sent_round.emails()) == PEOPLE

    # The time is shown in the participant's own zone.
    with sent_round.session() as session:
        someone = session.get(Participant, members[0].id)
        assert someone is not None
        someone.timezone = "Europe/London"
        session.commit()
    page = client.get(url)
    assert format_local(group.meeting_start, "Europe/London") in page.text
    assert "Europe/London" in page.text


def test_dropping_out_sends_a_cancel_and_an_update_to_the_rest(
    client: TestClient, sent_round: SentRound
) -> None:
    group, members = next((g, m) for g, m in sent_round.groups() if len(m) == 4)
    leaving, staying = members[0], members[1:]
    url = link(invite_for(sent_round, leaving), "cant-make-it")
    answer = post_form(client, url, {})
    assert answer.status_code == 303
    assert answer.headers["location"].endswith("/cant-make-it/done")
    done = client.get(answer.headers["location"])
    assert "Thanks for letting us know" in done.text and "/pause/" in done.text
    assert member(sent_round, leaving.email).status == "dropped"

    # No outbox run needed: the emails go out right after the commit.
    invite, cancel = emails_to(sent_round.emails(), leaving.email)
    facts = event_facts(cancel)
    assert (facts["method"], facts["sequence"]) == ("CANCEL", 1)
    assert facts["attendees"] == [leaving.email]
    remaining = sorted(p.email for p in staying)
    for someone in staying:
        update = emails_to(sent_round.emails(), someone.email)[-1]
        facts = event_facts(update)
        assert (facts["method"], facts["sequence"]) == ("REQUEST", 1)
        assert facts["uid"] == group.ical_uid
        assert facts["attendees"] == remaining
        assert leaving.full_name in email_text(update)


def test_a_group_of_three_becomes_a_pair_and_still_gets_the_update(
    client: TestClient, sent_round: SentRound
) -> None:
    group, members = next((g, m) for g, m in sent_round.groups() if len(m) == 3)
    answer = post_form(client, link(invite_for(sent_round, members[2]), "cant-make-it"), {})
    assert answer.status_code == 303
    sent_round.deliver()
    pair = sorted(p.email for p in members[:2])
    for someone in members[:2]:
        facts = event_facts(emails_to(sent_round.emails(), someone.email)[-1])
        assert (facts["method"], facts["sequence"], facts["attendees"]) == ("REQUEST", 1, pair)
    (after,) = [g for g, m in sent_round.groups() if g.id == group.id]
    assert after.ical_sequence == 1


def test_pressing_cant_make_it_twice_is_harmless(client: TestClient, sent_round: SentRound) -> None:
    _, members = sent_round.groups()[0]
    url = link(invite_for(sent_round, members[0]), "cant-make-it")
    token = csrf(client, url)  # the page is open in two tabs
    assert client.post(url, data={"csrf_token": token}).status_code == 200
    sent_round.deliver()
    count = len(sent_round.emails())
    again = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"].endswith("/cant-make-it/done")
    sent_round.deliver()
    assert len(sent_round.emails()) == count
    (group, _), *_ = sent_round.groups()
    assert group.ical_sequence == 1
    assert "already told us" in client.get(url).text


# --- check-in and follow-up ----------------------------------------------------------------


def test_checkin_links_preselect_the_answer_and_store_it_only_on_post(
    client: TestClient, sent_round: SentRound
) -> None:
    sent_round.send_checkins_and_followups()
    _, members = sent_round.groups()[0]
    checkin = next(
        m for m in emails_to(sent_round.emails(), members[0].email) if "met=yes" in email_text(m)
    )
    yes_url = link(checkin, "met=yes")
    page = client.get(yes_url)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'value="yes" checked' in page.text
    assert 'value="no" checked' in client.get(link(checkin, "met=no")).text
    with sent_round.session() as session:
        assert session.scalar(select(Feedback)) is None

    form = yes_url.split("?")[0]
    data = {"met": "yes", "rating": "4", "learned": "How the ICU handles night handover."}
    answer = post_form(client, form, data)
    assert answer.status_code == 303 and answer.headers["location"].endswith("/checkin/done")
    assert "Thank you" in client.get(answer.headers["location"]).text
    answer = post_form(client, form, {"met": "no", "rating": "", "learned": ""})
    assert answer.status_code == 303
    with sent_round.session() as session:
        (stored,) = session.scalars(select(Feedback)).all()
        assert (stored.kind, stored.met, stored.rating, stored.learned) == (
            "checkin",
            False,
            None,
            "",
        )
    assert 'value="no" checked' in client.get(form).text  # the stored answer is shown


def test_two_members_saying_yes_means_the_group_met(
    client: TestClient, sent_round: SentRound
) -> None:
    sent_round.send_checkins_and_followups()
    group, members = sent_round.groups()[0]

    def say(someone: Participant, met: str) -> None:
        mail = next(
            m for m in emails_to(sent_round.emails(), someone.email) if "met=yes" in email_text(m)
        )
        url = link(mail, f"met={met}").split("?")[0]
        assert post_form(client, url, {"met": met}).status_code == 303

    def met() -> bool:
        with sent_round.session() as session:
            return group_met(session, group)

    say(members[0], "yes")
    say(members[1], "no")
    assert not met()
    say(members[2], "yes")
    assert met()


def test_checkin_validation_keeps_what_was_typed(client: TestClient, sent_round: SentRound) -> None:
    sent_round.send_checkins_and_followups()
    _, members = sent_round.groups()[0]
    mail = next(
        m for m in emails_to(sent_round.emails(), members[0].email) if "met=yes" in email_text(m)
    )
    url = link(mail, "met=yes").split("?")[0]
    answer = post_form(client, url, {"rating": "9", "learned": "Ward <b>rounds</b> tips"})
    assert answer.status_code == 422
    assert "Choose yes or no" in answer.text and "from 1 to 5" in answer.text
    assert "Ward &lt;b&gt;rounds&lt;/b&gt; tips" in answer.text
    too_long = post_form(client, url, {"met": "yes", "learned": "x" * 1001})
    assert too_long.status_code == 422 and "at most 1000" in too_long.text
    without_csrf = client.post(url, data={"met": "yes"}, follow_redirects=False)
    assert without_csrf.status_code == 403
    with sent_round.session() as session:
        assert session.scalar(select(Feedback)) is None


def test_followup_outcomes_are_stored(client: TestClient, sent_round: SentRound) -> None:
    sent_round.send_checkins_and_followups()
    _, members = sent_round.groups()[1]
    mail = next(
        m for m in emails_to(sent_round.emails(), members[0].email) if "/follow-up" in email_text(m)
    )
    url = link(mail, "/follow-up")
    page = client.get(url)
    assert page.status_code == 200 and "second_coffee" in page.text
    data = {"outcomes": ["second_coffee", "referral"], "comment": "She introduced me to PICU."}
    answer = post_form(client, url, data)
    assert answer.status_code == 303 and answer.headers["location"].endswith("/follow-up/done")
    with sent_round.session() as session:
        (stored,) = session.scalars(select(Feedback)).all()
        assert stored.kind == "followup"
        assert stored.outcomes == ["second_coffee", "referral"]
        assert stored.learned == "She introduced me to PICU."
    bad = post_form(client, url, {"outcomes": ["nothing_yet", "referral"], "comment": "hm"})
    assert bad.status_code == 422 and "not both" in bad.text
    assert 'value="referral" checked' in bad.text and ">hm</textarea>" in bad.text
    nothing = post_form(client, url, {"comment": "no boxes"})
    assert nothing.status_code == 422 and "at least one" in nothing.text


# --- unsubscribe ---------------------------------------------------------------------------


def test_unsubscribe_page_changes_nothing_and_one_click_post_works_without_cookies(
    app: FastAPI, client: TestClient, sent_round: SentRound
) -> None:
    _, members = sent_round.groups()[0]
    invite = invite_for(sent_round, members[0])
    header = str(invite["List-Unsubscribe"])
    # (List-Unsubscribe-Post is only added for an https:// base URL; the tests run on http.)
    assert "mailto:" in header
    url = header.split("<http://testserver", 1)[1].split(">", 1)[0]
    page = client.get(url)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert "Unsubscribe" in page.text
    assert person(sent_round, members[0].email).status == "active"

    with TestClient(app) as provider:  # a mail provider: no cookies, no CSRF token
        answer = provider.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert answer.status_code == 200 and "unsubscribed" in answer.text
        assert person(sent_round, members[0].email).status == "left"
        again = provider.post(
            url,
            content=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert again.status_code == 200 and "unsubscribed" in again.text
    assert "You're unsubscribed" in client.get(url).text


def test_unsubscribe_button_redirects_to_a_confirmation(
    client: TestClient, sent_round: SentRound
) -> None:
    _, members = sent_round.groups()[0]
    url = link(invite_for(sent_round, members[0]), "/u/")
    answer = client.post(url, data={}, follow_redirects=False)
    assert answer.status_code == 303
    assert person(sent_round, members[0].email).status == "left"
    confirmation = client.get(answer.headers["location"])
    assert confirmation.status_code == 200 and "unsubscribed" in confirmation.text
    assert client.post(url, data={}, follow_redirects=False).status_code == 303


# --- pause ---------------------------------------------------------------------------------


def test_pause_skips_the_next_round_and_resume_brings_you_back(
    app: FastAPI, client: TestClient, sent_round: SentRound
) -> None:
    _, members = sent_round.groups()[0]
    pausing = members[0]
    url = link(invite_for(sent_round, pausing), "/pause/")
    page = client.get(url)
    assert page.status_code == 200 and "Active" in page.text
    answer = post_form(client, url, {"action": "pause", "months": "3"})
    assert answer.status_code == 303
    assert "You&#39;re paused" in client.get(answer.headers["location"]).text
    paused = person(sent_round, pausing.email)
    assert paused.status == "paused"
    assert paused.paused_until == add_months(datetime.now(UTC).date(), 3)

    month, now = round_time(2)
    with app.state.sessionmaker.begin() as session:
        org = session.get(Organization, paused.organization_id)
        assert org is not None
        run = create_round(session, app.state.settings, app.state.links, org, month, now=now)
        placed = set(
            session.scalars(
                select(Membership.participant_id).where(Membership.round_id == run.round.id)
            )
        )
    assert paused.id not in placed and len(placed) == PEOPLE - 1

    assert post_form(client, url, {"action": "resume"}).status_code == 303
    assert person(sent_round, pausing.email).status == "active"
    wrong = post_form(client, url, {"months": "12"})
    assert wrong.status_code == 422 and "1, 2 or 3 months" in wrong.text
    assert person(sent_round, pausing.email).status == "active"


# --- broken links --------------------------------------------------------------------------


def test_broken_links_show_the_link_error_page(
    app: FastAPI, client: TestClient, org: Organization
) -> None:
    links = app.state.links
    stranger = links.make("feedback", participant_id=999, version=0, extra="m999")
    person_token = links.make("unsubscribe", participant_id=999, version=0)
    for url in (
        f"/o/stmarys/r/{stranger}/cant-make-it",
        f"/o/stmarys/r/{stranger[:-3]}abc/checkin",  # tampered
        f"/o/stmarys/r/{person_token}/follow-up",  # a person token is not a meeting token
        f"/o/stmarys/u/{stranger}",
        f"/o/stmarys/u/{person_token}",
        "/o/stmarys/pause/nonsense",
    ):
        answer = client.get(url)
        assert answer.status_code == 400, url
        assert answer.headers["cache-control"] == "no-store"
        assert "link" in answer.text
    assert client.post(f"/o/stmarys/u/{person_token}", data={}).status_code == 400
    assert client.get(f"/o/stmarys/r/{stranger}/nothing/done").status_code == 400


def test_an_expired_feedback_link_answers_410(
    app: FastAPI, client: TestClient, org: Organization, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_ago = time.time() - 200 * 24 * 3600  # feedback links last 120 days
    monkeypatch.setattr(itsdangerous.timed.time, "time", lambda: long_ago)
    token = app.state.links.make("feedback", participant_id=1, version=0, extra="m1")
    monkeypatch.undo()
    answer = client.get(f"/o/stmarys/r/{token}/checkin")
    assert answer.status_code == 410 and answer.headers["cache-control"] == "no-store"


def test_two_people_dropping_out_at_once_both_reach_the_others(sent_round: SentRound) -> None:
    """Two requests load the same group, then both drop out: SEQUENCE must go 0 → 1 → 2."""
    group, members = next((g, m) for g, m in sent_round.groups() if len(m) == 4)
    app = sent_round.app
    settings, links = app.state.settings, app.state.links
    with sent_round.session() as first, sent_round.session() as second:
        loaded = []
        for session, leaving in ((first, members[0]), (second, members[1])):
            participant = session.get(Participant, leaving.id)
            membership = session.get(Membership, member(sent_round, leaving.email).id)
            org = session.get(Organization, leaving.organization_id)
            assert participant and membership and org
            assert session.get(MatchGroup, group.id).ical_sequence == 0  # type: ignore[union-attr]
            loaded.append((session, org, participant, membership))
        for session, org, participant, membership in loaded:
            assert drop_out(session, settings, links, org, participant, membership)
            session.commit()
    sent_round.deliver()
    (after,) = [g for g, _ in sent_round.groups() if g.id == group.id]
    assert after.ical_sequence == 2
    remaining = sorted(p.email for p in members[2:])
    for someone in members[2:]:
        facts = event_facts(emails_to(sent_round.emails(), someone.email)[-1])
        assert (facts["sequence"], facts["attendees"]) == (2, remaining)


def test_no_cancelling_a_past_meeting_and_no_checkin_after_dropping_out(
    client: TestClient, sent_round: SentRound
) -> None:
    (past, past_members), (other, other_members) = sent_round.groups()
    with sent_round.session() as session:
        group = session.get(MatchGroup, past.id)
        assert group is not None
        group.meeting_start = datetime.now(UTC) - timedelta(days=1)
        session.commit()
    url = link(invite_for(sent_round, past_members[0]), "cant-make-it")
    assert "already taken place" in client.get(url).text
    assert post_form(client, url, {}).status_code == 409
    assert member(sent_round, past_members[0].email).status == "invited"

    url = link(invite_for(sent_round, other_members[0]), "cant-make-it")
    assert post_form(client, url, {}).status_code == 303
    checkin = url.replace("/cant-make-it", "/checkin")
    page = client.get(checkin)
    assert page.status_code == 200 and "nothing to check in on" in page.text
    refused = post_form(client, checkin, {"met": "yes"})
    assert refused.status_code == 409 and refused.headers["cache-control"] == "no-store"
    with sent_round.session() as session:
        assert session.scalar(select(Feedback)) is None


def test_after_unsubscribing_no_more_reminders_or_checkins_arrive(
    client: TestClient, sent_round: SentRound
) -> None:
    _, members = sent_round.groups()[0]
    leaving = members[0]
    url = link(invite_for(sent_round, leaving), "/u/")
    assert client.post(url, data={"List-Unsubscribe": "One-Click"}).status_code == 200
    sent_round.send_checkins_and_followups()
    assert len(emails_to(sent_round.emails(), leaving.email)) == 1  # just the invite
    assert len(emails_to(sent_round.emails(), members[1].email)) == 3
