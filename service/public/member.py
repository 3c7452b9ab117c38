"""A participant's own space, behind a long-lived signed link ("member" purpose).

Emails carry this link so that, weeks after a chat, a clinician can still open the
organization's resource library, ask for a warm introduction or print their participation
record without asking for a new link. The link grants nothing that changes the profile:
editing, pausing, leaving and deleting stay behind the short-lived manage link.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from service.config import Settings
from service.deps import LinksDep, SessionDep
from service.errors import LinkExpired, LinkInvalid
from service.links import LONG_LINK_SECONDS, LinkSigner
from service.models import Organization, Participant
from service.participants import service
from service.public.forms import NO_STORE
from service.public.join import link_problem
from service.templating import render

router = APIRouter()

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


@router.get("/o/{org_slug}/my/{token}", response_class=HTMLResponse)
def member_home(
    request: Request, org_slug: str, token: str, session: SessionDep, links: LinksDep
) -> Response:
    org = service.get_organization(session, org_slug)
    try:
        participant = read_member_token(session, links, org, token)
    except (LinkExpired, LinkInvalid) as exc:
        return link_problem(request, org, exc)
    context = {"org": org, "participant": participant, "base": member_path(org, token)}
    return render(request, "public/member_home.html", context, headers=NO_STORE)
