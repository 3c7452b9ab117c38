"""The start page: what Coffee Rounds is, and where each hospital's programme is joined."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from service.deps import SessionDep
from service.models import Organization
from service.templating import render

router = APIRouter()


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: SessionDep) -> HTMLResponse:
    organizations = session.scalars(select(Organization).order_by(Organization.name)).all()
    return render(request, "public/home.html", {"organizations": organizations})
