"""What happens when someone signs up, confirms or asks for their manage link.

Shared by the HTML pages and the JSON API. Every function flushes and queues email in the
caller's transaction; the caller commits and then asks for the queued keys to be delivered.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from service import outbox, rate_limit
from service.config import Settings
from service.errors import LinkInvalid
from service.links import LinkSigner
from service.models import Organization, Participant
from service.participants import service
from service.participants.schemas import ParticipantIn

log = logging.getLogger(__name__)

# The same address gets at most one email of a kind per window, however often the form is sent.
EMAIL_THROTTLE_SECONDS = 600


@dataclass
class Outcome:
    """What a flow did; `email_keys` are outbox rows to deliver right after the commit."""

    participant: Participant | None = None
    email_keys: list[str] = field(default_factory=list)


def _bucket() -> int:
    return int(time.time() // EMAIL_THROTTLE_SECONDS)


def confirm_url(settings: Settings, links: LinkSigner, org: Organization, p: Participant) -> str:
    token = links.make("confirm", participant_id=p.id, version=p.link_version)
    return f"{settings.base_url}/o/{org.slug}/confirm/{token}"


def manage_url(settings: Settings, links: LinkSigner, org: Organization, p: Participant) -> str:
    token = links.make("manage", participant_id=p.id, version=p.link_version)
    return f"{settings.base_url}/o/{org.slug}/manage/{token}"


def _send(
    session: Session,
    settings: Settings,
    org: Organization,
    participant: Participant,
    *,
    template: str,
    context: dict[str, object],
) -> str:
    key = f"{template}:{participant.id}:{participant.link_version}:{_bucket()}"
    if not rate_limit.may_email_participant(session, settings, participant):
        return key  # the same answer as when the email was queued: nothing is revealed
    outbox.enqueue_email(
        session,
        settings=settings,
        org=org,
        participant=participant,
        to=participant.email,
        to_name=participant.full_name,
        kind=template,
        template=template,
        context={
            "participant_name": participant.full_name,
            "organization_name": org.name,
            **context,
        },
        idempotency_key=key,
    )
    return key


def send_confirmation(
    session: Session, settings: Settings, links: LinkSigner, org: Organization, p: Participant
) -> str:
    return _send(
        session,
        settings,
        org,
        p,
        template="confirm_signup",
        context={
            "confirm_url": confirm_url(settings, links, org, p),
            "expires_hours": settings.confirm_link_hours,
        },
    )


def send_manage_link(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    p: Participant,
    *,
    template: str = "manage_link",
) -> str:
    return _send(
        session,
        settings,
        org,
        p,
        template=template,
        context={
            "manage_url": manage_url(settings, links, org, p),
            "expires_hours": settings.manage_link_hours,
        },
    )


def signup(
    session: Session, settings: Settings, links: LinkSigner, org: Organization, data: ParticipantIn
) -> Outcome:
    """Register someone; the visible result is the same whether or not they existed.

    A new person gets a confirmation link (double opt-in). Someone already registered gets
    their manage link instead, and their profile is left alone: whoever filled in the form
    may not be them.
    """
    registration = service.register(session, org, data, source="signup", active=False)
    p = registration.participant
    if registration.created or p.status in ("pending", "left"):
        return Outcome(p, [send_confirmation(session, settings, links, org, p)])
    return Outcome(
        p, [send_manage_link(session, settings, links, org, p, template="already_registered")]
    )


def request_manage_link(
    session: Session, settings: Settings, links: LinkSigner, org: Organization, email: str
) -> Outcome:
    """Email a manage link if the address is registered; say nothing either way."""
    participant = service.find_by_email(session, org, email)
    if participant is None or participant.status == "deleted":
        return Outcome()
    if participant.status == "pending":
        return Outcome(participant, [send_confirmation(session, settings, links, org, participant)])
    return Outcome(participant, [send_manage_link(session, settings, links, org, participant)])


def participant_from_link(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    token: str,
    *,
    purpose: str,
) -> Participant:
    """The participant a signed link speaks for; old versions and other hospitals fail."""
    hours = settings.confirm_link_hours if purpose == "confirm" else settings.manage_link_hours
    claims = links.read(purpose, token, max_age_seconds=hours * 3600)
    participant = session.get(Participant, claims.participant_id)
    if (
        participant is None
        or participant.organization_id != org.id
        or participant.link_version != claims.version
        or participant.status == "deleted"
    ):
        raise LinkInvalid(
            "This link is no longer valid. You can ask for a new one on the profile page."
        )
    return participant


def confirm(
    session: Session, settings: Settings, links: LinkSigner, org: Organization, token: str
) -> Participant:
    """Follow-through of the double opt-in (on POST only: mail scanners follow GET links)."""
    participant = participant_from_link(session, settings, links, org, token, purpose="confirm")
    if participant.status == "left":
        participant.status = "pending"
        participant.left_at = None
    service.confirm(participant)
    session.flush()
    return participant


def deliver_now(app_state: object, keys: list[str]) -> None:
    """Background task after the commit: send these emails now rather than at the next tick.

    Failures stay in the outbox for the dispatcher to retry; the visitor never waits on SMTP.
    """
    if not keys:
        return
    settings: Settings = app_state.settings  # type: ignore[attr-defined]
    try:
        outbox.deliver_due(app_state.sessionmaker, outbox.make_sender(settings), keys=keys)  # type: ignore[attr-defined]
    except Exception:
        # E.g. the database went away after the commit. The rows are still queued (or leased,
        # then due again) for the dispatcher. Raised here, the error would hit a response
        # that has already been sent and uvicorn would cut the visitor's connection.
        log.exception("sending %d email(s) right after the request failed; queued", len(keys))
