"""Rounds: the next round's preview (re-run, move people, approve & send) and past rounds."""

from __future__ import annotations

import secrets
from math import ceil
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import delete, select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask

from service import audit
from service.admin import flash
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.admin.round_data import (
    email_counts,
    emails_by_person,
    feedback_by_membership,
    next_round_month,
    not_matched_emails,
    round_rows,
)
from service.db import utcnow
from service.deps import CsrfChecked, LinksDep, SessionDep, SettingsDep
from service.errors import DomainError, NotFound
from service.models import MatchGroup, Membership, OutboxMessage, Round
from service.participants.flows import deliver_now
from service.participants.schemas import ROLE_LABELS
from service.rounds.changes import move_member
from service.rounds.create import create_round, send_round
from service.rounds.feedback import round_feedback_summary
from service.rounds.quality import count_groups, load_groups, round_quality
from service.rounds.timing import format_local, month_label, round_due_at

router = APIRouter(prefix="/admin/o/{slug}/rounds")

GROUPS_PER_PAGE = 50
ROUNDS_LISTED = 36


def _url(ctx: AdminContext, path: str = "") -> str:
    return f"/admin/o/{ctx.org.slug}/rounds{path}"


def _round(session: Session, ctx: AdminContext, round_id: int) -> Round:
    round_ = session.get(Round, round_id)
    if round_ is None or round_.organization_id != ctx.org.id:
        raise NotFound("No such round.")
    return round_


def _new_seed(old: int) -> int:
    return (old + 1 + secrets.randbelow(2**30)) % 2**31


@router.get("", response_class=HTMLResponse)
def index(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    org = ctx.org
    month = next_round_month(session, org, utcnow())
    upcoming = session.scalar(
        select(Round).where(Round.organization_id == org.id, Round.month == month)
    )
    rounds = list(
        session.scalars(
            select(Round)
            .where(Round.organization_id == org.id)
            .order_by(Round.month.desc())
            .limit(ROUNDS_LISTED)
        )
    )
    previews = [r for r in rounds if r.status == "preview"]
    return page(
        request,
        ctx,
        "admin/rounds/index.html",
        {
            "next_month": month,
            "next_month_label": month_label(month),
            "next_due": format_local(round_due_at(org, month), org.timezone),
            "upcoming": upcoming,
            "previews": previews,
            "rows": round_rows(session, org, [r for r in rounds if r.status != "preview"]),
            "month_label": month_label,
        },
        section="rounds",
        session=session,
    )


@router.post("/prepare", dependencies=[CsrfChecked])
def prepare(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> RedirectResponse:
    month = next_round_month(session, ctx.org, utcnow())
    seed = _new_seed(0)
    run = create_round(session, settings, links, ctx.org, month, seed=seed, send=False)
    if not run.created:
        return flash.redirect(
            request, _url(ctx, f"/{run.round.id}"), f"The {month} round exists already.", "info"
        )
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="round.preview",
        target_type="round",
        target_id=run.round.id,
        after={"month": month, "seed": seed, "groups": len(run.plan.groups) if run.plan else 0},
    )
    return flash.redirect(
        request, _url(ctx, f"/{run.round.id}"), f"Preview of the {month_label(month)} round ready."
    )


@router.post("/{round_id}/rerun", dependencies=[CsrfChecked])
def rerun(
    request: Request,
    round_id: int,
    ctx: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> RedirectResponse:
    round_ = _round(session, ctx, round_id)
    if round_.status != "preview":
        return flash.redirect(
            request, _url(ctx, f"/{round_.id}"), "Only a preview can be re-run.", "error"
        )
    month, old_seed = round_.month, round_.seed
    seed = _new_seed(old_seed)
    session.execute(delete(Membership).where(Membership.round_id == round_.id))
    session.execute(delete(MatchGroup).where(MatchGroup.round_id == round_.id))
    session.execute(delete(Round).where(Round.id == round_.id))
    session.expunge(round_)
    run = create_round(session, settings, links, ctx.org, month, seed=seed, send=False)
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="round.rerun",
        target_type="round",
        target_id=run.round.id,
        before={"round_id": round_id, "seed": old_seed},
        after={"round_id": run.round.id, "seed": seed},
    )
    return flash.redirect(
        request, _url(ctx, f"/{run.round.id}"), "Groups made again with another seed."
    )


@router.post("/{round_id}/move", dependencies=[CsrfChecked])
def move(
    request: Request,
    round_id: int,
    ctx: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
    membership_id: Annotated[int, Form()],
    target: Annotated[str, Form(max_length=12)] = "",
    page_number: Annotated[int, Form(alias="page")] = 1,
) -> RedirectResponse:
    round_ = _round(session, ctx, round_id)
    back = _url(ctx, f"/{round_.id}?page={max(1, page_number)}")
    membership = session.get(Membership, membership_id)
    if membership is None or membership.round_id != round_.id:
        raise NotFound("No such person in this round.")
    number = int(target) if target.strip().isdigit() else None
    group = (
        session.scalar(
            select(MatchGroup).where(MatchGroup.round_id == round_.id, MatchGroup.number == number)
        )
        if number is not None
        else None
    )
    if group is None:
        return flash.redirect(
            request, back, f"There is no group {target[:12]!r} in this round.", "error"
        )
    old_number = session.get(MatchGroup, membership.group_id).number  # type: ignore[union-attr]
    try:
        done = move_member(session, settings, links, ctx.org, membership, group)
    except DomainError as exc:
        return flash.redirect(request, back, exc.message, "error")
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="round.move_member",
        target_type="participant",
        target_id=membership.participant_id,
        before={"round": round_.month, "group": old_number},
        after={"round": round_.month, "group": group.number, "emails_queued": done.emails_queued},
    )
    message = f"Moved to group {group.number}."
    if done.emails_queued:
        message += f" {done.emails_queued} updated invitations queued."
    return flash.redirect(request, back, message)


@router.post("/{round_id}/approve", dependencies=[CsrfChecked])
def approve(
    request: Request,
    round_id: int,
    ctx: OrgDep,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> RedirectResponse:
    round_ = _round(session, ctx, round_id)
    if round_.status not in ("preview", "approved"):
        return flash.redirect(
            request, _url(ctx, f"/{round_.id}"), f"This round is {round_.status} already.", "info"
        )
    started = utcnow()
    queued = send_round(session, settings, links, ctx.org, round_)
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="round.approve",
        target_type="round",
        target_id=round_.id,
        before={"status": "preview"},
        after={"status": round_.status, "emails_queued": queued},
    )
    keys = list(
        session.scalars(
            select(OutboxMessage.idempotency_key).where(
                OutboxMessage.organization_id == ctx.org.id,
                OutboxMessage.status == "pending",
                OutboxMessage.created_at >= started,
            )
        )
    )
    response = flash.redirect(
        request, _url(ctx, f"/{round_.id}"), f"Round approved: {queued} emails are on their way."
    )
    # After the commit (the session dependency commits before the response is sent).
    response.background = BackgroundTask(deliver_now, request.app.state, keys)
    return response


@router.post("/{round_id}/emails/{outbox_id}/resend", dependencies=[CsrfChecked])
def resend(
    request: Request, round_id: int, outbox_id: int, ctx: OrgDep, session: SessionDep
) -> RedirectResponse:
    round_ = _round(session, ctx, round_id)
    row = session.get(OutboxMessage, outbox_id)
    if row is None or row.organization_id != ctx.org.id:
        raise NotFound("No such email.")
    back = _url(ctx, f"/{round_.id}")
    if row.status != "failed":
        return flash.redirect(request, back, f"That email is {row.status}, not failed.", "info")
    before = {"status": row.status, "attempts": row.attempts, "last_error": row.last_error}
    row.status = "pending"
    row.next_attempt_at = utcnow()
    row.lease_until = None
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="email.resend",
        target_type="outbox_message",
        target_id=row.id,
        before=before,
        after={"status": "pending", "to": row.to_address, "kind": row.kind},
    )
    return flash.redirect(request, back, f"The email to {row.to_address} will be sent again.")


@router.get("/{round_id}", response_class=HTMLResponse)
def detail(
    request: Request,
    round_id: int,
    ctx: OrgDep,
    session: SessionDep,
    page_number: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> HTMLResponse:
    org = ctx.org
    round_ = _round(session, ctx, round_id)
    n_groups = count_groups(session, round_)
    pages = max(1, ceil(n_groups / GROUPS_PER_PAGE))
    page_number = min(page_number, pages)
    # Figures over every group; names, emails and feedback only for the page shown.
    shown = load_groups(
        session, round_, offset=(page_number - 1) * GROUPS_PER_PAGE, limit=GROUPS_PER_PAGE
    )
    context: dict[str, Any] = {
        "round": round_,
        "label": month_label(round_.month),
        "quality": round_quality(session, org, round_),
        "groups": shown,
        "page_number": page_number,
        "pages": pages,
        "n_groups": n_groups,
        "roles": ROLE_LABELS,
        "when": lambda moment: format_local(moment, org.timezone) if moment else "—",
        "warnings": list(round_.stats.get("warnings", []) or []),
        "unplaced": int(round_.stats.get("unplaced", 0) or 0),
    }
    if round_.status == "preview":
        template = "admin/rounds/preview.html"
    else:
        template = "admin/rounds/detail.html"
        membership_ids = [m.membership_id for v in shown for m in v.members]
        context.update(
            emails=emails_by_person(
                session,
                org,
                round_,
                [v.group.id for v in shown],
                membership_ids,
                [m.id for v in shown for m in v.members],
            ),
            feedback=feedback_by_membership(session, membership_ids),
            summary=round_feedback_summary(session, round_),
            # Every email of the round by status; each person's are listed with their group.
            email_totals=email_counts(session, org, [round_.id])[round_.id],
            not_matched=not_matched_emails(session, org, round_),
            # Free text is for the hospital's own wellness leads, not visiting super admins.
            show_text=ctx.account.organization_id == org.id,
        )
    return page(request, ctx, template, context, section="rounds", session=session)
