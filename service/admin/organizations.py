"""Super admins: every organization, creating new ones, and inviting their wellness leads."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import accounts, audit
from service.admin import flash
from service.admin.deps import AccountDep
from service.admin.login import issue_password_link
from service.deps import CsrfChecked, SessionDep, SettingsDep
from service.errors import DomainError, InvalidInput, NotFound
from service.models import AdminAccount, Organization, Participant
from service.organizations import create_organization, parse_domains
from service.participants.flows import deliver_now
from service.participants.schemas import known_timezones
from service.templating import render

router = APIRouter(prefix="/admin/organizations")
INVITE_LIFETIME = timedelta(days=3)
COMMON_ZONES = (
    "America/New_York",
    "America/Chicago",
    "America/Denver",
    "America/Los_Angeles",
    "Europe/London",
    "Europe/Berlin",
    "Australia/Sydney",
    "UTC",
)


def _super(account: AdminAccount) -> AdminAccount:
    if not account.is_super:
        raise NotFound("No such page.")  # organization admins do not learn it exists
    return account


def _page(
    request: Request,
    session: Session,
    account: AdminAccount,
    *,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    counts = dict(
        session.execute(
            select(Participant.organization_id, func.count())
            .where(Participant.status.in_(("active", "paused")))
            .group_by(Participant.organization_id)
        ).all()
    )
    admins: dict[int, list[str]] = {}
    for org_id, email in session.execute(
        select(AdminAccount.organization_id, AdminAccount.email).order_by(AdminAccount.email)
    ):
        if org_id is not None:
            admins.setdefault(org_id, []).append(email)
    return render(
        request,
        "admin/organizations.html",
        {
            "account": account,
            "orgs": list(session.scalars(select(Organization).order_by(Organization.name))),
            "counts": counts,
            "admins": admins,
            "zones": [*COMMON_ZONES, *sorted(known_timezones() - set(COMMON_ZONES))],
            "values": values or {"timezone": "America/New_York"},
            "errors": errors or {},
            "flash": flash.pop(request),
        },
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


@router.get("", response_class=HTMLResponse)
def index(request: Request, account: AccountDep, session: SessionDep) -> HTMLResponse:
    return _page(request, session, _super(account))


@router.post("", dependencies=[CsrfChecked], response_class=HTMLResponse)
def create(
    request: Request,
    account: AccountDep,
    session: SessionDep,
    slug: Annotated[str, Form(max_length=100)] = "",
    name: Annotated[str, Form(max_length=300)] = "",
    timezone: Annotated[str, Form(max_length=64)] = "",
    domains: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    _super(account)
    values = {"slug": slug, "name": name, "timezone": timezone, "domains": domains}
    try:
        org = create_organization(
            session, slug=slug, name=name, timezone=timezone, domains=parse_domains(domains)
        )
    except InvalidInput as exc:
        return _page(request, session, account, values=values, errors=exc.fields, status_code=422)
    audit.record(
        session,
        org=org,
        actor=account.email,
        action="organization.create",
        target_type="organization",
        target_id=org.id,
        after={"slug": org.slug, "name": org.name, "timezone": org.timezone},
    )
    return flash.redirect(
        request,
        "/admin/organizations",
        f"Created {org.name}. Its signup page is /o/{org.slug}/join.",
    )


@router.post("/{slug}/admins", dependencies=[CsrfChecked])
def invite_admin(
    request: Request,
    slug: str,
    account: AccountDep,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    """A new wellness lead gets an emailed link to choose their own password."""
    _super(account)
    org = session.scalar(select(Organization).where(Organization.slug == slug[:64]))
    if org is None:
        raise NotFound("No such organization.")
    try:
        lead = accounts.create_admin(
            session, email=email, password=secrets.token_urlsafe(32), organization=org
        )
    except DomainError as exc:
        return flash.redirect(request, "/admin/organizations", exc.message, "error")
    key = issue_password_link(session, settings, lead, lifetime=INVITE_LIFETIME)
    audit.record(
        session,
        org=org,
        actor=account.email,
        action="admin.invite",
        target_type="admin",
        target_id=lead.id,
        after={"email": lead.email},
    )
    session.commit()
    background.add_task(deliver_now, request.app.state, [key])
    return flash.redirect(
        request,
        "/admin/organizations",
        f"Invited {lead.email} to run {org.name}: they got an email to choose a password.",
    )
