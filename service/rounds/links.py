"""The links inside round emails: can't make it, check-in, feedback, pause, unsubscribe."""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.config import Settings
from service.errors import LinkInvalid
from service.links import LONG_LINK_SECONDS, LinkSigner
from service.models import Membership, Organization, Participant


def membership_token(links: LinkSigner, participant: Participant, membership: Membership) -> str:
    return links.make(
        "feedback",
        participant_id=participant.id,
        version=participant.link_version,
        extra=f"m{membership.id}",
    )


def participant_token(links: LinkSigner, participant: Participant) -> str:
    return links.make(
        "unsubscribe", participant_id=participant.id, version=participant.link_version
    )


def membership_url(
    settings: Settings, org: Organization, token: str, action: str, query: str = ""
) -> str:
    suffix = f"?{query}" if query else ""
    return f"{settings.base_url}/o/{org.slug}/r/{token}/{action}{suffix}"


def participant_url(settings: Settings, org: Organization, token: str, action: str) -> str:
    return f"{settings.base_url}/o/{org.slug}/{action}/{token}"


def read_membership_token(
    session: Session, links: LinkSigner, org: Organization, token: str
) -> tuple[Participant, Membership]:
    claims = links.read("feedback", token, max_age_seconds=LONG_LINK_SECONDS)
    membership_id = int(claims.extra[1:]) if claims.extra[1:].isdigit() else -1
    membership = session.get(Membership, membership_id)
    participant = session.get(Participant, claims.participant_id)
    if (
        membership is None
        or participant is None
        or membership.participant_id != participant.id
        or participant.organization_id != org.id
        or participant.link_version != claims.version
        or participant.status == "deleted"
    ):
        raise LinkInvalid("This link is no longer valid.")
    return participant, membership


def read_participant_token(
    session: Session, links: LinkSigner, org: Organization, token: str
) -> Participant:
    claims = links.read("unsubscribe", token, max_age_seconds=LONG_LINK_SECONDS * 3)
    participant = session.get(Participant, claims.participant_id)
    if (
        participant is None
        or participant.organization_id != org.id
        or participant.link_version != claims.version
        or participant.status == "deleted"
    ):
        raise LinkInvalid("This link is no longer valid.")
    return participant
