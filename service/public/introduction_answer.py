"""The pages behind the links of introduction emails: a colleague accepts or declines an
ask, and after the call either side says whether they met.

Mail scanners open links, so a GET only shows the page; every change is a POST with a CSRF
token, answered with a 303 to a thank-you page. Answering twice is harmless. The token in the
URL is the only credential, so every page is `no-store`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from service.db import utcnow
from service.deps import CsrfChecked, LinksDep, SessionDep, SettingsDep
from service.errors import Conflict
from service.introductions import asking, meeting
from service.introductions.emails import describe, format_day
from service.introductions.links import IntroLink
from service.models import Participant
from service.participants import flows
from service.public.emailed_links import IntroLinkDep
from service.public.forms import NO_STORE, PostedForm
from service.public.round_common import error_page, form_text
from service.rounds.timing import format_local
from service.templating import render

router = APIRouter()


def state_of(link: IntroLink) -> str:
    """What the page shows: ask, expired, withdrawn, declined, accepted or waiting."""
    request, ask = link.request, link.ask
    if ask is None:
        return "accepted" if request.status == "accepted" else "waiting"
    if ask.status == "asked":
        if request.status != "open":
            return "withdrawn"
        return "ask" if asking.is_answerable(ask, now=utcnow()) else "expired"
    return {"accepted": "accepted", "declined": "declined", "expired": "expired"}.get(
        ask.status, "withdrawn"
    )


def _other(session: Session, link: IntroLink) -> Participant | None:
    """The other side of an accepted introduction (never shown before the accept)."""
    request = link.request
    if request.status != "accepted":
        return None
    if link.ask is not None:
        return session.get(Participant, request.requester_id)
    accepted = next((a for a in request.asks if a.status == "accepted"), None)
    return session.get(Participant, accepted.candidate_id) if accepted is not None else None


def _context(session: Session, link: IntroLink) -> dict[str, Any]:
    request, me = link.request, link.participant
    state = state_of(link)
    context: dict[str, Any] = {
        "org": link.org,
        "participant": me,
        "base": link.base,
        "state": state,
        "need": request.need,
        "skill": request.skill,
        "specialty": request.specialty,
        "site": request.site,
        "met": request.met,
        "can_say_met": False,
    }
    if state == "ask" and link.ask is not None:
        requester = session.get(Participant, request.requester_id)
        context["requester_description"] = describe(requester) if requester else "a colleague"
        context["answer_by"] = format_day(link.ask.expires_at, me.timezone)
    other = _other(session, link) if state == "accepted" else None
    if other is not None:
        context["other"] = {"name": other.full_name, "email": other.email, "about": describe(other)}
        if request.meeting_start is not None:
            context["meeting_start_local"] = format_local(request.meeting_start, me.timezone)
        context["meeting_url"] = request.meeting_url
        context["can_say_met"] = meeting.can_say_met(request, now=utcnow())
    return context


def _page(
    request: Request,
    context: dict[str, Any],
    *,
    template: str = "public/introduction_answer.html",
    status_code: int = 200,
) -> HTMLResponse:
    return render(request, template, context, status_code=status_code, headers=NO_STORE)


@router.get("/o/{org_slug}/intro/{token}", response_class=HTMLResponse)
def answer_page(
    request: Request, link: IntroLinkDep, session: SessionDep, answer: str = "", met: str = ""
) -> Response:
    context = _context(session, link)
    context.update(
        answer=answer if answer in ("accept", "decline") else "",
        values={"met": met if met in ("yes", "no") else ""},
        errors={},
    )
    return _page(request, context)


def _see_other(request: Request, url: str, keys: list[str] | None = None) -> RedirectResponse:
    task = BackgroundTask(flows.deliver_now, request.app.state, keys) if keys else None
    return RedirectResponse(url, status_code=303, headers=NO_STORE, background=task)


@router.post("/o/{org_slug}/intro/{token}/accept", dependencies=[CsrfChecked])
def accept_submit(
    request: Request,
    link: IntroLinkDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    if link.ask is None:
        return _see_other(request, link.base)
    keys = meeting.accept(session, settings, links, link)
    return _see_other(request, f"{link.base}/thanks", keys)


@router.post("/o/{org_slug}/intro/{token}/decline", dependencies=[CsrfChecked])
def decline_submit(
    request: Request,
    posted: PostedForm,
    link: IntroLinkDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    if link.ask is None:
        return _see_other(request, link.base)
    stop = form_text(posted, "stop_asking") == "yes"
    keys = asking.decline(session, settings, links, link.org, link.ask, stop_asking=stop)
    return _see_other(request, f"{link.base}/thanks", keys)


@router.post("/o/{org_slug}/intro/{token}/met", dependencies=[CsrfChecked])
def met_submit(
    request: Request, posted: PostedForm, link: IntroLinkDep, session: SessionDep
) -> Response:
    answer = form_text(posted, "met")
    if answer not in ("yes", "no"):
        context = _context(session, link)
        context.update(answer="", values={"met": ""}, errors={"met": "Choose yes or no."})
        return _page(request, context, status_code=422)
    try:
        meeting.record_met(session, link, met=answer == "yes")
    except Conflict as exc:
        return error_page(request, exc)
    return _see_other(request, f"{link.base}/thanks?done=met")


@router.get("/o/{org_slug}/intro/{token}/thanks", response_class=HTMLResponse)
def thanks_page(
    request: Request, link: IntroLinkDep, session: SessionDep, done: str = ""
) -> Response:
    context = _context(session, link)
    context["done"] = "met" if done == "met" else ""
    return _page(request, context, template="public/introduction_thanks.html")
