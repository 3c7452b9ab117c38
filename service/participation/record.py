"""The entries of a participation record: one per chat (a group of a sent round) and one per
accepted introduction, with the totals a clinician can quote in an appraisal.

Queries are batched: a fixed handful whatever the number of people or months, so the same
code serves one person's record and an organization-wide export.

What counts (`RecordEntry.counts`): a chat or introduction the person took part in (not
dropped out of), unless they told us it did not happen. Totals only add up counted entries.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from service.models import (
    Feedback,
    IntroductionAsk,
    IntroductionRequest,
    MatchGroup,
    Membership,
    Organization,
    Participant,
    Round,
)
from service.rounds.timing import month_label

FORMER_PARTICIPANT = "Former participant"


@dataclass(frozen=True)
class RecordEntry:
    kind: str  # "chat" or "introduction"
    month: str  # YYYY-MM
    topic: str
    minutes: int | None
    group_size: int
    colleagues: tuple[str, ...]  # names: only ever shown to the person themselves
    colleague_ids: tuple[int, ...]
    departments: tuple[str, ...]  # the colleagues' departments, distinct, sorted
    met: bool | None  # their own answer: True, False, or None when they did not say
    took_part: bool  # False when they dropped out ("couldn't make it")
    reflection: str = ""  # their own check-in / follow-up text

    @property
    def counts(self) -> bool:
        return self.took_part and self.met is not False

    @property
    def kind_label(self) -> str:
        return "Coffee chat" if self.kind == "chat" else "Introduction"

    @property
    def month_label(self) -> str:
        return month_label(self.month)

    @property
    def outcome(self) -> str:
        if not self.took_part:
            return "Couldn't make it"
        if self.met is None:
            return "Not recorded"
        return "Met" if self.met else "Didn't happen"


@dataclass(frozen=True)
class RecordTotals:
    chats: int
    introductions: int
    minutes: int
    colleagues: int
    departments: int

    @classmethod
    def of(cls, entries: Iterable[RecordEntry]) -> RecordTotals:
        counted = [e for e in entries if e.counts]
        return cls(
            chats=sum(e.kind == "chat" for e in counted),
            introductions=sum(e.kind == "introduction" for e in counted),
            minutes=sum(e.minutes or 0 for e in counted),
            colleagues=len({i for e in counted for i in e.colleague_ids}),
            departments=len({d for e in counted for d in e.departments}),
        )

    @property
    def hours(self) -> str:
        """Hours to one decimal place, without a trailing ".0": "2.5", "3"."""
        return f"{self.minutes / 60:.1f}".removesuffix(".0")


@dataclass(frozen=True)
class ParticipationRecord:
    participant: Participant
    entries: list[RecordEntry] = field(default_factory=list)

    @property
    def totals(self) -> RecordTotals:
        return RecordTotals.of(self.entries)


@dataclass(frozen=True)
class _Person:
    id: int
    name: str
    department: str


def _minutes(start: datetime | None, end: datetime | None, fallback: int | None) -> int | None:
    if start is not None and end is not None and end > start:
        return round((end - start).total_seconds() / 60)
    return fallback


def _local_month(moment: datetime, org: Organization) -> str:
    local = moment.astimezone(ZoneInfo(org.timezone))
    return f"{local.year:04d}-{local.month:02d}"


def _person(participant_id: int, name: str, department: str, status: str) -> _Person:
    shown = FORMER_PARTICIPANT if status == "deleted" else name
    return _Person(participant_id, shown, department or "")


def _chat_entries(
    session: Session,
    org: Organization,
    people: Select[tuple[int]],
    start: str | None,
    end: str | None,
) -> dict[int, list[RecordEntry]]:
    conditions = [
        Round.organization_id == org.id,
        Round.status == "sent",
        Membership.participant_id.in_(people),
    ]
    if start:
        conditions.append(Round.month >= start)
    if end:
        conditions.append(Round.month <= end)
    theirs = (
        select(
            Membership.id,
            Membership.participant_id,
            Membership.group_id,
            Membership.status,
            Round.month,
            MatchGroup.topic_title,
            MatchGroup.meeting_start,
            MatchGroup.meeting_end,
        )
        .join(Round, Round.id == Membership.round_id)
        .join(MatchGroup, MatchGroup.id == Membership.group_id)
        .where(*conditions)
    )
    rows = session.execute(theirs).all()
    if not rows:
        return {}
    chosen = theirs.subquery()
    members: dict[int, list[_Person]] = defaultdict(list)
    for group_id, person_id, name, department, status in session.execute(
        select(
            Membership.group_id,
            Participant.id,
            Participant.full_name,
            Participant.department,
            Participant.status,
        )
        .join(Participant, Participant.id == Membership.participant_id)
        .where(
            Membership.status == "invited",
            Membership.group_id.in_(select(chosen.c.group_id)),
        )
        .order_by(Participant.full_name, Participant.id)
    ):
        members[group_id].append(_person(person_id, name, department, status))
    met: dict[int, bool | None] = {}
    reflections: dict[int, list[str]] = defaultdict(list)
    for membership_id, kind, said_met, learned in session.execute(
        select(Feedback.membership_id, Feedback.kind, Feedback.met, Feedback.learned)
        .where(Feedback.membership_id.in_(select(chosen.c.id)))
        .order_by(Feedback.kind)  # the check-in before the follow-up
    ):
        if kind == "checkin":
            met[membership_id] = said_met
        if learned.strip():
            reflections[membership_id].append(learned.strip())

    out: dict[int, list[RecordEntry]] = defaultdict(list)
    for row in rows:
        others = [m for m in members[row.group_id] if m.id != row.participant_id]
        out[row.participant_id].append(
            RecordEntry(
                kind="chat",
                month=row.month,
                topic=row.topic_title,
                minutes=_minutes(row.meeting_start, row.meeting_end, org.meeting_minutes),
                group_size=len(members[row.group_id]),
                colleagues=tuple(m.name for m in others),
                colleague_ids=tuple(m.id for m in others),
                departments=tuple(sorted({m.department for m in others if m.department})),
                met=met.get(row.id),
                took_part=row.status == "invited",
                reflection="\n\n".join(reflections[row.id]),
            )
        )
    return out


def _introduction_entries(
    session: Session,
    org: Organization,
    people: Select[tuple[int]],
    start: str | None,
    end: str | None,
) -> dict[int, list[RecordEntry]]:
    rows = session.execute(
        select(
            IntroductionRequest.requester_id,
            IntroductionAsk.candidate_id,
            IntroductionRequest.skill,
            IntroductionRequest.specialty,
            IntroductionRequest.meeting_start,
            IntroductionRequest.meeting_end,
            IntroductionRequest.met,
            IntroductionRequest.closed_at,
            IntroductionRequest.created_at,
        )
        .outerjoin(
            IntroductionAsk,
            and_(
                IntroductionAsk.request_id == IntroductionRequest.id,
                IntroductionAsk.status == "accepted",
            ),
        )
        .where(
            IntroductionRequest.organization_id == org.id,
            IntroductionRequest.status == "accepted",
            or_(
                IntroductionRequest.requester_id.in_(people),
                IntroductionAsk.candidate_id.in_(people),
            ),
        )
        .order_by(IntroductionRequest.id)
    ).all()
    if not rows:
        return {}
    wanted = set(session.scalars(people))
    party_ids = {r.requester_id for r in rows} | {r.candidate_id for r in rows if r.candidate_id}
    parties = {
        pid: _person(pid, name, department, status)
        for pid, name, department, status in session.execute(
            select(
                Participant.id, Participant.full_name, Participant.department, Participant.status
            ).where(Participant.id.in_(party_ids))
        )
    }
    out: dict[int, list[RecordEntry]] = defaultdict(list)
    for row in rows:
        month = _local_month(row.meeting_start or row.closed_at or row.created_at, org)
        if (start and month < start) or (end and month > end):
            continue
        about = row.skill or row.specialty
        for me, other_id in (
            (row.requester_id, row.candidate_id),
            (row.candidate_id, row.requester_id),
        ):
            if me is None or me not in wanted:
                continue
            other = parties.get(other_id) if other_id is not None else None
            out[me].append(
                RecordEntry(
                    kind="introduction",
                    month=month,
                    topic=f"Introduction: {about}" if about else "Introduction",
                    minutes=_minutes(row.meeting_start, row.meeting_end, None),
                    group_size=2,
                    colleagues=(other.name,) if other else (),
                    colleague_ids=(other.id,) if other else (),
                    departments=(other.department,) if other and other.department else (),
                    met=row.met,
                    took_part=True,
                )
            )
    return out


def entries_by_person(
    session: Session,
    org: Organization,
    people: Select[tuple[int]],
    *,
    start: str | None = None,
    end: str | None = None,
) -> dict[int, list[RecordEntry]]:
    """{participant id: entries, oldest month first} for everyone `people` selects (a query
    of participant ids), limited to the months `start`..`end` (YYYY-MM, both included)."""
    chats = _chat_entries(session, org, people, start, end)
    introductions = _introduction_entries(session, org, people, start, end)
    out: dict[int, list[RecordEntry]] = {}
    for person_id in chats.keys() | introductions.keys():
        entries = chats.get(person_id, []) + introductions.get(person_id, [])
        out[person_id] = sorted(entries, key=lambda e: (e.month, e.kind))
    return out


def participation_record(
    session: Session, org: Organization, participant: Participant
) -> ParticipationRecord:
    """One person's whole record, for their printable page and CSV."""
    people = select(Participant.id).where(Participant.id == participant.id)
    entries = entries_by_person(session, org, people).get(participant.id, [])
    return ParticipationRecord(participant, entries)
