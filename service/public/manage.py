"""Self-service through a signed manage link: edit, pause, resume, leave, delete.

The link in the URL is the only credential. GET only shows forms; every change is a POST with
a CSRF token, answered with a 303 so a reload never repeats it.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.db import commits_in_handler
from service.deps import CsrfChecked, LinksDep, SessionDep, SettingsDep
from service.errors import InvalidInput, NotFound
from service.models import Organization, Participant
from service.participants import service
from service.public import forms
from service.public.emailed_links import ManageLinkDep, manage_link_reader, read_link
from service.public.forms import NO_STORE, PostedForm, ProfileForm
from service.public.member import member_path, member_token
from service.templating import render

router = APIRouter()

# Flash messages are picked by code: text from the query string is never shown.
FLASH_MESSAGES = {
    "joined": "You're in! Your profile is confirmed and you'll be grouped in the next round.",
    "saved": "Your profile is saved.",
    "paused": "You're paused. We'll bring you back automatically on the date shown.",
    "resumed": "Welcome back. You'll be included in the next round.",
}

ACTIONS = ("profile", "pause", "resume", "leave", "delete")


def _page(
    request: Request,
    org: Organization,
    participant: Participant,
    token: str,
    *,
    form: ProfileForm | None = None,
    action_errors: dict[str, str] | None = None,
    flash: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    context = {
        "org": org,
        "participant": participant,
        "token": token,
        "base": f"/o/{org.slug}/manage/{token}",
        "form": form or ProfileForm(forms.participant_values(participant)),
        "action_errors": action_errors or {},
        "flash": flash,
        "email_editable": False,
        "member_url": (
            member_path(org, member_token(request.app.state.links, participant))
            if participant.status in ("active", "paused")
            else ""
        ),
        **forms.choices(),
    }
    return render(
        request, "public/manage.html", context, status_code=status_code, headers=NO_STORE
    )


def _back(org: Organization, token: str, done: str) -> RedirectResponse:
    return RedirectResponse(
        f"/o/{org.slug}/manage/{token}?done={done}", status_code=303, headers=NO_STORE
    )


@router.get("/o/{org_slug}/manage/{token}", response_class=HTMLResponse)
def manage_page(request: Request, holder: ManageLinkDep, done: str = "") -> Response:
    flash = FLASH_MESSAGES.get(done, "")
    return _page(request, holder.org, holder.participant, holder.token, flash=flash)


@router.post("/o/{org_slug}/manage/{token}/{action}", dependencies=[CsrfChecked])
@commits_in_handler
def manage_action(
    request: Request,
    org_slug: str,
    token: str,
    action: str,
    posted: PostedForm,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    if action not in ACTIONS:
        raise NotFound("There is no such page.")
    # Read here, not as a dependency: an unknown action is a 404 whatever the link.
    holder = read_link(request, session, links, org_slug, token, manage_link_reader(settings))
    org, participant = holder.org, holder.participant

    if action == "profile":
        form, profile = forms.parse_profile(posted, email=participant.email)
        if profile is None:
            return _page(request, org, participant, token, form=form, status_code=422)
        service.apply_profile(participant, profile)
        return _back(org, token, "saved")

    if action == "pause":
        months = posted.get("months")
        try:
            service.pause(participant, int(months) if months in ("1", "2", "3") else 0)
        except InvalidInput as exc:
            errors = {"months": exc.message}
            return _page(
                request, org, participant, token, action_errors=errors, status_code=422
            )
        return _back(org, token, "paused")

    if action == "resume":
        service.resume(participant)
        return _back(org, token, "resumed")

    if action == "leave":
        service.leave(participant)
        return RedirectResponse(f"/o/{org.slug}/left", status_code=303, headers=NO_STORE)

    # action == "delete"
    if posted.get("confirm_delete") != "yes":
        errors = {"confirm_delete": "Tick the box to confirm that you want everything deleted."}
        return _page(request, org, participant, token, action_errors=errors, status_code=422)
    service.erase(session, participant)
    return RedirectResponse(f"/o/{org.slug}/deleted", status_code=303, headers=NO_STORE)


@router.get("/o/{org_slug}/left", response_class=HTMLResponse)
def left_page(request: Request, org_slug: str, session: SessionDep) -> HTMLResponse:
    org = service.get_organization(session, org_slug)
    return render(request, "public/left.html", {"org": org})


@router.get("/o/{org_slug}/deleted", response_class=HTMLResponse)
def deleted_page(request: Request, org_slug: str, session: SessionDep) -> HTMLResponse:
    org = service.get_organization(session, org_slug)
    return render(request, "public/deleted.html", {"org": org})
