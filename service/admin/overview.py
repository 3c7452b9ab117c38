"""The dashboard's landing page for one organization, and switching organizations."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import func, select

from service.admin.deps import AccountDep, OrgDep
from service.admin.pages import page
from service.db import utcnow
from service.deps import SessionDep
from service.errors import NotFound
from service.models import OutboxMessage, Participant, Round
from service.rounds.jobs import current_month
from service.rounds.timing import round_due_at

router = APIRouter(prefix="/admin")


@router.get("/switch")
def switch(slug: str, account: AccountDep) -> RedirectResponse:
    if not account.is_super:
        raise NotFound("No such page.")
    return RedirectResponse(f"/admin/o/{slug[:64]}", status_code=303)


@router.get("/o/{slug}", response_class=HTMLResponse)
def overview(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    org = ctx.org
    counts = dict(
        session.execute(
            select(Participant.status, func.count())
            .where(Participant.organization_id == org.id)
            .group_by(Participant.status)
        ).all()
    )
    last_round = session.scalar(
        select(Round).where(Round.organization_id == org.id).order_by(Round.month.desc()).limit(1)
    )
    failed = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.organization_id == org.id, OutboxMessage.status == "failed")
    )
    month = current_month(org, utcnow())
    return page(
        request,
        ctx,
        "admin/overview.html",
        {
            "counts": counts,
            "last_round": last_round,
            "failed_emails": failed or 0,
            "next_round_month": month,
            "next_round_at": round_due_at(org, month),
        },
        section="overview",
        session=session,
    )
