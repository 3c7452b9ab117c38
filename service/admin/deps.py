"""Who is signed in, and which organization a page is about.

Every organization page lives under /admin/o/{slug}/: an organization admin of another
hospital gets a 404 for it (not a 403: we do not confirm that it exists).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import select

from service.admin import sessions
from service.deps import SessionDep
from service.errors import LoginRequired, NotFound
from service.models import AdminAccount, Organization


def cookie_name(request: Request) -> str:
    # __Host- cookies must be Secure, which browsers refuse over plain http (local demo).
    return (
        "__Host-cr_admin" if request.app.state.settings.base_url.startswith("https") else "cr_admin"
    )


def current_account(request: Request, session: SessionDep) -> AdminAccount:
    raw = request.cookies.get(cookie_name(request), "")
    account = sessions.resume(session, raw)
    if account is None:
        path = request.url.path if request.method == "GET" else "/admin"
        raise LoginRequired(path)
    request.state.admin = account
    return account


AccountDep = Annotated[AdminAccount, Depends(current_account)]


@dataclass(frozen=True)
class AdminContext:
    account: AdminAccount
    org: Organization

    @property
    def actor(self) -> str:
        return self.account.email


def org_context(slug: str, account: AccountDep, session: SessionDep) -> AdminContext:
    org = session.scalar(select(Organization).where(Organization.slug == slug))
    if org is None or not (account.is_super or account.organization_id == org.id):
        raise NotFound("No such organization.")
    return AdminContext(account, org)


OrgDep = Annotated[AdminContext, Depends(org_context)]
