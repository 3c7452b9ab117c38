"""Reading the signed link an email put in a page's URL, once for every page behind one.

A page names the link it needs as a parameter (`IntroLinkDep`, `MemberLinkDep`,
`MembershipLinkDep`, `ManageLinkDep`): the path's organization and token are read for that
purpose before the page runs. An expired link (410), a tampered one, or one retired by leaving
or by removing its record (400) never reaches the page: the visitor gets the page for a bad link
of that kind, never cached, since its URL carries the token.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from service.config import Settings
from service.deps import LinksDep, SessionDep, SettingsDep
from service.errors import LinkExpired, LinkInvalid
from service.introductions.links import IntroLink, read_intro_token
from service.links import LinkSigner
from service.member_links import member_path, read_member_token
from service.models import Organization, Participant
from service.participants import flows
from service.participants import service as participants
from service.public.join import link_problem
from service.public.round_common import MembershipLink, error_page, membership_link

T = TypeVar("T")
LinkReader = Callable[[Session, LinkSigner, Organization, str], T]
BadLinkPage = Callable[[Request, Organization, LinkExpired | LinkInvalid], Response]


class BadLinkAnswer(Exception):
    """A bad link's page, raised instead of running the page the link was for.

    A dependency cannot answer the request itself; the handler `install` adds sends `response`.
    """

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def _answer(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadLinkAnswer)
    return exc.response


def install(app: FastAPI) -> None:
    app.add_exception_handler(BadLinkAnswer, _answer)


def read_link(
    request: Request,
    session: Session,
    links: LinkSigner,
    org_slug: str,
    token: str,
    read: LinkReader[T],
    bad_link_page: BadLinkPage = link_problem,
) -> T:
    """What `read` finds behind the token; BadLinkAnswer when the link does not work."""
    org = participants.get_organization(session, org_slug)
    try:
        return read(session, links, org, token)
    except (LinkExpired, LinkInvalid) as exc:
        raise BadLinkAnswer(bad_link_page(request, org, exc)) from None


def _link_dependency(read: LinkReader[T], bad_link_page: BadLinkPage = link_problem) -> Any:
    def dependency(
        request: Request, org_slug: str, token: str, session: SessionDep, links: LinksDep
    ) -> T:
        return read_link(request, session, links, org_slug, token, read, bad_link_page)

    return Depends(dependency)


@dataclass(frozen=True)
class MemberLink:
    """A participant's own long-lived link (see `service.member_links`)."""

    org: Organization
    participant: Participant
    token: str

    def path(self, page: str = "") -> str:
        return member_path(self.org, self.token, page)


def _read_member_link(
    session: Session, links: LinkSigner, org: Organization, token: str
) -> MemberLink:
    return MemberLink(org, read_member_token(session, links, org, token), token)


@dataclass(frozen=True)
class ManageLink:
    """A participant's short-lived manage link: editing, pausing, leaving, deleting, their data."""

    org: Organization
    participant: Participant
    token: str

    @property
    def base(self) -> str:
        return f"/o/{self.org.slug}/manage/{self.token}"


def manage_link_reader(settings: Settings) -> LinkReader[ManageLink]:
    """A `read_link` reader for manage links, whose lifetime is a setting."""

    def read(session: Session, links: LinkSigner, org: Organization, token: str) -> ManageLink:
        holder = flows.participant_from_link(session, settings, links, org, token, purpose="manage")
        return ManageLink(org, holder, token)

    return read


def _manage_link(
    request: Request,
    org_slug: str,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> ManageLink:
    return read_link(request, session, links, org_slug, token, manage_link_reader(settings))


def round_link_problem(
    request: Request, org: Organization, exc: LinkExpired | LinkInvalid
) -> Response:
    """Round emails' links get the plain error page, without the new-link form."""
    return error_page(request, exc)


IntroLinkDep = Annotated[IntroLink, _link_dependency(read_intro_token)]
MemberLinkDep = Annotated[MemberLink, _link_dependency(_read_member_link)]
MembershipLinkDep = Annotated[MembershipLink, _link_dependency(membership_link, round_link_problem)]
ManageLinkDep = Annotated[ManageLink, Depends(_manage_link)]
