"""Participant operations. They flush, never commit: the request or job owns the transaction."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session, selectinload

from service.db import utcnow
from service.errors import InvalidInput, NotFound
from service.models import AvoidEntry, Feedback, Membership, Organization, Participant
from service.participants import erasure
from service.participants.schemas import ParticipantIn, ParticipantUpdate, ProfileIn

PROFILE_FIELDS = (
    "full_name",
    "role",
    "specialty",
    "department",
    "site",
    "interests",
    "goals",
    "mentoring",
    "can_teach",
    "wants_to_learn",
    "timezone",
    "availability",
)
# Consent choices: a profile that leaves them out (None) keeps the current ones, so an older
# client or the CSV import never switches them back on.
CONSENT_FIELDS = ("include_in_exports", "accepts_introductions")


@lru_cache(maxsize=1)
def _organization_by_slug() -> Select[tuple[Organization]]:
    # Built once: every public page looks its programme up, and building the statement and
    # its cache key each time cost about as much CPU as running it.
    return select(Organization).where(Organization.slug == bindparam("slug"))


@lru_cache(maxsize=1)
def _participant_by_email() -> Select[tuple[Participant]]:
    return (
        select(Participant)
        .where(
            Participant.organization_id == bindparam("organization_id"),
            Participant.email == bindparam("email"),
        )
        .options(selectinload(Participant.avoid_entries))
    )


def get_organization(session: Session, slug: str) -> Organization:
    org = session.scalar(_organization_by_slug(), {"slug": slug})
    if org is None:
        raise NotFound(f"There is no Coffee Rounds programme called '{slug[:64]}'.")
    return org


def find_by_email(session: Session, org: Organization, email: str) -> Participant | None:
    return session.scalar(_participant_by_email(), {"organization_id": org.id, "email": email})


def get_participant(session: Session, org: Organization, participant_id: int) -> Participant:
    participant = session.scalar(
        select(Participant)
        .where(Participant.organization_id == org.id, Participant.id == participant_id)
        .options(selectinload(Participant.avoid_entries))
    )
    if participant is None or participant.status == "deleted":
        raise NotFound("No such participant.")
    return participant


def check_email_domain(org: Organization, email: str) -> None:
    if not org.accepts_email(email):
        allowed = ", ".join(org.allowed_email_domains)
        raise InvalidInput(
            f"Please use your work email address ({allowed}).",
            fields={"email": f"must be an address at {allowed}"},
        )


def _set_avoid(participant: Participant, emails: list[str]) -> None:
    wanted = [e for e in emails if e != participant.email]
    current = {entry.email: entry for entry in participant.avoid_entries}
    for email, entry in current.items():
        if email not in wanted:
            participant.avoid_entries.remove(entry)
    for email in wanted:
        if email not in current:
            participant.avoid_entries.append(AvoidEntry(email=email))


def apply_profile(participant: Participant, profile: ProfileIn) -> None:
    for field in PROFILE_FIELDS:
        setattr(participant, field, getattr(profile, field))
    for field in CONSENT_FIELDS:
        if getattr(profile, field) is not None:
            setattr(participant, field, getattr(profile, field))
    _set_avoid(participant, profile.avoid)


@dataclass(frozen=True)
class Registration:
    participant: Participant
    created: bool


def register(
    session: Session,
    org: Organization,
    data: ParticipantIn,
    *,
    source: str,
    active: bool,
) -> Registration:
    """Create a participant, or return the existing one untouched (the caller says what)."""
    check_email_domain(org, data.email)
    existing = find_by_email(session, org, data.email)
    if existing is not None and existing.status != "deleted":
        return Registration(existing, created=False)
    if existing is not None:  # an anonymised former participant: start afresh
        session.delete(existing)
        session.flush()
    participant = Participant(
        organization_id=org.id,
        email=data.email,
        status="active" if active else "pending",
        confirmed_at=utcnow() if active else None,
        source=source,
        avoid_entries=[],
    )
    apply_profile(participant, data)
    session.add(participant)
    session.flush()
    return Registration(participant, created=True)


def confirm(participant: Participant) -> bool:
    """Double opt-in: a pending participant becomes active. Returns True if it changed."""
    if participant.status != "pending":
        return False
    participant.status = "active"
    participant.confirmed_at = utcnow()
    return True


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def pause(participant: Participant, months: int, *, today: date | None = None) -> date:
    if months not in (1, 2, 3):
        raise InvalidInput("You can pause for 1, 2 or 3 months.", fields={"months": "1, 2 or 3"})
    if participant.status not in ("active", "paused"):
        raise InvalidInput("Only an active participant can pause.")
    today = today or datetime.now(UTC).date()
    participant.status = "paused"
    participant.paused_until = add_months(today, months)
    return participant.paused_until


def resume(participant: Participant) -> None:
    if participant.status == "paused":
        participant.status = "active"
        participant.paused_until = None


def resume_due(session: Session, *, today: date) -> int:
    """Auto-resume everyone whose pause has ended; returns how many."""
    result = session.execute(
        update(Participant)
        .where(Participant.status == "paused", Participant.paused_until <= today)
        .values(status="active", paused_until=None, updated_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def leave(participant: Participant) -> None:
    participant.status = "left"
    participant.left_at = utcnow()
    participant.paused_until = None
    participant.link_version += 1


def update_from_api(participant: Participant, data: ParticipantUpdate) -> None:
    given = data.model_dump(exclude_unset=True)
    for field in PROFILE_FIELDS + CONSENT_FIELDS:
        if field in given and given[field] is not None:
            setattr(participant, field, given[field])
    if given.get("avoid") is not None:
        _set_avoid(participant, given["avoid"])
    status = given.get("status")
    if status == "paused":
        if data.paused_until is None:
            raise InvalidInput(
                "paused_until is required to pause", fields={"paused_until": "is required"}
            )
        participant.status = "paused"
        participant.paused_until = data.paused_until
    elif status == "active":
        participant.status = "active"
        participant.paused_until = None
        participant.confirmed_at = participant.confirmed_at or utcnow()
    elif status == "left":
        leave(participant)


def erase(session: Session, participant: Participant) -> None:
    """Delete a participant's personal data everywhere.

    Someone with no history (never in a group, no introduction asked for or asked of them)
    is removed outright. Someone with history stays as an anonymous row, so that past
    rounds, introductions and the programme's statistics still add up: role, department
    and site stay (the Impact figures group by them), as do their check-in answers and
    follow-up outcomes; names, contact details and every free text go. Beyond their row,
    see `erasure.erase_everywhere` (emails, library, introductions, audit log).
    """
    erasure.erase_everywhere(session, participant)
    if not erasure.has_history(session, participant):
        session.delete(participant)
        session.flush()
        return
    membership_ids = select(Membership.id).where(Membership.participant_id == participant.id)
    session.execute(
        update(Feedback).where(Feedback.membership_id.in_(membership_ids)).values(learned="")
    )
    participant.avoid_entries.clear()
    participant.email = erasure.placeholder_email(participant)
    participant.full_name = erasure.DELETED_NAME
    participant.specialty = ""
    participant.goals = ""
    participant.interests = []
    participant.can_teach = []
    participant.wants_to_learn = []
    participant.availability = []
    participant.include_in_exports = False
    participant.accepts_introductions = False
    participant.status = "deleted"
    participant.paused_until = None
    participant.left_at = participant.left_at or utcnow()
    participant.link_version += 1
    session.flush()
