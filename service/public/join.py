"""Joining a programme: the signup form, double opt-in confirmation, and asking for a link.

Every answer is the same whether or not an email address is already registered, so the
pages never tell a visitor who takes part.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from service.db import commits_in_handler
from service.deps import CsrfChecked, LinksDep, SessionDep, SettingsDep
from service.errors import InvalidInput, LinkExpired, LinkInvalid
from service.models import Organization
from service.participants import flows, service
from service.participants.schemas import normalize_email
from service.public import forms
from service.public.forms import NO_STORE, PostedForm, ProfileForm
from service.rate_limit import SignupRateLimited
from service.templating import render

router = APIRouter()


def _join_page(
    request: Request, org: Organization, form: ProfileForm, *, status_code: int = 200
) -> HTMLResponse:
    context = {"org": org, "form": form, "email_editable": True, **forms.choices()}
    return render(request, "public/join.html", context, status_code=status_code)


def _after_commit(request: Request, url: str, keys: list[str]) -> RedirectResponse:
    """303 onwards; the queued emails go out once the transaction is committed."""
    task = BackgroundTask(flows.deliver_now, request.app.state, keys)
    return RedirectResponse(url, status_code=303, background=task)


@router.get("/o/{org_slug}/join", response_class=HTMLResponse)
def join_form(request: Request, org_slug: str, session: SessionDep) -> HTMLResponse:
    org = service.get_organization(session, org_slug)
    return _join_page(request, org, ProfileForm(forms.blank_values(org)))


@router.post(
    "/o/{org_slug}/join",
    dependencies=[SignupRateLimited, CsrfChecked],
    response_class=HTMLResponse,
)
@commits_in_handler
def join_submit(
    request: Request,
    org_slug: str,
    posted: PostedForm,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    org = service.get_organization(session, org_slug)
    form, data = forms.parse_signup(posted)
    if data is None:
        return _join_page(request, org, form, status_code=422)
    try:
        outcome = flows.signup(session, settings, links, org, data)
    except InvalidInput as exc:
        form.errors.update(exc.fields or {"form": exc.message})
        return _join_page(request, org, form, status_code=422)
    return _after_commit(request, f"/o/{org.slug}/join/check-email", outcome.email_keys)


@router.get("/o/{org_slug}/join/check-email", response_class=HTMLResponse)
def check_email(
    request: Request, org_slug: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    org = service.get_organization(session, org_slug)
    context = {"org": org, "hours": settings.confirm_link_hours}
    return render(request, "public/check_email.html", context)


def link_problem(request: Request, org: Organization, exc: LinkExpired | LinkInvalid) -> Response:
    """410 or 400 with a way to get a fresh link, instead of a dead end."""
    context = {"org": org, "title": exc.title, "message": exc.message, "values": {"email": ""}}
    return render(
        request,
        "public/link_problem.html",
        context,
        status_code=exc.status_code,
        headers=NO_STORE,
    )


@router.get("/o/{org_slug}/confirm/{token}", response_class=HTMLResponse)
def confirm_page(
    request: Request,
    org_slug: str,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    # Only shows a button: mail scanners open links, and opening must not enrol anyone.
    org = service.get_organization(session, org_slug)
    try:
        participant = flows.participant_from_link(
            session, settings, links, org, token, purpose="confirm"
        )
    except (LinkExpired, LinkInvalid) as exc:
        return link_problem(request, org, exc)
    context = {"org": org, "name": participant.full_name, "token": token}
    return render(request, "public/confirm.html", context, headers=NO_STORE)


@router.post("/o/{org_slug}/confirm/{token}", dependencies=[CsrfChecked])
@commits_in_handler
def confirm_submit(
    request: Request,
    org_slug: str,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    org = service.get_organization(session, org_slug)
    try:
        participant = flows.confirm(session, settings, links, org, token)
    except (LinkExpired, LinkInvalid) as exc:
        return link_problem(request, org, exc)
    manage_token = links.make(
        "manage", participant_id=participant.id, version=participant.link_version
    )
    return RedirectResponse(
        f"/o/{org.slug}/manage/{manage_token}?done=joined", status_code=303, headers=NO_STORE
    )


@router.get("/o/{org_slug}/me", response_class=HTMLResponse)
def request_link_form(request: Request, org_slug: str, session: SessionDep) -> HTMLResponse:
    org = service.get_organization(session, org_slug)
    context = {"org": org, "values": {"email": ""}, "errors": {}}
    return render(request, "public/me.html", context)


@router.post(
    "/o/{org_slug}/me",
    dependencies=[SignupRateLimited, CsrfChecked],
    response_class=HTMLResponse,
)
def request_link_submit(
    request: Request,
    org_slug: str,
    posted: PostedForm,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    org = service.get_organization(session, org_slug)
    raw = posted.get("email")
    raw = raw if isinstance(raw, str) else ""
    try:
        if not raw.strip():
            raise ValueError("is required")
        if len(raw) > 254:
            raise ValueError("is too long (at most 254 characters)")
        email = normalize_email(raw)
    except ValueError as exc:
        context = {"org": org, "values": {"email": raw}, "errors": {"email": str(exc)}}
        return render(request, "public/me.html", context, status_code=422)
    outcome = flows.request_manage_link(session, settings, links, org, email)
    return _after_commit(request, f"/o/{org.slug}/me/sent", outcome.email_keys)


@router.get("/o/{org_slug}/me/sent", response_class=HTMLResponse)
def link_sent(
    request: Request, org_slug: str, session: SessionDep, settings: SettingsDep
) -> HTMLResponse:
    org = service.get_organization(session, org_slug)
    context = {"org": org, "hours": settings.manage_link_hours}
    return render(request, "public/me_sent.html", context)
