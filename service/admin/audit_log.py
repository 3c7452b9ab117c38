"""The audit log page: every admin action in this organization, newest first, filterable."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from service.admin.deps import OrgDep
from service.admin.pages import page
from service.admin.participant_table import PAGE_SIZE, parse_page
from service.deps import SessionDep
from service.models import AuditEvent, Organization

router = APIRouter(prefix="/admin/o/{slug}/audit")

FILTERS = ("actor", "action", "target_type")


def show_value(value: object) -> str:
    """A stored before/after value as a short readable text."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return "; ".join(str(item) for item in value) or "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}={v}" for k, v in value.items()) or "—"
    return str(value)


def diff(event: AuditEvent) -> list[dict[str, str]]:
    """One line per field: name, value before, value after (fields in the order first seen)."""
    before = event.before or {}
    after = event.after or {}
    keys = list(dict.fromkeys([*before, *after]))
    return [
        {
            "field": key,
            "before": show_value(before.get(key)) if key in before else "",
            "after": show_value(after.get(key)) if key in after else "",
        }
        for key in keys
    ]


def _target_url(slug: str, event: AuditEvent) -> str:
    if event.target_type == "participant" and event.target_id.isdigit():
        return f"/admin/o/{slug}/participants/{event.target_id}"
    return ""


def _choices(session: Session, org: Organization, column: Any) -> list[str]:
    return list(
        session.scalars(
            select(column)
            .where(AuditEvent.organization_id == org.id, column != "")
            .distinct()
            .order_by(column)
        )
    )


@router.get("", response_class=HTMLResponse)
def audit_log(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    actor: str = "",
    action: str = "",
    target_type: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> HTMLResponse:
    org = ctx.org
    chosen = {"actor": actor.strip()[:254], "action": action.strip()[:64],
              "target_type": target_type.strip()[:32]}
    where: list[ColumnElement[bool]] = [AuditEvent.organization_id == org.id]
    where += [getattr(AuditEvent, name) == value for name, value in chosen.items() if value]
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(parse_page(page_number), pages)
    events = session.scalars(
        select(AuditEvent)
        .where(*where)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
        .limit(PAGE_SIZE)
        .offset((number - 1) * PAGE_SIZE)
    )
    zone = ZoneInfo(org.timezone)
    rows = [
        {
            "when": event.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
            "actor": event.actor,
            "action": event.action,
            "target": f"{event.target_type} {event.target_id}".strip(),
            "target_url": _target_url(org.slug, event),
            "diff": diff(event),
        }
        for event in events
    ]
    kept = {name: value for name, value in chosen.items() if value}

    def query(page_to: int) -> str:
        return urlencode({**kept, "page": page_to})

    return page(
        request,
        ctx,
        "admin/audit/list.html",
        {
            "rows": rows,
            "chosen": chosen,
            "filtered": bool(kept),
            "total": total,
            "page_number": number,
            "pages": pages,
            "prev_query": query(number - 1) if number > 1 else "",
            "next_query": query(number + 1) if number < pages else "",
            "actors": _choices(session, org, AuditEvent.actor),
            "actions": _choices(session, org, AuditEvent.action),
            "target_types": _choices(session, org, AuditEvent.target_type),
            "timezone": org.timezone,
        },
        section="audit",
        session=session,
    )
