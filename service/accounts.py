"""Wellness-lead accounts and API tokens."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db import utcnow
from service.errors import Conflict, InvalidInput
from service.models import AdminAccount, ApiToken, Organization
from service.participants.schemas import normalize_email

_hasher = PasswordHasher()  # Argon2id with the library's current defaults
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "cr_"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(
            f"Passwords need at least {MIN_PASSWORD_LENGTH} characters.",
            fields={"password": f"at least {MIN_PASSWORD_LENGTH} characters"},
        )
    return _hasher.hash(password)


def verify_password(account: AdminAccount, password: str) -> bool:
    try:
        _hasher.verify(account.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(account.password_hash):
        account.password_hash = _hasher.hash(password)
    return True


def create_admin(
    session: Session,
    *,
    email: str,
    password: str,
    organization: Organization | None,
    is_super: bool = False,
    full_name: str = "",
) -> AdminAccount:
    try:
        email = normalize_email(email)
    except ValueError as exc:
        raise InvalidInput(f"The email address {exc}.", fields={"email": str(exc)}) from None
    if organization is None and not is_super:
        raise InvalidInput("An organization admin needs an organization (or make them super).")
    if session.scalar(select(AdminAccount).where(AdminAccount.email == email)) is not None:
        raise Conflict(f"There is already an admin account for {email}.")
    account = AdminAccount(
        email=email,
        full_name=full_name,
        password_hash=hash_password(password),
        organization_id=organization.id if organization is not None else None,
        is_super=is_super,
    )
    session.add(account)
    session.flush()
    return account


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_api_token(
    session: Session, *, organization: Organization, name: str, admin: AdminAccount | None = None
) -> str:
    """Create a token and return it; only its hash is kept, so it is shown this once."""
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(
        ApiToken(
            organization_id=organization.id,
            admin_id=admin.id if admin is not None else None,
            name=name[:120],
            token_hash=_digest(raw),
            prefix=raw[:10],
        )
    )
    session.flush()
    return raw


def authenticate_token(session: Session, raw: str) -> ApiToken | None:
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _digest(raw), ApiToken.revoked_at.is_(None))
    )
    if token is not None:
        token.last_used_at = utcnow()
    return token
