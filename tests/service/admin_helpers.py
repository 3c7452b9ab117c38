"""Creating wellness-lead accounts and signing them in, for dashboard tests."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from service import accounts
from service.models import AdminAccount, Organization

PASSWORD = "correct horse battery"


def make_admin(
    session: Session,
    org: Organization | None,
    email: str = "lead@stmarys.example",
    *,
    is_super: bool = False,
) -> AdminAccount:
    account = accounts.create_admin(
        session, email=email, password=PASSWORD, organization=org, is_super=is_super
    )
    session.commit()
    return account


def csrf(client: TestClient, path: str = "/admin/login") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(
    client: TestClient, email: str, password: str = PASSWORD, next_path: str = "/admin"
) -> object:
    token = csrf(client)
    return client.post(
        "/admin/login",
        data={"email": email, "password": password, "next": next_path, "csrf_token": token},
        follow_redirects=False,
    )
