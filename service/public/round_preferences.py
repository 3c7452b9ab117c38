"""Links that name a person rather than a meeting: pause for 1-3 months, and unsubscribe.

Unsubscribe follows RFC 8058: mail providers POST `List-Unsubscribe=One-Click` without cookies,
so that route has no CSRF check; the signed link is the authority. A GET only shows a button.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from service.deps import CsrfChecked, LinksDep, SessionDep
from service.errors import DomainError, InvalidInput, LinkExpired, LinkInvalid
from service.links import LinkSigner
from service.models import Organization, Participant
from service.participants import service as participants
from service.public.forms import PostedForm
from service.public.round_common import error_items, error_page, form_text, page, see_other
from service.rounds import links as round_links

router = APIRouter()


# --- unsubscribe ---------------------------------------------------------------------------


async def _any_form(request: Request) -> FormData:
    """The posted form, or nothing: a one-click POST may come with any (or a broken) body."""
    try:
        return await request.form()
    except Exception:  # noqa: BLE001 - a malformed body must not stop an unsubscribe
        return FormData()


AnyForm = Annotated[FormData, Depends(_any_form)]


def _already_left(session: Session, links: LinkSigner, org: Organization, token: str) -> bool:
    """A genuine link of someone who has since left (leaving retires their links)."""
    try:
        claims = links.read("unsubscribe", token, max_age_seconds=None)
    except DomainError:
        return False
    person = session.get(Participant, claims.participant_id)
    return (
        person is not None
        and person.organization_id == org.id
        and person.status in ("left", "deleted")
        and person.link_version > claims.version
    )


@router.get("/o/{org_slug}/u/{token}", response_class=HTMLResponse)
def unsubscribe_page(
    request: Request, org_slug: str, token: str, session: SessionDep, links: LinksDep
) -> Response:
    org = participants.get_organization(session, org_slug)
    try:
        participant = round_links.read_participant_token(session, links, org, token)
    except (LinkInvalid, LinkExpired) as exc:
        if _already_left(session, links, org, token):
            return page(request, "unsubscribed.html", {"org": org})
        return error_page(request, exc)
    context = {
        "org": org,
        "participant": participant,
        "action": f"/o/{org.slug}/u/{token}",
        "pause_url": f"/o/{org.slug}/pause/{token}",
    }
    return page(request, "unsubscribe.html", context)


@router.post("/o/{org_slug}/u/{token}", response_class=HTMLResponse)
def unsubscribe_submit(
    request: Request,
    org_slug: str,
    token: str,
    posted: AnyForm,
    session: SessionDep,
    links: LinksDep,
) -> Response:
    """RFC 8058: no cookies, no CSRF token; the signed link is the authority."""
    org = participants.get_organization(session, org_slug)
    one_click = posted.get("List-Unsubscribe") == "One-Click"
    try:
        participant = round_links.read_participant_token(session, links, org, token)
    except (LinkInvalid, LinkExpired) as exc:
        if not _already_left(session, links, org, token):
            return error_page(request, exc)
    else:
        participants.leave(participant)
    if one_click:
        return page(request, "unsubscribed.html", {"org": org})
    # The same URL now answers "you're unsubscribed": the link retired when they left.
    return see_other(f"/o/{org.slug}/u/{token}")


# --- pause ---------------------------------------------------------------------------------

PAUSE_FLASH = {
    "paused": "You're paused. We'll bring you back automatically on the date shown.",
    "resumed": "Welcome back. You'll be included in the next round.",
}


def _pause_page(
    request: Request,
    org: Organization,
    participant: Participant,
    token: str,
    *,
    flash: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "org": org,
        "participant": participant,
        "action": f"/o/{org.slug}/pause/{token}",
        "unsubscribe_url": f"/o/{org.slug}/u/{token}",
        "flash": flash,
        "errors": errors or {},
        "error_items": error_items(errors or {}),
    }
    return page(request, "pause.html", context, status_code=status_code)


@router.get("/o/{org_slug}/pause/{token}", response_class=HTMLResponse)
def pause_page(
    request: Request,
    org_slug: str,
    token: str,
    session: SessionDep,
    links: LinksDep,
    done: str = "",
) -> Response:
    org = participants.get_organization(session, org_slug)
    try:
        participant = round_links.read_participant_token(session, links, org, token)
    except (LinkInvalid, LinkExpired) as exc:
        return error_page(request, exc)
    return _pause_page(request, org, participant, token, flash=PAUSE_FLASH.get(done, ""))


@router.post("/o/{org_slug}/pause/{token}", dependencies=[CsrfChecked])
def pause_submit(
    request: Request,
    org_slug: str,
    token: str,
    posted: PostedForm,
    session: SessionDep,
    links: LinksDep,
) -> Response:
    org = participants.get_organization(session, org_slug)
    try:
        participant = round_links.read_participant_token(session, links, org, token)
    except (LinkInvalid, LinkExpired) as exc:
        return error_page(request, exc)
    back = f"/o/{org.slug}/pause/{token}"
    if form_text(posted, "action") == "resume":
        participants.resume(participant)
        return see_other(f"{back}?done=resumed")
    months = form_text(posted, "months")
    try:
        participants.pause(participant, int(months) if months in ("1", "2", "3") else 0)
    except InvalidInput as exc:
        errors = {"months": exc.message}
        return _pause_page(request, org, participant, token, errors=errors, status_code=422)
    return see_other(f"{back}?done=paused")
