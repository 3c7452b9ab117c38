"""The Participants area: a searchable table, a profile page, and pause / reactivate / remove.

The table is paginated in SQL and "last met" is one grouped query over the page's people, so
the page costs the same with 100 participants or 10,000.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import audit
from service.admin import flash
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.admin.participant_profile import profile_context
from service.admin.participant_table import (
    PAGE_SIZE,
    ParticipantFilters,
    filter_choices,
    last_met_months,
    local_date,
    month_label,
    page_statements,
    parse_page,
)
from service.deps import CsrfChecked, SessionDep
from service.errors import DomainError
from service.models import Membership, Participant
from service.models.participant import STATUSES
from service.participants import service
from service.participants.schemas import ROLE_LABELS, ParticipantUpdate

router = APIRouter(prefix="/admin/o/{slug}/participants")


@router.get("", response_class=HTMLResponse)
def participant_list(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    q: str = "",
    role: str = "",
    department: str = "",
    site: str = "",
    status: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> HTMLResponse:
    org = ctx.org
    filters = ParticipantFilters.from_query(
        q=q, role=role, department=department, site=site, status=status
    )
    number = parse_page(page_number)
    choices = filter_choices(session, org)
    _, values = filters.bound_conditions()
    statements = page_statements(tuple(values))
    params = {"org_id": org.id, **values}
    total = choices.everyone
    if filters.active:
        total = session.scalar(statements.count, params) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    # Plain rows, not Participant objects: the table shows seven columns of 50 people.
    people = session.execute(
        statements.rows, {**params, "limit": PAGE_SIZE, "offset": (number - 1) * PAGE_SIZE}
    ).all()
    last_met = last_met_months(session, org, [p.id for p in people])
    rows = [
        {
            "p": p,
            "joined": local_date(p.created_at, org),
            "last_met": month_label(last_met.get(p.id)),
        }
        for p in people
    ]
    return page(
        request,
        ctx,
        "admin/participants/list.html",
        {
            "rows": rows,
            "filters": filters,
            "total": total,
            "page_number": number,
            "pages": pages,
            "first_shown": (number - 1) * PAGE_SIZE + 1 if rows else 0,
            "last_shown": (number - 1) * PAGE_SIZE + len(rows),
            "prev_query": filters.query_string(page=number - 1) if number > 1 else "",
            "next_query": filters.query_string(page=number + 1) if number < pages else "",
            "export_query": filters.query_string(),
            "roles": ROLE_LABELS,
            "departments": choices.departments,
            "sites": choices.sites,
            "statuses": STATUSES,
        },
        section="participants",
        session=session,
    )


@router.get("/{participant_id:int}", response_class=HTMLResponse)
def participant_profile(
    request: Request, ctx: OrgDep, session: SessionDep, participant_id: int
) -> HTMLResponse:
    participant = service.get_participant(session, ctx.org, participant_id)
    return page(
        request,
        ctx,
        "admin/participants/profile.html",
        profile_context(session, ctx, participant),
        section="participants",
        session=session,
    )


def _status_snapshot(p: Participant) -> dict[str, object]:
    return {"status": p.status, "paused_until": p.paused_until, "left_at": p.left_at}


def _record(
    session: Session, ctx: AdminContext, p: Participant, action: str, before: dict[str, object]
) -> None:
    old, new = audit.changes(before, _status_snapshot(p))
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action=action,
        target_type="participant",
        target_id=p.id,
        before=old,
        after=new,
    )


def _profile_url(ctx: AdminContext, participant_id: int) -> str:
    return f"/admin/o/{ctx.org.slug}/participants/{participant_id}"


@router.post("/{participant_id:int}/pause", dependencies=[CsrfChecked])
def pause_participant(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    participant_id: int,
    months: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    p = service.get_participant(session, ctx.org, participant_id)
    before = _status_snapshot(p)
    try:
        until = service.pause(p, int(months) if months.strip().isdigit() else 0)
    except DomainError as exc:
        return flash.redirect(request, _profile_url(ctx, p.id), exc.message, "error")
    _record(session, ctx, p, "participant.pause", before)
    return flash.redirect(
        request, _profile_url(ctx, p.id), f"{p.full_name} is paused until {until:%d %B %Y}."
    )


@router.post("/{participant_id:int}/reactivate", dependencies=[CsrfChecked])
def reactivate_participant(
    request: Request, ctx: OrgDep, session: SessionDep, participant_id: int
) -> Response:
    p = service.get_participant(session, ctx.org, participant_id)
    if p.status not in ("paused", "left"):
        return flash.redirect(
            request,
            _profile_url(ctx, p.id),
            f"Only a paused participant or one who left can be reactivated ({p.status} now).",
            "error",
        )
    before = _status_snapshot(p)
    service.update_from_api(p, ParticipantUpdate(status="active"))
    p.left_at = None
    session.flush()
    _record(session, ctx, p, "participant.reactivate", before)
    return flash.redirect(
        request, _profile_url(ctx, p.id), f"{p.full_name} is active again from the next round."
    )


@router.get("/{participant_id:int}/remove", response_class=HTMLResponse)
def remove_form(
    request: Request, ctx: OrgDep, session: SessionDep, participant_id: int
) -> HTMLResponse:
    p = service.get_participant(session, ctx.org, participant_id)
    return _remove_page(request, ctx, session, p, error="", typed="")


def _remove_page(
    request: Request,
    ctx: AdminContext,
    session: Session,
    p: Participant,
    *,
    error: str,
    typed: str,
    status_code: int = 200,
) -> HTMLResponse:
    has_history = session.scalar(
        select(Membership.id).where(Membership.participant_id == p.id).limit(1)
    )
    return page(
        request,
        ctx,
        "admin/participants/remove.html",
        {"p": p, "error": error, "typed": typed, "has_history": has_history is not None},
        section="participants",
        session=session,
        status_code=status_code,
    )


@router.post("/{participant_id:int}/remove", dependencies=[CsrfChecked])
def remove_participant(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    participant_id: int,
    confirm_email: Annotated[str, Form(max_length=254)] = "",
    confirmed: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    p = service.get_participant(session, ctx.org, participant_id)
    if confirmed != "yes" and confirm_email.strip().lower() != p.email:
        return _remove_page(
            request,
            ctx,
            session,
            p,
            error="To remove this person, type their email address exactly or tick the box.",
            typed=confirm_email,
            status_code=422,
        )
    # The log keeps no name or email: the point of removing is that they are gone.
    before = {"status": p.status}
    target_id, name = p.id, p.full_name
    service.erase(session, p)
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="participant.remove",
        target_type="participant",
        target_id=target_id,
        before=before,
        after={"status": "deleted"},
    )
    return flash.redirect(
        request,
        f"/admin/o/{ctx.org.slug}/participants",
        f"{name}'s personal data is deleted.",
    )
