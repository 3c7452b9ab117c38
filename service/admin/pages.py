"""Rendering admin pages: the layout needs the account, the organization and the flash."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin import flash
from service.admin.deps import AdminContext
from service.models import Organization
from service.templating import render

NAV = (
    ("overview", "Overview", ""),
    ("participants", "Participants", "participants"),
    ("rounds", "Rounds", "rounds"),
    ("topics", "Topics", "topics"),
    ("library", "Library", "library"),
    ("impact", "Impact", "impact"),
    ("settings", "Settings", "settings"),
    ("audit", "Audit log", "audit"),
)


def page(
    request: Request,
    ctx: AdminContext,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    section: str,
    session: Session | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    orgs: list[Organization] = []
    if ctx.account.is_super and session is not None:
        orgs = list(session.scalars(select(Organization).order_by(Organization.name)))
    response = render(
        request,
        template,
        {
            "account": ctx.account,
            "org": ctx.org,
            "orgs": orgs,
            "nav": NAV,
            "section": section,
            "base": f"/admin/o/{ctx.org.slug}",
            "flash": flash.pop(request),
            **(context or {}),
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )
    if getattr(request.state, "clear_flash", False):
        response.delete_cookie(flash.COOKIE, path="/admin")
    return response
