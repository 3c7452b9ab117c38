"""Participation records for wellness leads: a CSV of who took part in which chats and
introductions over a range of months.

Only people who left "Include me in participation exports" ticked are in it. It carries no
reflections (they belong to the person who wrote them) and no colleagues' names: the people
someone met appear as departments only. Every download is written to the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from service import audit
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.db import utcnow
from service.deps import SessionDep
from service.models import Organization, Participant
from service.participation import entries_by_person
from service.participation.csv_output import ORGANIZATION_COLUMNS, organization_csv
from service.rounds.jobs import current_month
from service.rounds.timing import parse_month

router = APIRouter(prefix="/admin/o/{slug}")

FIELD_LABELS = {"start": "From month", "end": "To month"}
MONTH_HINT = "A month like 2026-03."
MAX_MONTHS = 120


def _months_back(month: str, count: int) -> str:
    year, mon = parse_month(month)
    index = year * 12 + mon - 1 - count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def validate_range(start: str, end: str) -> dict[str, str]:
    """{field: message} for a bad range; empty when `start`..`end` is usable."""
    errors: dict[str, str] = {}
    for name, value in (("start", start), ("end", end)):
        if not value:
            errors[name] = f"{FIELD_LABELS[name]} is required."
            continue
        try:
            parse_month(value)
        except ValueError:
            errors[name] = f"{FIELD_LABELS[name]} must be a month like 2026-03."
    if not errors:
        if end < start:
            errors["end"] = "To month must be the same as or after the From month."
        elif _months_back(end, MAX_MONTHS - 1) > start:
            errors["end"] = f"Choose at most {MAX_MONTHS} months at a time."
    return errors


def _consenting(org: Organization) -> Select[tuple[int]]:
    return select(Participant.id).where(
        Participant.organization_id == org.id,
        Participant.status != "deleted",
        Participant.include_in_exports.is_(True),
    )


def _opted_out(session: Session, org: Organization) -> int:
    return session.scalar(
        select(func.count())
        .select_from(Participant)
        .where(
            Participant.organization_id == org.id,
            Participant.status != "deleted",
            Participant.include_in_exports.is_(False),
        )
    ) or 0


def _form_page(
    request: Request,
    ctx: AdminContext,
    session: Session,
    values: dict[str, str],
    errors: dict[str, str],
    *,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        ctx,
        "admin/participation/index.html",
        {
            "values": values,
            "errors": errors,
            "opted_out": _opted_out(session, ctx.org),
            "columns": ORGANIZATION_COLUMNS,
        },
        section="participants",
        session=session,
        status_code=status_code,
    )


@router.get("/participation", response_class=HTMLResponse)
def participation_form(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    end = current_month(ctx.org, utcnow())
    values = {"start": _months_back(end, 11), "end": end}
    return _form_page(request, ctx, session, values, {})


@router.get("/participation.csv", response_model=None)
def participation_csv(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    start: Annotated[str, Query(max_length=40)] = "",
    end: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    start, end = start.strip(), end.strip()
    errors = validate_range(start, end)
    if errors:
        values = {"start": start, "end": end}
        return _form_page(request, ctx, session, values, errors, status_code=422)
    org = ctx.org
    entries = entries_by_person(session, org, _consenting(org), start=start, end=end)
    people = session.scalars(
        select(Participant)
        .where(Participant.id.in_(_consenting(org)))
        .order_by(Participant.full_name, Participant.id)
    )
    text, rows = organization_csv((p, entries[p.id]) for p in people if p.id in entries)
    audit.record(
        session,
        org=org,
        actor=ctx.actor,
        action="participation.export",
        target_type="participation",
        after={"start": start, "end": end, "people": len(entries), "rows": rows},
    )
    filename = f"participation-{org.slug}-{start}-to-{end}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )

