"""The member link: a participant's long-lived door to the library, introductions and record.

Kept outside the web layer so that email builders (rounds, introductions) can make the link
without importing pages.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.config import Settings
from service.errors import LinkInvalid
from service.links import LONG_LINK_SECONDS, LinkSigner
from service.models import Organization, Participant

# People come back to the library and their record long after the email that brought them.
MEMBER_LINK_SECONDS = LONG_LINK_SECONDS * 3


def member_token(links: LinkSigner, participant: Participant) -> str:
    return links.make("member", participant_id=participant.id, version=participant.link_version)


def member_path(org: Organization, token: str, page: str = "") -> str:
    suffix = f"/{page}" if page else ""
    return f"/o/{org.slug}/my/{token}{suffix}"


def member_url(
    settings: Settings, links: LinkSigner, org: Organization, participant: Participant,
    page: str = "",
) -> str:
    """The absolute link for emails; `page` is "", "library", "introductions" or "record"."""
    return settings.base_url + member_path(org, member_token(links, participant), page)


def read_member_token(
    session: Session, links: LinkSigner, org: Organization, token: str
) -> Participant:
    """The participant a member link belongs to, or LinkInvalid/LinkExpired.

    Leaving or deleting bumps link_version, which retires every member link at once.
    """
    claims = links.read("member", token, max_age_seconds=MEMBER_LINK_SECONDS)
    participant = session.get(Participant, claims.participant_id)
    if (
        participant is None
        or participant.organization_id != org.id
        or participant.link_version != claims.version
        or participant.status in ("deleted", "left", "pending")
    ):
        raise LinkInvalid("This link is no longer valid. Ask for a new one on the sign-in page.")
    return participant
