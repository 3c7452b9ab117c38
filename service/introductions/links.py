"""The signed links of introduction emails (the "introduction" link purpose).

One token per person and introduction: `a<ask id>` for an asked colleague (accept or decline,
later "did you meet?"), `r<request id>` for the requester's "did you meet?". Reading a token
checks the person, the organization, the record and link_version, so leaving or deleting
retires every link at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from service.config import Settings
from service.errors import LinkInvalid
from service.links import LONG_LINK_SECONDS, LinkSigner
from service.models import IntroductionAsk, IntroductionRequest, Organization, Participant

INVALID = "This link is no longer valid. It may belong to an introduction that was removed."


@dataclass(frozen=True)
class IntroLink:
    """Whom a link speaks for, and about which introduction."""

    org: Organization
    participant: Participant
    request: IntroductionRequest
    ask: IntroductionAsk | None  # None: the requester's own link
    token: str

    @property
    def is_candidate(self) -> bool:
        return self.ask is not None

    @property
    def base(self) -> str:
        return intro_path(self.org, self.token)


def ask_token(links: LinkSigner, candidate: Participant, ask: IntroductionAsk) -> str:
    return links.make(
        "introduction",
        participant_id=candidate.id,
        version=candidate.link_version,
        extra=f"a{ask.id}",
    )


def requester_token(links: LinkSigner, requester: Participant, request: IntroductionRequest) -> str:
    return links.make(
        "introduction",
        participant_id=requester.id,
        version=requester.link_version,
        extra=f"r{request.id}",
    )


def intro_path(org: Organization, token: str) -> str:
    return f"/o/{org.slug}/intro/{token}"


def intro_url(settings: Settings, org: Organization, token: str, query: str = "") -> str:
    return settings.base_url + intro_path(org, token) + (f"?{query}" if query else "")


def _record_id(extra: str, prefix: str) -> int | None:
    if len(extra) < 2 or extra[0] != prefix or not extra[1:].isdigit() or len(extra) > 19:
        return None
    return int(extra[1:])


def read_intro_token(
    session: Session, links: LinkSigner, org: Organization, token: str
) -> IntroLink:
    """The person and introduction a link belongs to, or LinkInvalid / LinkExpired."""
    claims = links.read("introduction", token, max_age_seconds=LONG_LINK_SECONDS)
    participant = session.get(Participant, claims.participant_id)
    if (
        participant is None
        or participant.organization_id != org.id
        or participant.link_version != claims.version
        or participant.status in ("deleted", "left")
    ):
        raise LinkInvalid(INVALID)
    ask_id, request_id = _record_id(claims.extra, "a"), _record_id(claims.extra, "r")
    if ask_id is not None:
        ask = session.get(IntroductionAsk, ask_id)
        if ask is None or ask.candidate_id != participant.id:
            raise LinkInvalid(INVALID)
        request = ask.request
        if request.organization_id != org.id:
            raise LinkInvalid(INVALID)
        return IntroLink(org, participant, request, ask, token)
    if request_id is not None:
        found = session.get(IntroductionRequest, request_id)
        if found is None or found.requester_id != participant.id or found.organization_id != org.id:
            raise LinkInvalid(INVALID)
        return IntroLink(org, participant, found, None, token)
    raise LinkInvalid(INVALID)
