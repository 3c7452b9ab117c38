"""Admin logins: Argon2id passwords, server-side sessions, lockout after repeated failures.

The browser holds only a random session id; its SHA-256 is stored, so a leaked database
cannot be replayed as cookies. A login always creates a new id (rotation), logout deletes it.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from service import accounts
from service.db import utcnow
from service.models import AdminAccount, AdminSession

IDLE_TIMEOUT = timedelta(minutes=30)
ABSOLUTE_TIMEOUT = timedelta(hours=12)
FREE_ATTEMPTS = 5
LOCKOUT_BASE = timedelta(minutes=5)
LOCKOUT_CAP = timedelta(hours=24)
# Verify against this when the account does not exist, so both answers take as long.
_DUMMY_HASH = accounts._hasher.hash("not-a-real-password-0123")  # noqa: SLF001


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def authenticate(
    session: Session, *, email: str, password: str, now: datetime | None = None
) -> AdminAccount | None:
    """The account if the password is right and the account is not locked; else None."""
    now = now or utcnow()
    account = session.scalar(
        select(AdminAccount).where(AdminAccount.email == email.strip().lower())
    )
    if account is None or not account.is_active:
        with contextlib.suppress(Exception):  # only here to spend the same time
            accounts._hasher.verify(_DUMMY_HASH, password)  # noqa: SLF001
        return None
    if account.locked_until is not None and account.locked_until > now:
        return None
    if not accounts.verify_password(account, password):
        account.failed_login_count += 1
        extra = account.failed_login_count - FREE_ATTEMPTS
        if extra >= 0:
            account.locked_until = now + min(LOCKOUT_CAP, LOCKOUT_BASE * (2**extra))
        return None
    account.failed_login_count = 0
    account.locked_until = None
    account.last_login_at = now
    return account


def start(session: Session, account: AdminAccount, *, now: datetime | None = None) -> str:
    now = now or utcnow()
    raw = secrets.token_urlsafe(32)
    session.add(
        AdminSession(
            admin_id=account.id,
            token_hash=_digest(raw),
            created_at=now,
            last_seen_at=now,
            expires_at=now + ABSOLUTE_TIMEOUT,
        )
    )
    session.flush()
    return raw


def resume(session: Session, raw: str, *, now: datetime | None = None) -> AdminAccount | None:
    """The signed-in account for a cookie value, enforcing idle and absolute timeouts."""
    if not raw or len(raw) > 100:
        return None
    now = now or utcnow()
    row = session.scalar(select(AdminSession).where(AdminSession.token_hash == _digest(raw)))
    if row is None:
        return None
    if row.expires_at <= now or row.last_seen_at + IDLE_TIMEOUT <= now:
        session.delete(row)
        return None
    account = session.get(AdminAccount, row.admin_id)
    if account is None or not account.is_active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now  # written at most once a minute
    return account


def end(session: Session, raw: str) -> None:
    session.execute(delete(AdminSession).where(AdminSession.token_hash == _digest(raw)))


def end_all(session: Session, account: AdminAccount) -> None:
    session.execute(delete(AdminSession).where(AdminSession.admin_id == account.id))
