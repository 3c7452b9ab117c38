"""The pages behind the links in round emails: can't make it, check-in and follow-up.

Mail scanners open links, so a GET only ever shows a page with a button; the change is a POST
(with a CSRF token) answered with a 303. The token in the URL is the only credential. Pause and
unsubscribe (links that name a person, not a meeting) live in `round_preferences`.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from service.db import utcnow
from service.deps import CsrfChecked, LinksDep, SessionDep, SettingsDep
from service.errors import Conflict, InvalidInput, LinkInvalid
from service.links import LinkSigner
from service.models import Membership
from service.participants import flows
from service.public import round_preferences
from service.public.emailed_links import MembershipLinkDep, read_link, round_link_problem
from service.public.forms import PostedForm
from service.public.round_common import (
    MembershipLink,
    error_items,
    error_page,
    form_text,
    membership_link,
    page,
    see_other,
)
from service.rounds import changes, feedback
from service.text_rules import check_text

router = APIRouter()
router.include_router(round_preferences.router)

MEMBERSHIP_PAGES = ("cant-make-it", "checkin", "follow-up")


# --- can't make it -------------------------------------------------------------------------


def _meeting_over(link: MembershipLink) -> bool:
    start = link.group.meeting_start
    return start is not None and start <= utcnow()


@router.get("/o/{org_slug}/r/{token}/cant-make-it", response_class=HTMLResponse)
def cant_make_it_page(
    request: Request, link: MembershipLinkDep, session: SessionDep, links: LinksDep
) -> Response:
    context = {**link.context(session, links), "meeting_over": _meeting_over(link)}
    return page(request, "cant_make_it.html", context)


@router.post("/o/{org_slug}/r/{token}/cant-make-it", dependencies=[CsrfChecked])
def cant_make_it_submit(
    request: Request,
    link: MembershipLinkDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    done = f"{link.base}/cant-make-it/done"
    if link.membership.status != "invited":
        return see_other(done)  # pressed twice, or a second tab: nothing more to do
    if _meeting_over(link):
        return error_page(
            request,
            Conflict("This meeting has already taken place, so there is nothing to cancel."),
        )
    changes.drop_out(session, settings, links, link.org, link.participant, link.membership)
    keys = _drop_out_email_keys(session, link)
    return see_other(done, background=BackgroundTask(flows.deliver_now, request.app.state, keys))


def _drop_out_email_keys(session: Session, link: MembershipLink) -> list[str]:
    """The cancellation and updated invites drop_out just queued (see service.rounds.invites)."""
    group, sequence = link.group, link.group.ical_sequence
    remaining = session.scalars(
        select(Membership.participant_id).where(
            Membership.group_id == group.id, Membership.status == "invited"
        )
    )
    keys = [f"invite_cancel:{group.id}:{link.participant.id}:{sequence}"]
    keys += [f"invite_update:{group.id}:{pid}:{sequence}" for pid in remaining]
    return keys


@router.get("/o/{org_slug}/r/{token}/{action}/done", response_class=HTMLResponse)
def done_page(
    request: Request, org_slug: str, token: str, action: str, session: SessionDep, links: LinksDep
) -> Response:
    if action not in MEMBERSHIP_PAGES:
        return error_page(request, LinkInvalid("There is no such page."))
    link = read_link(request, session, links, org_slug, token, membership_link, round_link_problem)
    return page(request, "done.html", {**link.context(session, links), "action": action})


# --- check-in ------------------------------------------------------------------------------


def _checkin_values(stored: Any, met: str) -> dict[str, str]:
    values = {"met": "", "rating": "", "learned": ""}
    if stored is not None:
        values.update(
            met="yes" if stored.met else "no" if stored.met is not None else "",
            rating=str(stored.rating or ""),
            learned=stored.learned,
        )
    if met in ("yes", "no"):
        values["met"] = met  # the one-click answer from the email wins over the stored one
    return values


def _form_page(
    request: Request,
    session: Session,
    links: LinkSigner,
    link: MembershipLink,
    kind: Literal["checkin", "followup"],
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    """The check-in or follow-up form, with the meeting it is about and any errors."""
    context = {
        **link.context(session, links),
        "values": values,
        "errors": errors or {},
        "error_items": error_items(errors or {}),
        "max_text": feedback.MAX_TEXT,
    }
    if kind == "checkin":
        context["answered"] = feedback.get_feedback(session, link.membership, kind) is not None
    else:
        context["outcome_labels"] = feedback.OUTCOMES
    return page(request, f"{kind}.html", context, status_code=status_code)


@router.get("/o/{org_slug}/r/{token}/checkin", response_class=HTMLResponse)
def checkin_page(
    request: Request, link: MembershipLinkDep, session: SessionDep, links: LinksDep, met: str = ""
) -> Response:
    stored = feedback.get_feedback(session, link.membership, "checkin")
    values = _checkin_values(stored, met)
    return _form_page(request, session, links, link, "checkin", values)


@router.post("/o/{org_slug}/r/{token}/checkin", dependencies=[CsrfChecked])
def checkin_submit(
    request: Request,
    posted: PostedForm,
    link: MembershipLinkDep,
    session: SessionDep,
    links: LinksDep,
) -> Response:
    if link.membership.status != "invited":
        return error_page(
            request,
            Conflict("You let us know you couldn't make it this month, so there's no check-in."),
        )
    values = {name: form_text(posted, name) for name in ("met", "rating", "learned")}
    errors: dict[str, str] = {}
    if values["met"] not in ("yes", "no"):
        errors["met"] = "Choose yes or no."
    if values["rating"] not in ("", "1", "2", "3", "4", "5"):
        errors["rating"] = "Choose a rating from 1 to 5, or leave it blank."
    if len(values["learned"].strip()) > feedback.MAX_TEXT:
        errors["learned"] = f"Use at most {feedback.MAX_TEXT} characters."
    elif check_text(values["learned"], multi_line=True):
        errors["learned"] = "Remove the control characters (invisible formatting marks)."
    if errors:
        return _form_page(request, session, links, link, "checkin", values, errors, status_code=422)
    feedback.record_checkin(
        session,
        link.membership,
        met=values["met"] == "yes",
        rating=int(values["rating"]) if values["rating"] else None,
        learned=values["learned"],
    )
    return see_other(f"{link.base}/checkin/done")


# --- follow-up -----------------------------------------------------------------------------


@router.get("/o/{org_slug}/r/{token}/follow-up", response_class=HTMLResponse)
def followup_page(
    request: Request, link: MembershipLinkDep, session: SessionDep, links: LinksDep
) -> Response:
    stored = feedback.get_feedback(session, link.membership, "followup")
    values: dict[str, Any] = {"outcomes": [], "comment": ""}
    if stored is not None:
        values = {"outcomes": list(stored.outcomes), "comment": stored.learned}
    return _form_page(request, session, links, link, "followup", values)


@router.post("/o/{org_slug}/r/{token}/follow-up", dependencies=[CsrfChecked])
def followup_submit(
    request: Request,
    posted: PostedForm,
    link: MembershipLinkDep,
    session: SessionDep,
    links: LinksDep,
) -> Response:
    if link.membership.status != "invited":
        return error_page(
            request,
            Conflict("You let us know you couldn't make it this month, so there's no follow-up."),
        )
    outcomes = [v for v in posted.getlist("outcomes") if isinstance(v, str)]
    comment = form_text(posted, "comment")
    values: dict[str, Any] = {"outcomes": outcomes, "comment": comment}
    try:
        feedback.record_followup(session, link.membership, outcomes=outcomes, comment=comment)
    except InvalidInput as exc:
        errors = exc.fields or {"outcomes": exc.message}
        return _form_page(
            request, session, links, link, "followup", values, errors, status_code=422
        )
    return see_other(f"{link.base}/follow-up/done")
