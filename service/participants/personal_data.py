"""Everything we hold about one participant, as JSON they can download (right of access).

What is theirs is included in full: profile, avoid list, their groups, their own feedback,
what they shared and voted for, their introduction requests, the emails we sent them and the
audit events about them. What belongs to others is left out and `notes` says so: the
colleagues they met appear by department and role only (their names are the colleagues'
data; the participation record names them for the person's own use), the colleagues asked
for an introduction are not named, email bodies are not stored for long and not included,
and audit events do not name the wellness lead who acted.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.models import (
    AuditEvent,
    Feedback,
    IntroductionAsk,
    IntroductionRequest,
    MatchGroup,
    Membership,
    Organization,
    OutboxMessage,
    Participant,
    Resource,
    ResourceVote,
    Round,
)
from service.participants.availability import format_availability

NOTES = [
    "Colleagues you were grouped with are listed by department and role only: their names "
    "are their personal data. Your participation record shows their names for your own use.",
    "Colleagues asked to meet you through an introduction request are not named.",
    "Emails are listed without their content.",
    "Audit events do not name the programme lead who made the change.",
]


class CopiedFromRow(BaseModel):
    """Fields copied as they are from a database row or record: `Model.model_validate(row)`."""

    model_config = ConfigDict(from_attributes=True)


class OrganizationData(BaseModel):
    slug: str
    name: str


class ProfileData(BaseModel):
    email: str
    full_name: str
    role: str
    specialty: str
    department: str
    site: str
    interests: list[str]
    goals: str
    mentoring: str
    can_teach: list[str]
    wants_to_learn: list[str]
    timezone: str
    availability: list[list[int]]
    availability_text: str
    status: str
    paused_until: date | None
    include_in_exports: bool
    accepts_introductions: bool
    email_undeliverable: bool
    source: str
    created_at: datetime
    updated_at: datetime
    confirmed_at: datetime | None
    left_at: datetime | None


class ColleagueData(BaseModel):
    department: str
    role: str


class FeedbackData(CopiedFromRow):
    kind: str
    met: bool | None
    rating: int | None
    learned: str
    outcomes: list[str]
    created_at: datetime
    updated_at: datetime


class MembershipData(BaseModel):
    month: str
    round_status: str
    group_number: int
    topic: str
    meeting_start: datetime | None
    meeting_end: datetime | None
    meeting_url: str
    status: str
    colleagues: list[ColleagueData]
    feedback: list[FeedbackData]


class ResourceData(BaseModel):
    url: str
    title: str
    why: str
    tags: list[str]
    useful_count: int
    hidden: bool
    created_at: datetime


class VoteData(BaseModel):
    resource_url: str
    resource_title: str
    created_at: datetime


class AskStatusData(CopiedFromRow):
    position: int
    status: str
    asked_at: datetime
    answered_at: datetime | None


class IntroductionRequestData(CopiedFromRow):
    need: str
    skill: str
    specialty: str
    site: str
    status: str
    created_at: datetime
    closed_at: datetime | None
    meeting_start: datetime | None
    meeting_end: datetime | None
    met: bool | None
    asks: list[AskStatusData]


class AskReceivedData(BaseModel):
    skill: str
    specialty: str
    status: str
    asked_at: datetime
    expires_at: datetime
    answered_at: datetime | None


class EmailData(CopiedFromRow):
    kind: str
    subject: str
    to_address: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None


class AuditData(BaseModel):
    action: str
    created_at: datetime
    before: dict[str, Any] | None
    after: dict[str, Any] | None


class PersonalDataExport(BaseModel):
    exported_at: datetime
    organization: OrganizationData
    profile: ProfileData
    avoid: list[str]
    rounds: list[MembershipData]
    resources_shared: list[ResourceData]
    useful_votes: list[VoteData]
    introduction_requests: list[IntroductionRequestData]
    introduction_asks_received: list[AskReceivedData]
    emails: list[EmailData]
    audit_events: list[AuditData]
    notes: list[str]


def _profile(p: Participant) -> ProfileData:
    return ProfileData(
        email=p.email,
        full_name=p.full_name,
        role=p.role,
        specialty=p.specialty,
        department=p.department,
        site=p.site,
        interests=p.interests,
        goals=p.goals,
        mentoring=p.mentoring,
        can_teach=p.can_teach,
        wants_to_learn=p.wants_to_learn,
        timezone=p.timezone,
        availability=p.availability,
        availability_text=format_availability(p.availability),
        status=p.status,
        paused_until=p.paused_until,
        include_in_exports=p.include_in_exports,
        accepts_introductions=p.accepts_introductions,
        email_undeliverable=p.undeliverable,
        source=p.source,
        created_at=p.created_at,
        updated_at=p.updated_at,
        confirmed_at=p.confirmed_at,
        left_at=p.left_at,
    )


def _rounds(session: Session, p: Participant) -> list[MembershipData]:
    rows = session.execute(
        select(Membership, MatchGroup, Round)
        .join(MatchGroup, MatchGroup.id == Membership.group_id)
        .join(Round, Round.id == Membership.round_id)
        .where(Membership.participant_id == p.id)
        .order_by(Round.month, Membership.id)
    ).all()
    group_ids = [group.id for _, group, _ in rows]
    colleagues: dict[int, list[ColleagueData]] = defaultdict(list)
    for group_id, department, role in session.execute(
        select(Membership.group_id, Participant.department, Participant.role)
        .join(Participant, Participant.id == Membership.participant_id)
        .where(Membership.group_id.in_(group_ids), Membership.participant_id != p.id)
        .order_by(Membership.id)
    ):
        colleagues[group_id].append(ColleagueData(department=department, role=role))
    feedback: dict[int, list[FeedbackData]] = defaultdict(list)
    for item in session.scalars(
        select(Feedback)
        .where(Feedback.membership_id.in_([m.id for m, _, _ in rows]))
        .order_by(Feedback.kind)
    ):
        feedback[item.membership_id].append(FeedbackData.model_validate(item))
    return [
        MembershipData(
            month=round_.month,
            round_status=round_.status,
            group_number=group.number,
            topic=group.topic_title,
            meeting_start=group.meeting_start,
            meeting_end=group.meeting_end,
            meeting_url=group.meeting_url,
            status=membership.status,
            colleagues=colleagues[group.id],
            feedback=feedback[membership.id],
        )
        for membership, group, round_ in rows
    ]


def _library(session: Session, p: Participant) -> tuple[list[ResourceData], list[VoteData]]:
    shared = [
        ResourceData(
            url=r.url,
            title=r.title,
            why=r.why,
            tags=r.tags,
            useful_count=r.useful_count,
            hidden=r.hidden_at is not None,
            created_at=r.created_at,
        )
        for r in session.scalars(
            select(Resource).where(Resource.participant_id == p.id).order_by(Resource.id)
        )
    ]
    votes = [
        VoteData(resource_url=url, resource_title=title, created_at=created_at)
        for url, title, created_at in session.execute(
            select(Resource.url, Resource.title, ResourceVote.created_at)
            .join(Resource, Resource.id == ResourceVote.resource_id)
            .where(ResourceVote.participant_id == p.id)
            .order_by(ResourceVote.created_at)
        )
    ]
    return shared, votes


def _introductions(
    session: Session, p: Participant
) -> tuple[list[IntroductionRequestData], list[AskReceivedData]]:
    requests = session.scalars(
        select(IntroductionRequest)
        .where(IntroductionRequest.requester_id == p.id)
        .order_by(IntroductionRequest.id)
    ).all()
    made = [IntroductionRequestData.model_validate(r) for r in requests]  # asks included
    received = [
        AskReceivedData(
            skill=skill,
            specialty=specialty,
            status=ask.status,
            asked_at=ask.asked_at,
            expires_at=ask.expires_at,
            answered_at=ask.answered_at,
        )
        for ask, skill, specialty in session.execute(
            select(IntroductionAsk, IntroductionRequest.skill, IntroductionRequest.specialty)
            .join(IntroductionRequest, IntroductionRequest.id == IntroductionAsk.request_id)
            .where(IntroductionAsk.candidate_id == p.id)
            .order_by(IntroductionAsk.id)
        )
    ]
    return made, received


def _emails_and_audit(
    session: Session, org: Organization, p: Participant
) -> tuple[list[EmailData], list[AuditData]]:
    messages = session.execute(
        select(
            OutboxMessage.id,
            OutboxMessage.kind,
            OutboxMessage.subject,
            OutboxMessage.to_address,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
        )
        .where(OutboxMessage.participant_id == p.id)
        .order_by(OutboxMessage.id)
    ).all()
    emails = [EmailData.model_validate(m) for m in messages]
    about_them = or_(
        and_(AuditEvent.target_type == "participant", AuditEvent.target_id == str(p.id)),
        and_(
            AuditEvent.target_type == "outbox_message",
            AuditEvent.target_id.in_([str(m.id) for m in messages]),
        ),
    )
    events = [
        AuditData(action=e.action, created_at=e.created_at, before=e.before, after=e.after)
        for e in session.scalars(
            select(AuditEvent)
            .where(AuditEvent.organization_id == org.id, about_them)
            .order_by(AuditEvent.created_at, AuditEvent.id)
        )
    ]
    return emails, events


def personal_data(session: Session, org: Organization, p: Participant) -> PersonalDataExport:
    shared, votes = _library(session, p)
    made, received = _introductions(session, p)
    emails, events = _emails_and_audit(session, org, p)
    return PersonalDataExport(
        exported_at=utcnow(),
        organization=OrganizationData(slug=org.slug, name=org.name),
        profile=_profile(p),
        avoid=p.avoid_emails,
        rounds=_rounds(session, p),
        resources_shared=shared,
        useful_votes=votes,
        introduction_requests=made,
        introduction_asks_received=received,
        emails=emails,
        audit_events=events,
        notes=NOTES,
    )
