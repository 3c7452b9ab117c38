"""Sign in, sign out, and password reset by a single-use emailed link."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, BackgroundTasks, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from service import accounts, audit, outbox
from service.admin import flash, sessions
from service.admin.deps import AccountDep, cookie_name
from service.config import Settings
from service.db import utcnow
from service.deps import CsrfChecked, SessionDep, SettingsDep
from service.errors import DomainError, LinkInvalid
from service.models import AdminAccount, Organization, PasswordReset
from service.participants.flows import deliver_now
from service.rate_limit import AdminRateLimited, may_email_password_reset
from service.templating import render
from service.text_rules import check_text

router = APIRouter(prefix="/admin")
RESET_LIFETIME = timedelta(hours=1)
NO_STORE = {"Cache-Control": "no-store"}


def _safe_next(target: str | None) -> str:
    # Only same-site admin paths: never an open redirect.
    if not target or not target.startswith("/admin") or urlsplit(target).netloc or "//" in target:
        return "/admin"
    return target


@router.get("")
def admin_home(account: AccountDep, session: SessionDep) -> RedirectResponse:
    if account.organization_id is not None:
        org = session.get(Organization, account.organization_id)
        if org is not None:
            return RedirectResponse(f"/admin/o/{org.slug}", status_code=303)
    first = session.scalar(select(Organization).order_by(Organization.name))
    if first is None:
        return RedirectResponse("/admin/organizations", status_code=303)
    return RedirectResponse(f"/admin/o/{first.slug}", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/admin") -> Response:  # noqa: A002
    return render(
        request,
        "admin/login.html",
        {"next": _safe_next(next), "error": "", "email": "", "flash": flash.pop(request)},
        headers=NO_STORE,
    )


@router.post("/login", dependencies=[AdminRateLimited, CsrfChecked])
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form(max_length=254)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=500)] = "/admin",  # noqa: A002
) -> Response:
    # No account has an address with control characters (and PostgreSQL cannot look one up).
    valid = check_text(email) is None
    account = sessions.authenticate(session, email=email, password=password) if valid else None
    if account is None:
        session.commit()  # keep the failure count even though we answer with an error
        return render(
            request,
            "admin/login.html",
            {
                "next": _safe_next(next),
                "email": email,
                "error": "That email and password do not match, or the account is locked "
                "for a while after too many attempts.",
                "flash": None,
            },
            status_code=401,
            headers=NO_STORE,
        )
    raw = sessions.start(session, account)
    audit.record(
        session,
        org=session.get(Organization, account.organization_id) if account.organization_id else None,
        actor=account.email,
        action="login",
        target_type="admin",
        target_id=account.id,
    )
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        cookie_name(request),
        raw,
        httponly=True,
        secure=request.app.state.settings.base_url.startswith("https"),
        samesite="lax",
        path="/",
    )
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: SessionDep) -> Response:
    raw = request.cookies.get(cookie_name(request), "")
    if raw:
        sessions.end(session, raw)
    response = flash.redirect(request, "/admin/login", "You are signed out.", "info")
    response.delete_cookie(cookie_name(request), path="/")
    return response


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_password_link(
    session: Session, settings: Settings, account: AdminAccount, *, lifetime: timedelta
) -> str:
    """Queue a single-use "choose your password" link; returns the outbox key to deliver.

    Used for forgotten passwords and to invite a new wellness lead (who never gets a
    password sent by email)."""
    org = session.get(Organization, account.organization_id) if account.organization_id else None
    raw = secrets.token_urlsafe(32)
    session.add(
        PasswordReset(admin_id=account.id, token_hash=_digest(raw), expires_at=utcnow() + lifetime)
    )
    key = f"admin_password_reset:{account.id}:{_digest(raw)[:16]}"
    outbox.enqueue_email(
        session,
        settings=settings,
        org=None,
        to=account.email,
        to_name=account.full_name or account.email,
        kind="admin_password_reset",
        template="admin_password_reset",
        context={
            "admin_name": account.full_name or account.email,
            "organization_name": org.name if org is not None else "all organizations",
            "reset_url": f"{settings.base_url}/admin/password-reset/{raw}",
            "expires_minutes": int(lifetime.total_seconds() // 60),
        },
        idempotency_key=key,
    )
    return key


@router.get("/password-reset")
def reset_request_form(request: Request) -> Response:
    return render(request, "admin/reset_request.html", {"sent": False}, headers=NO_STORE)


@router.post("/password-reset", dependencies=[AdminRateLimited, CsrfChecked])
def reset_request(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    email: Annotated[str, Form(max_length=254)] = "",
) -> Response:
    """Same answer whether or not the account exists."""
    account = None
    if check_text(email) is None:
        account = session.scalar(
            select(AdminAccount).where(AdminAccount.email == email.strip().lower())
        )
    if (
        account is not None
        and account.is_active
        and may_email_password_reset(session, settings, account)
    ):
        key = issue_password_link(session, settings, account, lifetime=RESET_LIFETIME)
        session.commit()
        background.add_task(deliver_now, request.app.state, [key])
    return render(request, "admin/reset_request.html", {"sent": True}, headers=NO_STORE)


def _valid_reset(session: SessionDep, token: str) -> PasswordReset:
    row = session.scalar(select(PasswordReset).where(PasswordReset.token_hash == _digest(token)))
    if row is None or row.used_at is not None or row.expires_at <= utcnow():
        raise LinkInvalid("This reset link has expired or was used already. Ask for a new one.")
    return row


@router.get("/password-reset/{token}")
def reset_form(request: Request, session: SessionDep, token: str) -> Response:
    _valid_reset(session, token)
    return render(request, "admin/reset_form.html", {"error": ""}, headers=NO_STORE)


@router.post("/password-reset/{token}", dependencies=[CsrfChecked])
def reset(
    request: Request,
    session: SessionDep,
    token: str,
    password: Annotated[str, Form(max_length=1024)] = "",
    confirm: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    row = _valid_reset(session, token)
    account = session.get(AdminAccount, row.admin_id)
    assert account is not None
    error = "The two passwords differ." if password != confirm else ""
    if not error:
        try:
            account.password_hash = accounts.hash_password(password)
        except DomainError as exc:
            error = exc.message
    if error:
        return render(
            request, "admin/reset_form.html", {"error": error}, status_code=422, headers=NO_STORE
        )
    row.used_at = utcnow()
    account.failed_login_count = 0
    account.locked_until = None
    sessions.end_all(session, account)
    audit.record(
        session,
        org=session.get(Organization, account.organization_id) if account.organization_id else None,
        actor=account.email,
        action="password_reset",
        target_type="admin",
        target_id=account.id,
    )
    return flash.redirect(request, "/admin/login", "Your password is changed. Please sign in.")
