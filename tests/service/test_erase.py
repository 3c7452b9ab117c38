"""Deleting a participant's data: their name, address and words are gone from every table,
while the statistics (Impact figures, round delivery counts, library and introduction
counts) stay what they were."""

from __future__ import annotations

import email
import email.policy
import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import audit, outbox
from service.admin.round_data import round_rows
from service.config import Settings
from service.db import Base
from service.impact import impact_report
from service.impact.queries import enrolment
from service.links import LinkSigner
from service.models import (
    AvoidEntry,
    Feedback,
    IntroductionAsk,
    IntroductionRequest,
    Membership,
    Organization,
    OutboxMessage,
    Participant,
    Resource,
    ResourceVote,
    Round,
)
from service.participants.service import erase
from service.rounds.create import create_round
from service.rounds.feedback import round_feedback_summary
from tests.service.participation_helpers import introduction, person
from tests.service.round_fixtures import make_org

NAME = "Zoë Ångström-O'Neil"
EMAIL = "zoe.angstrom@stmarys.example"
# Her own words, in every place she can write.
WORDS = (
    "Pharmacy rounds changed my mind",
    "The follow-up note nobody else wrote",
    "Because it saved my night shifts",
    "Someone who has run a QI project in the ED",
    "I hope to find a mentor in cardiology",
)
NOW = datetime(2026, 9, 15, 12, tzinfo=UTC)
MONTHS = ("2026-06", "2026-07", "2026-08")


@dataclass
class World:
    org: Organization
    zoe: Participant
    rounds: list[Round]


def _build(db: Session, app: FastAPI, settings: Settings, links: LinkSigner, tmp: Path) -> World:
    org = make_org(db, people=12)
    people = db.scalars(
        select(Participant).where(Participant.organization_id == org.id).order_by(Participant.id)
    ).all()
    for i, p in enumerate(people):
        p.site = "North" if i % 2 else "South"
        p.confirmed_at = datetime(2026, 1, 5, tzinfo=UTC)
    zoe = people[5]
    zoe.full_name, zoe.email, zoe.goals = NAME, EMAIL, WORDS[4]
    zoe.specialty = "Emergency medicine"
    db.commit()
    rounds = [
        create_round(
            db, settings, links, org, month, now=datetime(int(month[:4]), int(month[5:]), 7, 14,
                                                           tzinfo=UTC)
        ).round
        for month in MONTHS
    ]
    db.commit()
    outbox.deliver_due(app.state.sessionmaker, outbox.FileSender(tmp), limit=1000)

    # Everyone in Zoë's groups met; she and a colleague wrote something.
    for round_ in rounds:
        group_id = db.scalar(
            select(Membership.group_id).where(
                Membership.round_id == round_.id, Membership.participant_id == zoe.id
            )
        )
        for m in db.scalars(select(Membership).where(Membership.group_id == group_id)):
            own = m.participant_id == zoe.id
            db.add(Feedback(membership_id=m.id, kind="checkin", met=True, rating=4,
                            learned=WORDS[0] if own else "A colleague's own note"))
            db.add(Feedback(membership_id=m.id, kind="followup", outcomes=["second_coffee"],
                            learned=WORDS[1] if own else ""))
    # The library: a link she shared, and her vote for someone else's.
    db.add(Resource(organization_id=org.id, participant_id=zoe.id, url="https://example.org/z",
                    title="Sleep after nights", why=WORDS[2], useful_count=0))
    other = Resource(organization_id=org.id, participant_id=people[0].id,
                     url="https://example.org/o", title="Ward teaching", useful_count=2)
    db.add(other)
    db.flush()
    db.add_all([ResourceVote(resource_id=other.id, participant_id=zoe.id),
                ResourceVote(resource_id=other.id, participant_id=people[1].id)])
    # Introductions: one she asked for (accepted), one still open, one she was asked for.
    introduction(db, org, zoe, people[2], when=datetime(2026, 8, 20, 15, tzinfo=UTC),
                 need=WORDS[3], skill="QI in the ED")
    open_request = IntroductionRequest(organization_id=org.id, requester_id=zoe.id,
                                       need=WORDS[3], specialty="Emergency medicine")
    db.add(open_request)
    db.flush()
    db.add(IntroductionAsk(request_id=open_request.id, candidate_id=people[3].id, position=1,
                           expires_at=datetime(2030, 1, 1, tzinfo=UTC)))
    asked = IntroductionRequest(organization_id=org.id, requester_id=people[4].id,
                                need="A colleague's own need", status="open")
    db.add(asked)
    db.flush()
    db.add(IntroductionAsk(request_id=asked.id, candidate_id=zoe.id, position=1,
                           expires_at=datetime(2030, 1, 1, tzinfo=UTC)))
    # The email telling her introduction's colleague about the call names her.
    outbox.enqueue_email(
        db, settings=settings, org=org, to=people[2].email, to_name=people[2].full_name,
        kind="introduction_accepted", template="manage_link", participant=people[2],
        context={"participant_name": people[2].full_name,
                 "organization_name": f"a call with {NAME}",
                 "manage_url": "http://testserver/x", "expires_hours": 1},
        idempotency_key="introduction_accepted:test",
    )
    # The colleague asked for her open request was sent her words (not her name).
    outbox.enqueue_email(
        db, settings=settings, org=org, to=people[3].email, to_name=people[3].full_name,
        kind="introduction_ask", template="manage_link", participant=people[3],
        context={"participant_name": people[3].full_name, "organization_name": WORDS[3],
                 "manage_url": "http://testserver/y", "expires_hours": 1},
        idempotency_key="introduction_ask:test",
    )
    # A later invitation to someone else quoted her library note.
    db.add(OutboxMessage(
        organization_id=org.id, participant_id=people[9].id, idempotency_key="invite:later",
        kind="invite", to_address=people[9].email, envelope_from="coffee@hospital.example",
        subject="Your coffee", message_id="<later@hospital.example>", status="sent",
        body=f"From your colleagues' library:\n- Sleep after nights\n  {WORDS[2]}".encode(),
        created_at=datetime.now(UTC) + timedelta(seconds=1),
    ))
    # A group-mate's reminder (keyed by membership, not group) listed her as a member.
    her_group = db.scalar(select(Membership.group_id).where(Membership.participant_id == zoe.id))
    mate = db.scalar(select(Membership).where(Membership.group_id == her_group,
                                              Membership.participant_id != zoe.id))
    assert mate is not None
    db.add(OutboxMessage(
        organization_id=org.id, participant_id=mate.participant_id,
        idempotency_key=f"reminder:{mate.id}", kind="reminder", to_address="mate@example.org",
        envelope_from="coffee@hospital.example", subject="Tomorrow: your Coffee Round",
        message_id="<reminder@hospital.example>", status="sent",
        body=f"Your group:\n- {NAME}, resident".encode(),
    ))
    # Her own emails waiting or failed: nothing left to send them to.
    for status in ("pending", "failed"):
        outbox.enqueue_email(
            db, settings=settings, org=org, to=EMAIL, to_name=NAME, kind="manage_link",
            template="manage_link", participant=zoe, idempotency_key=f"manage_link:{status}",
            context={"participant_name": NAME, "organization_name": org.name,
                     "manage_url": "http://testserver/x", "expires_hours": 1},
        )
    db.flush()
    db.execute(
        OutboxMessage.__table__.update()
        .where(OutboxMessage.idempotency_key == "manage_link:failed")
        .values(status="failed", last_error=f"550 {EMAIL}: mailbox unavailable")
    )
    db.commit()
    outbox.deliver_due(app.state.sessionmaker, outbox.FileSender(tmp),
                       keys=["introduction_accepted:test", "introduction_ask:test"])
    # A lead re-sent one of her emails: the audit entry names the address.
    sent = db.scalar(select(OutboxMessage).where(OutboxMessage.participant_id == zoe.id,
                                                  OutboxMessage.kind == "invite"))
    assert sent is not None
    audit.record(db, org=org, actor="lead@stmarys.example", action="email.resend",
                 target_type="outbox_message", target_id=sent.id,
                 after={"status": "pending", "to": EMAIL, "kind": "invite", "who": NAME})
    # Someone else never wants to be grouped with her: their data, kept.
    people[7].avoid_entries.append(AvoidEntry(email=EMAIL))
    db.commit()
    return World(org, zoe, rounds)


def _texts_of(value: Any) -> list[str]:
    """Every readable rendering of a stored value, emails decoded part by part."""
    if value is None or isinstance(value, bool | int | float | datetime):
        return []
    if isinstance(value, bytes):
        texts = [value.decode("utf-8", "replace")]
        message = email.message_from_bytes(value, policy=email.policy.default)
        texts += [str(v) for v in message.values()]
        for part in message.walk():
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                text = payload.decode("utf-8", "replace")
                texts.append(html.unescape(text.replace("\r\n ", "").replace("\n ", "")))
        return texts
    if isinstance(value, str):
        return [value]
    return [json.dumps(value, ensure_ascii=False), json.dumps(value)]


def _where_found(db: Session, needles: list[str]) -> set[tuple[str, str]]:
    """(table, column) of every stored value containing any needle, case-insensitively."""
    wanted = [n.casefold() for n in needles]
    found = set()
    for table in Base.metadata.sorted_tables:
        for row in db.execute(select(table)).mappings():
            for column, value in row.items():
                if any(n in t.casefold() for t in _texts_of(value) for n in wanted):
                    found.add((table.name, column))
    return found


def test_erase_removes_her_everywhere_and_the_statistics_stay(
    db: Session, app: FastAPI, settings: Settings, links: LinkSigner, tmp_path: Path
) -> None:
    w = _build(db, app, settings, links, tmp_path)
    needles = [NAME, EMAIL, *WORDS]
    # The scan does find her before: it can fail.
    before_found = _where_found(db, needles)
    assert {("participant", "email"), ("feedback", "learned"), ("resource", "why"),
            ("introduction_request", "need"), ("outbox_message", "body"),
            ("audit_event", "after")} <= before_found

    cutoffs = [NOW - timedelta(days=90), NOW - timedelta(days=180)]
    impact_before = impact_report(db, w.org, months=12, now=NOW)
    rows_before = round_rows(db, w.org, w.rounds)
    summaries_before = [round_feedback_summary(db, r) for r in w.rounds]
    _, retention_before = enrolment(db, w.org, [], cutoffs)
    counts_before = _row_counts(db)

    erase(db, w.zoe)
    db.commit()
    db.expire_all()

    # Nowhere, except in a colleague's own avoid list (theirs, and it protects them).
    assert _where_found(db, needles) == {("avoid_entry", "email")}

    # The Impact page gives the same numbers: only retention moves, exactly as if she had
    # left (one fewer person still taking part among the same people who joined).
    impact_after = impact_report(db, w.org, months=12, now=NOW)
    assert impact_after.months == impact_before.months
    for key, figure in impact_before.figures.items():
        if key != "retention":
            assert impact_after.figures[key].rows == figure.rows, key
    for key, cell in impact_before.headline.items():
        if not key.startswith("retention"):
            assert impact_after.headline[key] == cell, key
    _, retention_after = enrolment(db, w.org, [], cutoffs)
    assert retention_after == [(joined, kept - 1) for joined, kept in retention_before]

    # Rounds pages: the same groups, people, met groups and sent emails.
    rows_after = round_rows(db, w.org, w.rounds)
    for before, after in zip(rows_before, rows_after, strict=True):
        assert (after.groups, after.people, after.groups_met) == (
            before.groups, before.people, before.groups_met)
        assert after.emails["sent"] == before.emails["sent"] > 0
    # Feedback counts too; only the count of written notes drops, by her note.
    for round_, before in zip(w.rounds, summaries_before, strict=True):
        after = round_feedback_summary(db, round_)
        assert after.pop("learned_notes") == before.pop("learned_notes") - 1
        assert after == before

    # Rows that counts rest on stay; only her unsent emails and her vote go.
    counts_after = _row_counts(db)
    assert counts_after["outbox_message"] == counts_before["outbox_message"] - 2
    assert counts_after["resource_vote"] == counts_before["resource_vote"] - 1
    assert {k: v for k, v in counts_after.items() if k not in ("outbox_message",
            "resource_vote", "avoid_entry")} == {
        k: v for k, v in counts_before.items() if k not in ("outbox_message", "resource_vote",
                                                           "avoid_entry")}


def _row_counts(db: Session) -> dict[str, int]:
    return {
        t.name: db.scalar(select(func.count()).select_from(t)) or 0
        for t in Base.metadata.sorted_tables
    }


def test_library_and_introductions_keep_working_without_her(
    db: Session, app: FastAPI, settings: Settings, links: LinkSigner, tmp_path: Path
) -> None:
    w = _build(db, app, settings, links, tmp_path)
    zoe_id = w.zoe.id
    erase(db, w.zoe)
    db.commit()
    db.expire_all()

    shared = db.scalar(select(Resource).where(Resource.url == "https://example.org/z"))
    assert shared is not None and shared.participant_id is None and shared.why == ""
    assert shared.title == "Sleep after nights"
    voted = db.scalar(select(Resource).where(Resource.url == "https://example.org/o"))
    assert voted is not None and voted.useful_count == 1
    assert db.scalar(select(func.count()).select_from(ResourceVote)) == voted.useful_count

    mine = db.scalars(
        select(IntroductionRequest).where(IntroductionRequest.requester_id == zoe_id)
        .order_by(IntroductionRequest.id)
    ).all()
    assert [(r.status, r.need, r.skill, r.specialty) for r in mine] == [
        ("accepted", "", "", ""), ("cancelled", "", "", "")]
    assert [a.status for a in mine[1].asks] == ["withdrawn"]
    # The ask waiting for her answer expires now: the introductions job moves on.
    waiting = db.scalar(select(IntroductionAsk).where(IntroductionAsk.candidate_id == zoe_id))
    assert waiting is not None and waiting.status == "asked"
    assert waiting.expires_at <= datetime.now(UTC)

    gone = db.get(Participant, zoe_id)
    assert gone is not None and gone.status == "deleted"
    assert gone.department == "Dept 1" and gone.site == "North" and gone.role == "student"
    assert not gone.include_in_exports and not gone.accepts_introductions
    outcomes = db.scalars(
        select(Feedback.outcomes)
        .join(Membership, Membership.id == Feedback.membership_id)
        .where(Membership.participant_id == zoe_id, Feedback.kind == "followup")
    ).all()
    assert outcomes == [["second_coffee"]] * 3


def test_someone_with_only_an_introduction_is_kept_as_an_anonymous_row(
    db: Session, org: Organization
) -> None:
    ann = person(db, org, "Ann Lee", "Cardiology")
    ed = person(db, org, "Ed Fox", "Radiology")
    introduction(db, org, ann, ed, when=datetime(2026, 8, 20, 15, tzinfo=UTC))
    loner = person(db, org, "Lone Person", "Nursing")
    db.commit()
    erase(db, ed)
    erase(db, loner)
    db.commit()
    db.expire_all()
    kept = db.get(Participant, ed.id)
    assert kept is not None and kept.status == "deleted" and kept.full_name != "Ed Fox"
    assert db.scalar(select(func.count()).select_from(IntroductionAsk)) == 1
    assert db.get(Participant, loner.id) is None


def test_her_sent_emails_stay_counted_without_address_or_content(
    db: Session, app: FastAPI, settings: Settings, links: LinkSigner, tmp_path: Path
) -> None:
    w = _build(db, app, settings, links, tmp_path)
    zoe_id = w.zoe.id
    sent_before = db.scalar(
        select(func.count()).select_from(OutboxMessage)
        .where(OutboxMessage.participant_id == zoe_id, OutboxMessage.status == "sent")
    )
    erase(db, w.zoe)
    db.commit()
    rows = db.execute(
        select(OutboxMessage.status, OutboxMessage.to_address, OutboxMessage.body,
               OutboxMessage.subject)
        .where(OutboxMessage.participant_id == zoe_id)
    ).all()
    assert len(rows) == sent_before and sent_before
    assert {r.status for r in rows} == {"sent"}
    assert {r.to_address for r in rows} == {f"deleted-{zoe_id}@deleted.invalid"}
    assert {r.body for r in rows} == {b""} and {r.subject for r in rows} == {""}
