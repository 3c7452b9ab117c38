"""A participant's introduction requests, behind their member link.

The list never names a colleague before they accept: an open request only says that we are
asking someone. The new-request form re-renders with 422 and the error next to the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from service.db import utcnow
from service.deps import CsrfChecked, LinksDep, SessionDep, SettingsDep
from service.errors import InvalidInput
from service.introductions import MAX_OPEN_REQUESTS, requests
from service.introductions import links as intro_links
from service.introductions.emails import describe
from service.introductions.meeting import can_say_met
from service.links import LinkSigner
from service.models import IntroductionRequest, Organization, Participant
from service.participants import flows
from service.public.emailed_links import MemberLinkDep
from service.public.forms import NO_STORE, PostedForm
from service.public.member import member_path
from service.rounds.timing import format_local
from service.templating import render

router = APIRouter()

FIELD_LABELS = {
    "need": "Who you would like to meet",
    "skill": "Skill",
    "specialty": "Specialty",
    "site": "Site",
    "form": "Request",
}
FLASHES = {
    "asked": "Thank you. We are asking a colleague and will email you as soon as they answer.",
    "unmatched": "We could not find a colleague who fits this time. We have emailed you; "
    "you are welcome to ask again in other words.",
    "cancelled": "Your request is cancelled. Nobody was told your name.",
    "closed": "That request was already closed, so there was nothing to cancel.",
}


@dataclass(frozen=True)
class RequestView:
    """One request as its requester may see it: a name only once someone accepted."""

    request: IntroductionRequest
    status_label: str
    badge: str
    detail: str
    asked_count: int
    met_person: dict[str, str] | None
    meeting_start_local: str
    met_url: str


def _view(
    session: Session,
    links: LinkSigner,
    org: Organization,
    requester: Participant,
    request: IntroductionRequest,
) -> RequestView:
    asked = len(request.asks)
    other = requests.accepted_candidate(session, request)
    start = ""
    met_url = ""
    person = None
    if request.status == "open":
        current = requests.current_ask(request)
        label, badge = "Asking a colleague", "pending"
        detail = f"Colleague {asked} of up to 3 is considering it"
        if current is not None:
            detail += f"; they have until {format_local(current.expires_at, requester.timezone)}"
        detail += "."
    elif request.status == "accepted" and other is not None:
        label, badge = f"Accepted: meet {other.full_name}", "active"
        detail = "We have emailed you both with a calendar invite."
        person = {"name": other.full_name, "email": other.email, "about": describe(other)}
        if request.meeting_start is not None:
            start = format_local(request.meeting_start, requester.timezone)
        if can_say_met(request, now=utcnow()):
            token = intro_links.requester_token(links, requester, request)
            met_url = intro_links.intro_path(org, token)
    elif request.status == "unmatched":
        label, badge = "No match", "left"
        detail = "This time it did not work out. You are welcome to ask again in other words."
    else:
        label, badge, detail = "Cancelled", "left", "You cancelled this request."
    return RequestView(request, label, badge, detail, asked, person, start, met_url)


def _known_sites(session: Session, org: Organization) -> list[str]:
    return sorted(
        site
        for site in session.scalars(
            select(Participant.site)
            .where(Participant.organization_id == org.id, Participant.site != "")
            .distinct()
        )
        if site
    )[:50]


def _page(
    request: Request,
    session: Session,
    links: LinkSigner,
    org: Organization,
    participant: Participant,
    token: str,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    flash: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    own = requests.requests_of(session, participant)
    errors = errors or {}
    context: dict[str, Any] = {
        "org": org,
        "participant": participant,
        "base": member_path(org, token),
        "home": member_path(org, token),
        "views": [_view(session, links, org, participant, r) for r in own],
        "open_count": sum(1 for r in own if r.status == "open"),
        "max_open": MAX_OPEN_REQUESTS,
        "values": values or dict.fromkeys(requests.FIELDS, ""),
        "errors": errors,
        "error_items": [
            (name if name != "form" else "need", f"{FIELD_LABELS.get(name, name)}: {text}")
            for name, text in errors.items()
        ],
        "max_need": requests.MAX_NEED,
        "max_short": requests.MAX_SHORT,
        "sites": _known_sites(session, org),
        "flash": flash,
    }
    return render(
        request, "public/introductions.html", context, status_code=status_code, headers=NO_STORE
    )


@router.get("/o/{org_slug}/my/{token}/introductions", response_class=HTMLResponse)
def introductions_page(
    request: Request,
    member: MemberLinkDep,
    session: SessionDep,
    links: LinksDep,
    done: str = "",
) -> Response:
    org, participant, token = member.org, member.participant, member.token
    return _page(request, session, links, org, participant, token, flash=FLASHES.get(done, ""))


def _see_other(url: str, keys: list[str] | None = None, request: Request | None = None) -> Response:
    task = (
        BackgroundTask(flows.deliver_now, request.app.state, keys)
        if keys and request is not None
        else None
    )
    return RedirectResponse(url, status_code=303, headers=NO_STORE, background=task)


@router.post(
    "/o/{org_slug}/my/{token}/introductions",
    dependencies=[CsrfChecked],
    response_class=HTMLResponse,
)
def introductions_submit(
    request: Request,
    posted: PostedForm,
    member: MemberLinkDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    org, participant, token = member.org, member.participant, member.token
    values = {
        name: value if isinstance(value := posted.get(name), str) else ""
        for name in requests.FIELDS
    }
    try:
        fields = requests.clean_fields(values)
        created = requests.create_request(session, settings, links, org, participant, fields)
    except InvalidInput as exc:
        session.rollback()
        return _page(
            request,
            session,
            links,
            org,
            participant,
            token,
            values=values,
            errors=exc.fields or {"form": exc.message},
            status_code=422,
        )
    done = "asked" if created.request.status == "open" else "unmatched"
    url = f"{member.path('introductions')}?done={done}"
    return _see_other(url, created.email_keys, request)


@router.post(
    "/o/{org_slug}/my/{token}/introductions/{request_id}/cancel", dependencies=[CsrfChecked]
)
def introductions_cancel(request_id: int, member: MemberLinkDep, session: SessionDep) -> Response:
    cancelled = requests.cancel_request(session, member.participant, request_id)
    done = "cancelled" if cancelled else "closed"
    return _see_other(f"{member.path('introductions')}?done={done}")
