"""Monthly rounds: made once per organization and month, whoever fires them and however often."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.links import LinkSigner
from service.models import MatchGroup, Membership, OutboxMessage, Participant, Round
from service.rounds import jobs
from service.rounds.create import create_round, plan_round
from service.rounds.timing import round_due_at, scheduling_window
from service.scheduler import build_scheduler, round_trigger
from tests.service.round_fixtures import make_org

DEC_ROUND_TIME = datetime(2026, 12, 7, 14, 0, tzinfo=UTC)  # first Monday, 09:00 New York


def _counts(session: Session) -> tuple[int, int, int, int]:
    return (
        session.scalar(select(func.count()).select_from(Round)) or 0,
        session.scalar(select(func.count()).select_from(MatchGroup)) or 0,
        session.scalar(select(func.count()).select_from(Membership)) or 0,
        session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
    )


def test_a_round_places_everyone_and_queues_one_invite_each(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        org = make_org(session, people=11)
        run = create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME)
    assert run.created
    with factory() as session:
        rounds, groups, members, emails = _counts(session)
        assert (rounds, members, emails) == (1, 11, 11)
        sizes = sorted(
            session.scalars(
                select(func.count()).select_from(Membership).group_by(Membership.group_id)
            )
        )
        assert sizes == [3, 4, 4]
        round_ = session.scalar(select(Round))
        assert round_ is not None and round_.status == "sent"
        for group in session.scalars(select(MatchGroup)):
            # 2nd and 3rd week of December, at a time everyone listed (Mon/Tue noon, Wed 7am).
            assert group.meeting_start is not None
            local = group.meeting_start.astimezone(ZoneInfo("America/New_York"))
            assert date(2026, 12, 8) <= local.date() <= date(2026, 12, 21)
            assert (local.weekday(), local.hour) in {(0, 12), (1, 12), (2, 7)}
            assert group.has_common_slot and group.topic_title and len(group.starters) == 3
            assert group.reason


def test_running_a_round_twice_changes_nothing(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        org = make_org(session)
        create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME)
    with factory() as session:
        before = _counts(session)
    with factory.begin() as session:
        org = session.merge(org)
        again = create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME)
    assert not again.created
    with factory() as session:
        assert _counts(session) == before


def test_two_concurrent_round_runs_make_one_round_and_one_set_of_emails(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    """Two schedulers (or a scheduler and `coffeerounds round`) firing at the same moment."""
    with factory.begin() as session:
        org_id = make_org(session, people=24).id
    barrier = threading.Barrier(2)
    results: list[object] = []

    def fire() -> None:
        barrier.wait()
        try:
            results.append(
                jobs.run_round(factory, settings, links, org_id, "2026-12", now=DEC_ROUND_TIME)
            )
        except Exception as exc:  # noqa: BLE001 - the assertion below reports it
            results.append(exc)

    threads = [threading.Thread(target=fire) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(not isinstance(r, Exception) for r in results), results
    created = [r.created for r in results]  # type: ignore[attr-defined]
    assert sorted(created) == [False, True]
    with factory() as session:
        rounds, groups, members, emails = _counts(session)
    assert (rounds, members, emails) == (1, 24, 24)
    with factory() as session:
        keys = list(session.scalars(select(OutboxMessage.idempotency_key)))
    assert len(keys) == len(set(keys))


def test_dry_run_plans_without_writing(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        org = make_org(session, people=8)
    with factory() as session:
        org = session.merge(org)
        plan = plan_round(session, org, "2026-12", now=DEC_ROUND_TIME)
        session.rollback()
    assert sorted(len(g.members) for g in plan.groups) == [4, 4]
    with factory() as session:
        assert _counts(session) == (0, 0, 0, 0)


def test_paused_people_are_skipped_and_come_back_when_the_pause_ends(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        org = make_org(session, people=9)
        paused = session.scalar(
            select(Participant).where(Participant.email == "person0@stmarys.example")
        )
        assert paused is not None
        paused.status, paused.paused_until = "paused", date(2027, 1, 2)
        create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME)
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(Membership)) == 8
    jan = datetime(2027, 1, 4, 14, 0, tzinfo=UTC)
    with factory.begin() as session:
        org = session.merge(org)
        create_round(session, settings, links, org, "2027-01", now=jan)
    with factory() as session:
        back = session.scalar(
            select(Participant).where(Participant.email == "person0@stmarys.example")
        )
        assert back is not None and back.status == "active"
        jan_round = session.scalar(select(Round).where(Round.month == "2027-01"))
        assert jan_round is not None
        placed = session.scalars(
            select(Membership.participant_id).where(Membership.round_id == jan_round.id)
        )
        assert back.id in set(placed)


def test_fewer_than_three_people_get_a_not_matched_email_and_priority(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        org = make_org(session, people=2)
        run = create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME)
    assert run.created
    with factory() as session:
        kinds = sorted(session.scalars(select(OutboxMessage.kind)))
        assert kinds == ["not_matched", "not_matched"]
        assert all(session.scalars(select(Participant.priority)))


def test_the_round_is_due_on_the_first_monday_at_nine_in_the_hospitals_zone(
    factory: sessionmaker[Session],
) -> None:
    with factory.begin() as session:
        org = make_org(session, people=0)
        assert round_due_at(org, "2026-12") == DEC_ROUND_TIME
        assert round_due_at(org, "2027-03") == datetime(2027, 3, 1, 14, 0, tzinfo=UTC)
        # After the US switch to summer time (14 March 2027) 09:00 is 13:00 UTC.
        assert round_due_at(org, "2027-04") == datetime(2027, 4, 5, 13, 0, tzinfo=UTC)
        trigger = round_trigger(org)
        fire = trigger.get_next_fire_time(None, datetime(2026, 11, 22, tzinfo=UTC))
        fires = []
        for _ in range(36):
            assert fire is not None
            fires.append(fire)
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        months = {(f.year, f.month) for f in fires}
        assert len(months) == 36  # exactly one fire per month
        for f in fires:
            local = f.astimezone(ZoneInfo("America/New_York"))
            assert local.weekday() == 0 and local.day <= 7 and (local.hour, local.minute) == (9, 0)


def test_catch_up_makes_an_overdue_round_once_and_not_an_early_one(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        make_org(session, people=6)
    early = datetime(2026, 12, 7, 13, 59, tzinfo=UTC)
    assert jobs.run_due_rounds(factory, settings, links, now=early) == []
    late = datetime(2026, 12, 9, 8, 0, tzinfo=UTC)  # the scheduler was down on Monday
    first = jobs.run_due_rounds(factory, settings, links, now=late)
    second = jobs.run_due_rounds(factory, settings, links, now=late)
    assert [r.created for r in first] == [True] and second == []
    with factory() as session:
        group = session.scalar(select(MatchGroup))
        assert group is not None and group.meeting_start is not None
        # Never in the past: at least two days after the late run.
        assert group.meeting_start >= late + timedelta(days=2) - timedelta(hours=12)


def test_late_rounds_never_schedule_meetings_in_the_past(factory: sessionmaker[Session]) -> None:
    with factory.begin() as session:
        org = make_org(session, people=0)
        start, end = scheduling_window(org, "2026-12", now=datetime(2026, 12, 20, tzinfo=UTC))
    assert start == date(2026, 12, 22) and end == date(2026, 12, 31)


def test_the_scheduler_declares_its_jobs_with_ids_and_generous_misfire_grace(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        make_org(session, people=0)
    scheduler = build_scheduler(factory, settings, links)
    ids = {job.id for job in scheduler.get_jobs()}
    assert {"outbox", "followups", "resume-paused", "sync-round-jobs", "round:stmarys"} <= ids
    assert scheduler._job_defaults["misfire_grace_time"] >= 3600  # noqa: SLF001
    assert scheduler._job_defaults["coalesce"] is True  # noqa: SLF001


def test_dst_meeting_times_for_new_york_and_berlin_members(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    """US clocks change on 14 March 2027, EU clocks on 28 March: the common hour moves."""
    with factory.begin() as session:
        org = make_org(session, people=0, timezone="America/New_York")
        org.schedule_window_start_day, org.schedule_window_end_day = 15, 26
    from service.participants.schemas import ParticipantIn
    from service.participants.service import register

    with factory.begin() as session:
        org = session.merge(org)
        for i, (zone, window) in enumerate(
            [
                ("America/New_York", "Mon 11:00-12:00"),
                ("America/New_York", "Mon 11:00-12:00"),
                ("Europe/Berlin", "Mon 16:00-17:00"),
            ]
        ):
            register(
                session,
                org,
                ParticipantIn(
                    email=f"dst{i}@x.example",
                    full_name=f"D {i}",
                    role="resident",
                    timezone=zone,
                    availability=window,
                ),
                source="import",
                active=True,
            )
        run = create_round(
            session, settings, links, org, "2027-03", now=datetime(2027, 3, 1, 14, tzinfo=UTC)
        )
        group = run.plan.groups[0]  # type: ignore[union-attr]
    # 15 March: New York is on EDT (UTC-4), Berlin still on CET (UTC+1): 11:00 NY = 16:00 Berlin.
    assert group.everyone_available
    assert group.start == datetime(2027, 3, 15, 15, 0, tzinfo=UTC)


def test_with_approval_required_the_round_waits_as_a_preview_until_sent(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        org = make_org(session, people=8)
        org.require_approval = True
    runs = jobs.run_due_rounds(factory, settings, links, now=DEC_ROUND_TIME)
    assert [r.round.status for r in runs] == ["preview"]
    with factory() as session:
        assert _counts(session)[3] == 0  # no email before a lead approves
    assert jobs.run_due_rounds(factory, settings, links, now=DEC_ROUND_TIME) == []


def test_a_preview_left_unsent_goes_out_at_the_round_time_without_approval_required(
    factory: sessionmaker[Session], settings: Settings, links: LinkSigner
) -> None:
    with factory.begin() as session:
        org = make_org(session, people=8)
        create_round(session, settings, links, org, "2026-12", now=DEC_ROUND_TIME, send=False)
    runs = jobs.run_due_rounds(factory, settings, links, now=DEC_ROUND_TIME)
    assert [r.round.status for r in runs] == ["sent"]
    with factory() as session:
        assert _counts(session)[3] == 8
