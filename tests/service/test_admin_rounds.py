"""Dashboard Rounds: preview, re-run, moving people, approve & send, past rounds, resend."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.message import EmailMessage

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from notifications import FileSender
from service import outbox
from service.admin.round_data import IdSpan, email_counts, id_spans, round_rows
from service.config import Settings
from service.links import LinkSigner
from service.models import (
    AuditEvent,
    MatchGroup,
    Membership,
    Organization,
    OutboxMessage,
    Participant,
    Round,
)
from service.rounds.changes import drop_out, move_member
from service.rounds.create import create_round, group_views
from service.rounds.feedback import record_checkin
from service.rounds.invites import queue_followup
from service.rounds.quality import round_quality
from tests.service.admin_helpers import csrf, login, make_admin
from tests.service.round_fixtures import make_org

DEC = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)
BASE = "/admin/o/stmarys/rounds"


def _signed_in(client: TestClient, db: Session, people: int = 12) -> Organization:
    org = make_org(db, people=people)
    db.commit()
    make_admin(db, org)
    assert login(client, "lead@stmarys.example").status_code == 303  # type: ignore[attr-defined]
    return org


def _preview(db: Session, settings: Settings, links: LinkSigner, org: Organization) -> Round:
    run = create_round(db, settings, links, org, "2026-12", now=DEC, send=False)
    db.commit()
    return run.round


def _sent(db: Session, settings: Settings, links: LinkSigner, org: Organization) -> Round:
    run = create_round(db, settings, links, org, "2026-12", now=DEC, send=True)
    db.commit()
    return run.round


def _groups(db: Session, round_: Round) -> list[tuple[MatchGroup, list[Membership]]]:
    db.expire_all()
    groups = db.scalars(
        select(MatchGroup).where(MatchGroup.round_id == round_.id).order_by(MatchGroup.number)
    ).all()
    return [
        (
            g,
            list(
                db.scalars(
                    select(Membership).where(
                        Membership.group_id == g.id, Membership.status == "invited"
                    )
                )
            ),
        )
        for g in groups
    ]


def _post(client: TestClient, path: str, data: dict[str, object] | None = None):  # type: ignore[no-untyped-def]
    token = csrf(client, BASE)
    return client.post(path, data={"csrf_token": token, **(data or {})}, follow_redirects=False)


def test_prepare_preview_shows_groups_reasons_times_topics_and_figures(
    client: TestClient, db: Session
) -> None:
    _signed_in(client, db)
    index = client.get(BASE)
    assert index.status_code == 200 and "Prepare preview" in index.text
    response = _post(client, f"{BASE}/prepare")
    assert response.status_code == 303
    round_ = db.scalar(select(Round))
    assert round_ is not None and round_.status == "preview"
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    page = client.get(response.headers["location"])
    assert page.status_code == 200
    assert "Preview ready" not in page.text and "ready." in page.text  # the flash
    for group, _ in _groups(db, round_):
        assert f"Group {group.number}: {group.topic_title}" in page.text
        assert group.reason and group.reason.split(",")[0] in page.text
    assert "Person 0" in page.text and "groups without a common time" in page.text
    assert "senior–trainee mix" in page.text and "mean shared interests" in page.text
    assert re.search(r"\w+day \d+ \w+ 20\d\d, \d+:\d\d", page.text)  # the meeting time
    # Preparing again (a double submit) does not make a second round.
    again = _post(client, f"{BASE}/prepare")
    assert again.status_code == 303 and again.headers["location"] == response.headers["location"]
    assert db.scalar(select(func.count()).select_from(Round)) == 1


def test_rerun_with_another_seed_keeps_one_round_and_is_audited(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = _signed_in(client, db)
    round_ = _preview(db, settings, links, org)
    old_seed, old_id = round_.seed, round_.id
    response = _post(client, f"{BASE}/{old_id}/rerun")
    assert response.status_code == 303
    db.expire_all()
    rounds = db.scalars(select(Round)).all()
    assert len(rounds) == 1 and rounds[0].seed != old_seed and rounds[0].status == "preview"
    assert db.scalar(select(func.count()).select_from(Membership)) == 12
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "round.rerun"))
    assert event is not None and event.before == {"round_id": old_id, "seed": old_seed}
    assert client.get(response.headers["location"]).status_code == 200


def test_moving_a_person_updates_groups_figures_and_the_audit_log(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = _signed_in(client, db)
    round_ = _preview(db, settings, links, org)
    before = round_quality(db, org, round_)
    groups = _groups(db, round_)
    (source, source_members), (target, target_members) = groups[0], groups[1]
    mover = source_members[0]
    response = _post(
        client, f"{BASE}/{round_.id}/move", {"membership_id": mover.id, "target": target.number}
    )
    assert response.status_code == 303
    assert "Moved to group" in client.get(response.headers["location"]).text
    db.expire_all()
    assert db.get(Membership, mover.id).group_id == target.id  # type: ignore[union-attr]
    after = round_quality(db, org, round_)
    assert after["group_sizes"] != before["group_sizes"]
    assert after["per_group"][target.id]["size"] == len(target_members) + 1
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == 0  # a preview: no mail
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "round.move_member"))
    assert event is not None
    assert event.before["group"] == source.number and event.after["group"] == target.number  # type: ignore[index]


def _move(client: TestClient, round_: Round, membership: Membership, target: object) -> str:
    response = _post(
        client, f"{BASE}/{round_.id}/move", {"membership_id": membership.id, "target": target}
    )
    assert response.status_code == 303
    page = client.get(response.headers["location"]).text
    return re.search(r'class="flash[^>]*>([^<]*)', page).group(1)  # type: ignore[union-attr]


def test_a_move_that_would_leave_a_group_of_one_or_overfill_one_is_refused(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = _signed_in(client, db, people=12)
    round_ = _preview(db, settings, links, org)
    (first, first_members), *others = _groups(db, round_)
    # Spread the first group's extra members over the others until it has two.
    for member, (group, _) in zip(first_members[2:], others, strict=False):
        assert _move(client, round_, member, group.number).startswith("Moved")
    assert "at least two" in _move(client, round_, first_members[0], others[0][0].number)
    # Fill one group up to the maximum + 1 (allowed after a move); one more is refused.
    target = others[0][0]
    for _ in range(org.max_group_size + 1):
        groups = _groups(db, round_)
        size = next(len(m) for g, m in groups if g.id == target.id)
        donor = next(m for g, m in groups if g.id != target.id and len(m) > 2)
        message = _move(client, round_, donor[0], target.number)
        if size == org.max_group_size + 1:
            assert "at most 5 after a move" in message
            break
        assert message.startswith("Moved")
    else:
        raise AssertionError("the group never filled up")
    assert "no group" in _move(client, round_, first_members[0], "99")
    db.expire_all()
    sizes = [len(m) for _, m in _groups(db, round_)]
    assert sum(sizes) == 12 and min(sizes) == 2 and max(sizes) == 5


def test_moving_after_sending_cancels_and_updates_invites_at_the_next_sequence(
    client: TestClient,
    db: Session,
    settings: Settings,
    links: LinkSigner,
    factory: sessionmaker[Session],
    outbox_dir,  # type: ignore[no-untyped-def]
    emails,  # type: ignore[no-untyped-def]
) -> None:
    org = _signed_in(client, db)
    round_ = _sent(db, settings, links, org)
    outbox.deliver_due(factory, FileSender(outbox_dir))
    groups = _groups(db, round_)
    (source, source_members), (target, target_members) = groups[0], groups[1]
    mover = source_members[0]
    mover_person = db.get(Participant, mover.participant_id)
    assert mover_person is not None
    sent_before = len(emails())
    response = _post(
        client, f"{BASE}/{round_.id}/move", {"membership_id": mover.id, "target": target.number}
    )
    assert response.status_code == 303
    db.expire_all()
    assert db.get(MatchGroup, source.id).ical_sequence == 1  # type: ignore[union-attr]
    assert db.get(MatchGroup, target.id).ical_sequence == 1  # type: ignore[union-attr]
    rows = db.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")).all()
    kinds = sorted((r.kind, r.participant_id) for r in rows)
    assert ("invite_cancel", mover.participant_id) in kinds
    assert ("invite", mover.participant_id) in kinds
    others_old = {m.participant_id for m in source_members[1:]}
    others_new = {m.participant_id for m in target_members}
    updated = {pid for kind, pid in kinds if kind == "invite_update"}
    assert updated == others_old | others_new
    assert len(rows) == 2 + len(others_old) + len(others_new)
    outbox.deliver_due(factory, FileSender(outbox_dir))
    new_mail = emails()[sent_before:]
    calendars = [(m["To"].addresses[0].addr_spec, _calendar(m)) for m in new_mail]
    cancels = [ics for to, ics in calendars if "METHOD:CANCEL" in ics]
    assert len(cancels) == 1 and "SEQUENCE:1" in cancels[0]
    assert [to for to, ics in calendars if "METHOD:CANCEL" in ics] == [mover_person.email]
    requests = [ics for _, ics in calendars if "METHOD:REQUEST" in ics]
    assert len(requests) == len(rows) - 1
    assert all("SEQUENCE:1" in ics for ics in requests)
    assert sum(mover_person.email in ics for ics in requests) == 1 + len(others_new)


def _calendar(message: EmailMessage) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            content = part.get_content()
            return content.decode() if isinstance(content, bytes) else str(content)
    return ""


def test_approve_and_send_queues_one_invite_per_member(
    client: TestClient,
    db: Session,
    settings: Settings,
    links: LinkSigner,
    emails,  # type: ignore[no-untyped-def]
) -> None:
    org = _signed_in(client, db)
    round_ = _preview(db, settings, links, org)
    response = _post(client, f"{BASE}/{round_.id}/approve")
    assert response.status_code == 303
    db.expire_all()
    assert db.get(Round, round_.id).status == "sent"  # type: ignore[union-attr]
    invites = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "invite")).all()
    assert sorted(r.participant_id for r in invites) == sorted(
        db.scalars(select(Membership.participant_id)).all()
    )
    # The background task delivered them right after the commit.
    assert len(emails()) == 12
    page = client.get(f"{BASE}/{round_.id}")
    assert page.status_code == 200 and page.text.count("status--sent") >= 12


def test_past_round_page_shows_delivery_and_feedback_and_resends_a_failed_email(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = _signed_in(client, db)
    round_ = _sent(db, settings, links, org)
    groups = _groups(db, round_)
    failed = db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).first()
    assert failed is not None
    failed.status, failed.attempts, failed.last_error = "failed", 12, "550 mailbox unavailable"
    for membership in groups[0][1][:2]:
        record_checkin(db, membership, met=True, rating=5, learned="Learned about the ICU rota")
    leaving = groups[1][1][0]
    drop_out(db, settings, links, org, db.get(Participant, leaving.participant_id), leaving)  # type: ignore[arg-type]
    db.commit()
    listing = client.get(BASE)
    assert listing.status_code == 200 and "December 2026" in listing.text
    assert re.search(r'<strong class="status--failed">1</strong>', listing.text)
    page = client.get(f"{BASE}/{round_.id}")
    assert "550 mailbox unavailable" in page.text and "Resend" in page.text
    assert "Met · 5/5" in page.text and "Learned about the ICU rota" in page.text
    assert "dropped out" in page.text and "invite_cancel" in page.text
    response = _post(client, f"{BASE}/{round_.id}/emails/{failed.id}/resend")
    assert response.status_code == 303
    db.expire_all()
    row = db.get(OutboxMessage, failed.id)
    assert row is not None and row.status == "pending"
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "email.resend")) is not None


def test_another_organizations_round_is_not_found_and_csrf_is_required(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    _signed_in(client, db)
    other = make_org(db, slug="general", people=6)
    db.commit()
    theirs = create_round(db, settings, links, other, "2026-12", now=DEC, send=False).round
    db.commit()
    assert client.get(f"{BASE}/{theirs.id}").status_code == 404
    assert _post(client, f"{BASE}/{theirs.id}/rerun").status_code == 404
    assert _post(client, f"{BASE}/{theirs.id}/approve").status_code == 404
    no_token = client.post(f"{BASE}/prepare", data={}, follow_redirects=False)
    assert no_token.status_code == 403
    assert db.scalar(select(func.count()).select_from(Round)) == 1


def test_participant_names_are_escaped_on_the_preview(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = _signed_in(client, db)
    person = db.scalar(select(Participant).where(Participant.email == "person0@stmarys.example"))
    assert person is not None
    person.full_name = "<script>alert(1)</script>"
    db.commit()
    round_ = _preview(db, settings, links, org)
    page = client.get(f"{BASE}/{round_.id}")
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_repeats_count_pairs_grouped_in_an_earlier_round_and_follow_a_move(
    db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = make_org(db, people=12)
    november = create_round(
        db, settings, links, org, "2026-11", now=datetime(2026, 11, 2, 14, tzinfo=UTC)
    ).round
    december = _preview(db, settings, links, org)
    before = round_quality(db, org, december)
    assert before["repeats"] == 0  # the matcher avoids last month's pairs
    # Put two people who met in November back together by hand.
    last_month = {m.participant_id: g.id for g, members in _groups(db, november) for m in members}
    groups = _groups(db, december)
    mover, target = next(
        (m, g)
        for g, members in groups
        for other in members
        for source, source_members in groups
        if source.id != g.id and len(source_members) > 2
        for m in source_members
        if last_month[m.participant_id] == last_month[other.participant_id]
    )
    move_member(db, settings, links, org, mover, target)
    after = round_quality(db, org, december)
    assert after["repeats"] >= 1 and after["per_group"][target.id]["repeats"] >= 1
    assert after["groups_with_repeats"] == before["groups_with_repeats"] + 1


def test_feedback_text_is_only_shown_to_the_hospitals_own_admins(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = _signed_in(client, db)
    round_ = _sent(db, settings, links, org)
    membership = _groups(db, round_)[0][1][0]
    record_checkin(db, membership, met=True, rating=4, learned="A private note")
    db.commit()
    assert "A private note" in client.get(f"{BASE}/{round_.id}").text
    client.cookies.clear()
    make_admin(db, None, "super@coffeerounds.example", is_super=True)
    assert login(client, "super@coffeerounds.example").status_code == 303  # type: ignore[attr-defined]
    page = client.get(f"{BASE}/{round_.id}")
    assert page.status_code == 200 and "Met · 4/5" in page.text
    assert "A private note" not in page.text


def test_previews_and_reruns_keep_first_in_line_until_the_round_is_sent(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = _signed_in(client, db)
    waiting = db.scalar(select(Participant).where(Participant.email == "person5@stmarys.example"))
    assert waiting is not None
    waiting.priority = True  # as if last month could not place them
    db.commit()
    december = _preview(db, settings, links, org)
    db.refresh(waiting)
    assert waiting.priority is True  # a preview changes nothing
    assert _post(client, f"{BASE}/{december.id}/rerun").status_code == 303
    db.expire_all()
    assert db.get(Participant, waiting.id).priority is True  # type: ignore[union-attr]
    again = db.scalar(select(Round).where(Round.organization_id == org.id))
    assert again is not None and again.status == "preview"
    assert _post(client, f"{BASE}/{again.id}/approve").status_code == 303
    db.expire_all()
    assert db.get(Participant, waiting.id).priority is False  # type: ignore[union-attr]


def _emails_by_hand(db: Session, org: Organization) -> dict[int, dict[str, int]]:
    """Every round email of the organization counted one by one from its key."""
    group_round = dict(db.execute(select(MatchGroup.id, MatchGroup.round_id)).all())
    membership_round = dict(db.execute(select(Membership.id, Membership.round_id)).all())
    counts: dict[int, dict[str, int]] = {}
    for row in db.scalars(select(OutboxMessage).where(OutboxMessage.organization_id == org.id)):
        kind, number = row.idempotency_key.split(":")[:2]
        if kind in ("invite", "invite_update", "invite_cancel"):
            round_id = group_round[int(number)]
        elif kind in ("reminder", "checkin", "followup"):
            round_id = membership_round[int(number)]
        elif kind == "not_matched":
            round_id = int(number)
        else:
            continue
        by_status = counts.setdefault(round_id, {})
        by_status[row.status] = by_status.get(row.status, 0) + 1
    return counts


def test_emails_are_counted_under_their_own_round_reminders_included(
    client: TestClient, db: Session, settings: Settings, links: LinkSigner
) -> None:
    org = _signed_in(client, db)
    november = create_round(
        db, settings, links, org, "2026-11", now=datetime(2026, 11, 2, 14, tzinfo=UTC)
    ).round
    december = _sent(db, settings, links, org)
    # Reminders are keyed by membership ("reminder:<membership>"), not by group.
    views = group_views(db, org, december)
    reminders = sum(queue_followup(db, settings, links, v, kind="reminder") for v in views)
    last_invite = db.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.kind == "invite")
        .order_by(OutboxMessage.id.desc())
    ).first()
    assert last_invite is not None and reminders == 12
    last_invite.status, last_invite.attempts = "failed", 12
    db.commit()

    by_hand = _emails_by_hand(db, org)
    assert by_hand == {november.id: {"pending": 12}, december.id: {"pending": 23, "failed": 1}}
    both = [november.id, december.id]
    rows = round_rows(db, org, [november, december])
    assert {row.round.id: dict(row.emails) for row in rows} == by_hand
    # The same numbers whether a round's ids are one unbroken run (an index range) or not.
    broken = {
        model: {r: IdSpan(s.low, s.high, s.count + 1) for r, s in id_spans(db, model, both).items()}
        for model in (MatchGroup, Membership)
    }
    assert email_counts(
        db, org, both, group_spans=broken[MatchGroup], membership_spans=broken[Membership]
    ) == email_counts(db, org, both)
    page = client.get(f"{BASE}/{december.id}").text
    assert page.count('<span class="kind">reminder</span>') == 12
    totals = re.search(r'data-figure="emails">(.*?)</div>\n</div>', page, re.S)
    assert totals is not None
    assert re.findall(r'class="value">(\d+)<', totals.group(1)) == ["0", "1", "23"]
