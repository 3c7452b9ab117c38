"""The library in the monthly cycle: resources in invites, sharing from the check-in and
follow-up emails (the chat and its topic are recorded), and the invite ranking."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from notifications import FileSender
from service import outbox
from service.library.picks import invite_picks
from service.models import MatchGroup, Membership, Organization, Resource, Topic
from service.rounds.create import create_round
from tests.conftest import email_text, read_emails
from tests.service.library_helpers import add_resource, share_fields
from tests.service.round_fixtures import make_org
from tests.service.round_links_helpers import (
    PEOPLE,
    SentRound,
    emails_to,
    link,
    post_form,
    round_time,
    sent_round_fixture,  # noqa: F401
)

NIGHT_SHIFT = "the-night-shift"


def _night_shift_only(session: Session, org: Organization) -> Topic:
    """Retire every other topic, so every group of the round gets the night shift."""
    now = datetime.now(UTC)
    session.execute(
        update(Topic)
        .where(Topic.organization_id == org.id, Topic.key != NIGHT_SHIFT)
        .values(retired_at=now)
    )
    topic = session.scalar(select(Topic).where(Topic.key == NIGHT_SHIFT))
    assert topic is not None
    return topic


def test_each_invite_carries_the_library_resources_that_fit_the_topic(
    app: FastAPI, outbox_dir: Path
) -> None:
    month, now = round_time(1)
    with app.state.sessionmaker.begin() as session:
        org = make_org(session, people=PEOPLE)
        _night_shift_only(session, org)
    with app.state.sessionmaker() as session:
        org = session.scalar(select(Organization))
        assert org is not None
        add_resource(session, org, "https://example.org/sleep", "Sleep strategies for nights",
                     why="Made my night shifts bearable & I <3 it.", tags="sleep, night shift",
                     useful=4)
        add_resource(session, org, "https://example.org/snacks", "Night shift snacks",
                     why="Better than vending machines.", tags="nutrition")
        add_resource(session, org, "https://example.org/more-sleep", "Sleep on night shifts",
                     why="Similar.", tags="sleep", useful=0)
        hidden = add_resource(session, org, "https://spam.example/", "Night shift sleep pills",
                              why="Buy now.", tags="sleep", useful=99)
        hidden.hidden_at = datetime.now(UTC)
        add_resource(session, org, "https://example.org/grants", "Grant writing",
                     why="Funding.", tags="research")
        session.commit()
    with app.state.sessionmaker.begin() as session:
        org = session.scalar(select(Organization))
        assert org is not None
        create_round(session, app.state.settings, app.state.links, org, month, now=now)
    outbox.deliver_due(app.state.sessionmaker, FileSender(outbox_dir))
    invites = [m for m in read_emails(outbox_dir) if "Coffee Round:" in str(m["Subject"])]
    assert len(invites) == PEOPLE
    for message in invites:
        text = email_text(message)
        assert "From your colleagues' library:" in text
        section = text.split("From your colleagues' library:")[1].split("The calendar")[0]
        assert section.count("https://") == 2
        assert "https://example.org/sleep" in section  # most relevant and most appreciated
        assert "Night shift sleep pills" not in text  # hidden: never again
        assert "Grant writing" not in text
        html = message.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
        assert "Made my night shifts bearable &amp; I &lt;3 it." in html
        assert 'href="https://example.org/sleep"' in html


def test_an_invite_without_matching_resources_shows_no_library_section(
    sent_round: SentRound,
) -> None:
    # The sent_round fixture has an empty library.
    for message in sent_round.emails():
        assert "colleagues' library" not in email_text(message)


def test_invite_picks_rank_once_per_topic_and_skip_unrelated_topics(
    db: Session,
) -> None:
    org = make_org(db, people=0)
    db.commit()
    topics = {t.key: t for t in db.scalars(select(Topic).where(Topic.organization_id == org.id))}
    add_resource(db, org, "https://example.org/ultrasound", "Point-of-care ultrasound basics",
                 why="Great videos.", tags="point-of-care ultrasound")
    chat = add_resource(db, org, "https://example.org/chat", "Something from a chat",
                        why="Useful.", topic_id=topics[NIGHT_SHIFT].id)
    picks = invite_picks(db, org, [topics[NIGHT_SHIFT].id, topics[NIGHT_SHIFT].id, None])
    # A link shared after a night-shift chat belongs to that topic even without shared words.
    assert picks == {topics[NIGHT_SHIFT].id: [
        {"title": chat.title, "url": chat.url, "why": chat.why}
    ]}
    assert invite_picks(db, org, []) == {}
    assert invite_picks(db, org, [None]) == {}


# --- sharing from the chat emails ------------------------------------------------------------


def _claims_part(path: str) -> str:
    """The link path with its token cut to the signed claims (no timestamp or signature)."""
    parts = path.split("/")  # "", "o", slug, "r", token, "share"
    return "/".join([*parts[:4], parts[4].split(".")[0], *parts[5:]])


def test_sharing_from_the_checkin_email_records_the_chat_and_its_topic(
    client: TestClient, sent_round: SentRound
) -> None:
    sent_round.send_checkins_and_followups()
    group, members = sent_round.groups()[0]
    person = members[0]
    checkin = next(
        m for m in emails_to(sent_round.emails(), person.email)
        if "happen?" in str(m["Subject"])
    )
    share_path = link(checkin, "/share")
    html = checkin.get_body(preferencelist=("html",)).get_content()  # type: ignore[union-attr]
    assert "Share it in the library" in html
    followup = next(
        m for m in emails_to(sent_round.emails(), person.email)
        if str(m["Subject"]).startswith("How was")
    )
    # The same signed claims (this person's chat); the token's timestamp and signature differ
    # when the two emails are rendered in different seconds.
    followup_path = link(followup, "/share")
    assert _claims_part(followup_path) == _claims_part(share_path)
    assert client.get(followup_path).status_code == 200

    form = client.get(share_path)
    assert form.status_code == 200
    assert form.headers["cache-control"] == "no-store"
    assert group.topic_title in form.text
    assert 'name="topic"' not in form.text  # the chat's topic is recorded, not chosen

    bad = post_form(client, share_path, share_fields(url="data:text/html,hi"))
    assert bad.status_code == 422 and "http:// or https://" in bad.text
    done = post_form(client, share_path, share_fields())
    assert done.status_code == 303
    assert "/library?done=shared" in done.headers["location"]
    assert "thank you" in client.get(done.headers["location"]).text.lower()
    with sent_round.session() as session:
        resource = session.scalar(select(Resource))
        membership = session.scalar(
            select(Membership).where(
                Membership.group_id == group.id, Membership.participant_id == person.id
            )
        )
        assert resource is not None and membership is not None
        assert resource.membership_id == membership.id
        assert resource.topic_id == group.topic_id
        assert resource.participant_id == person.id


def test_the_checkin_thank_you_page_offers_to_share(
    client: TestClient, sent_round: SentRound
) -> None:
    sent_round.send_checkins_and_followups()
    _, members = sent_round.groups()[0]
    checkin = next(
        m for m in emails_to(sent_round.emails(), members[0].email)
        if "happen?" in str(m["Subject"])
    )
    path = link(checkin, "/checkin")
    response = post_form(client, path.split("?")[0], {"met": "yes"})
    done = client.get(response.headers["location"])
    assert f'{path.split("/checkin")[0]}/share' in done.text


def test_a_broken_chat_link_cannot_share(client: TestClient, sent_round: SentRound) -> None:
    response = client.get("/o/stmarys/r/forged-token/share")
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    with sent_round.session() as session:
        assert session.scalar(select(Resource)) is None
        assert session.scalar(select(MatchGroup)) is not None
