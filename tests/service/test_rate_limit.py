"""Rate limits: per client on the signup, link and sign-in forms (429 + Retry-After), per
target address on the emails they send (silent, so nothing about the address is revealed),
and X-Forwarded-For believed only from a configured trusted proxy."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import utcnow
from service.main import create_app
from service.models import Organization, OutboxMessage, PasswordReset
from service.rate_limit import SlidingWindowLimiter
from tests.service.admin_helpers import csrf, make_admin

API = "/api/v1/organizations/stmarys"
PROXY = "10.1.2.3"


@pytest.fixture
def strict(settings: Settings) -> Settings:
    """Small limits, so a test reaches them in a few requests."""
    return settings.model_copy(
        update={
            "rate_limit_requests_per_client_per_minute": 3,
            "rate_limit_signups_per_email_per_hour": 1,
            "trusted_proxies": [PROXY, "10.9.0.0/16"],
        }
    )


@pytest.fixture
def strict_app(strict: Settings) -> Iterator[FastAPI]:
    application = create_app(strict)
    yield application
    application.state.engine.dispose()


def client_at(app: FastAPI, address: str) -> TestClient:
    """A browser whose connection comes from `address`."""
    return TestClient(app, client=(address, 40000))


def signup_body(email: str = "ann.lee@stmarys.example") -> dict[str, Any]:
    return {"email": email, "full_name": "Ann Lee", "role": "nurse", "timezone": "UTC"}


def form_post(client: TestClient, path: str, data: dict[str, str], **kwargs: Any) -> Any:
    token = csrf(client, path)
    return client.post(path, data={"csrf_token": token, **data}, follow_redirects=False, **kwargs)


def join_data(email: str) -> dict[str, str]:
    return {"full_name": "Ann Lee", "email": email, "role": "nurse", "timezone": "UTC"}


def email_kinds(db: Session) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(OutboxMessage.kind).order_by(OutboxMessage.id)))


# --- per client ----------------------------------------------------------------------------


def test_the_join_form_answers_429_with_retry_after_once_a_client_sends_too_many(
    strict_app: FastAPI, org: Organization
) -> None:
    with client_at(strict_app, "203.0.113.7") as browser:
        answers = [
            form_post(browser, "/o/stmarys/join", join_data(f"p{i}@stmarys.example"))
            for i in range(4)
        ]
        assert [a.status_code for a in answers] == [303, 303, 303, 429]
        refused = answers[-1]
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        assert refused.headers["content-type"].startswith("text/html")
        assert "Too many requests" in refused.text
        assert "wait a minute and try again" in refused.text
        # "Email me my link" shares the budget: the same client is still refused there.
        me = form_post(browser, "/o/stmarys/me", {"email": "p0@stmarys.example"})
        assert me.status_code == 429

    with client_at(strict_app, "203.0.113.8") as neighbour:
        answer = form_post(neighbour, "/o/stmarys/join", join_data("other@stmarys.example"))
        assert answer.status_code == 303  # another client has its own budget


def test_the_api_answers_429_as_documented(strict_app: FastAPI, org: Organization) -> None:
    with client_at(strict_app, "198.51.100.20") as api:
        statuses = [
            api.post(f"{API}/signups", json=signup_body()).status_code,
            api.post(f"{API}/manage-links", json={"email": "x@stmarys.example"}).status_code,
            api.post(f"{API}/signups", json=signup_body("b@stmarys.example")).status_code,
        ]
        refused = api.post(f"{API}/manage-links", json={"email": "x@stmarys.example"})
    assert statuses == [202, 202, 202]
    assert refused.status_code == 429
    assert refused.json() == {
        "detail": "You have sent this form many times in a short while. Please wait a minute "
        "and try again.",
        "code": "rate_limited",
    }
    assert int(refused.headers["retry-after"]) >= 1
    documented = strict_app.openapi()["paths"][f"{API.replace('stmarys', '{slug}')}/signups"]
    assert "Retry-After" in documented["post"]["responses"]["429"]["headers"]


def test_spoofed_forwarded_for_from_an_untrusted_peer_does_not_dodge_the_limit(
    strict_app: FastAPI, org: Organization
) -> None:
    with client_at(strict_app, "203.0.113.50") as attacker:
        statuses = [
            attacker.post(
                f"{API}/manage-links",
                json={"email": "x@stmarys.example"},
                headers={"X-Forwarded-For": f"192.0.2.{i}"},
            ).status_code
            for i in range(5)
        ]
    assert statuses == [202, 202, 202, 429, 429]


def test_a_trusted_proxy_is_believed_and_each_client_behind_it_has_its_own_budget(
    strict_app: FastAPI, org: Organization
) -> None:
    def from_proxy(forwarded_for: str) -> int:
        return proxy.post(
            f"{API}/manage-links",
            json={"email": "x@stmarys.example"},
            headers={"X-Forwarded-For": forwarded_for},
        ).status_code

    with client_at(strict_app, PROXY) as proxy:
        # Three clients, three requests each: nobody is over the limit.
        assert [from_proxy(f"192.0.2.{i % 3}") for i in range(9)] == [202] * 9
        assert from_proxy("192.0.2.0") == 429
        # A client that prepends its own X-Forwarded-For is still counted by the address the
        # proxy saw (the right-most untrusted one); proxies inside 10.9/16 are skipped.
        assert from_proxy("1.1.1.1, 192.0.2.0") == 429
        assert from_proxy("192.0.2.0, 10.9.4.4") == 429
        assert from_proxy("192.0.2.9, 10.9.4.4") == 202


def test_ipv6_clients_are_counted_per_64_prefix(strict_app: FastAPI, org: Organization) -> None:
    with client_at(strict_app, PROXY) as proxy:
        statuses = [
            proxy.post(
                f"{API}/manage-links",
                json={"email": "x@stmarys.example"},
                headers={"X-Forwarded-For": f"2001:db8:1:2::{i + 1:x}"},
            ).status_code
            for i in range(4)
        ]
        other_network = proxy.post(
            f"{API}/manage-links",
            json={"email": "x@stmarys.example"},
            headers={"X-Forwarded-For": "2001:db8:1:3::1"},
        )
    assert statuses == [202, 202, 202, 429]
    assert other_network.status_code == 202


def test_sign_in_and_password_reset_are_limited_per_client_too(
    strict_app: FastAPI, org: Organization, db: Session
) -> None:
    make_admin(db, org, "lead@stmarys.example")
    with client_at(strict_app, "203.0.113.90") as browser:
        statuses = [
            form_post(
                browser,
                "/admin/login",
                {"email": f"guess{i}@stmarys.example", "password": "wrong"},
            ).status_code
            for i in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        reset = form_post(browser, "/admin/password-reset", {"email": "lead@stmarys.example"})
        assert reset.status_code == 429
    # Signups from the same address are a separate budget.
    with client_at(strict_app, "203.0.113.90") as same_address:
        answer = form_post(same_address, "/o/stmarys/join", join_data("n@stmarys.example"))
        assert answer.status_code == 303


def test_a_limit_of_zero_turns_the_client_limit_off(settings: Settings, org: Organization) -> None:
    app = create_app(settings.model_copy(update={"rate_limit_requests_per_client_per_minute": 0}))
    with client_at(app, "203.0.113.1") as api:
        statuses = {
            api.post(f"{API}/manage-links", json={"email": "x@stmarys.example"}).status_code
            for _ in range(30)
        }
    app.state.engine.dispose()
    assert statuses == {202}


# --- per target address --------------------------------------------------------------------


def test_one_address_gets_at_most_the_hourly_number_of_emails_and_the_answer_never_changes(
    strict_app: FastAPI, org: Organization, db: Session
) -> None:
    with client_at(strict_app, "203.0.113.30") as browser:
        first = form_post(browser, "/o/stmarys/join", join_data("ann@stmarys.example"))
    assert email_kinds(db) == ["confirm_signup"]

    # An hour's quota is used up: asking for a link again is answered exactly like an
    # address that was never registered, and no email is queued.
    with client_at(strict_app, "203.0.113.31") as browser:
        known = form_post(browser, "/o/stmarys/me", {"email": "ann@stmarys.example"})
        unknown = form_post(browser, "/o/stmarys/me", {"email": "nobody@stmarys.example"})
        again = form_post(browser, "/o/stmarys/join", join_data("ann@stmarys.example"))
    assert (known.status_code, known.headers["location"]) == (
        unknown.status_code,
        unknown.headers["location"],
    )
    assert (again.status_code, again.headers["location"]) == (
        first.status_code,
        first.headers["location"],
    )
    assert email_kinds(db) == ["confirm_signup"]

    # Emails older than an hour no longer count (an hour ago, its key had an older bucket).
    db.execute(
        update(OutboxMessage).values(
            created_at=utcnow() - timedelta(minutes=61),
            idempotency_key=OutboxMessage.idempotency_key + ":earlier",
        )
    )
    db.commit()
    with client_at(strict_app, "203.0.113.32") as api:
        assert api.post(f"{API}/manage-links", json={"email": "ann@stmarys.example"}).status_code
    assert email_kinds(db) == ["confirm_signup", "confirm_signup"]


def test_the_api_signup_respects_the_same_per_address_limit(
    strict_app: FastAPI, org: Organization, db: Session
) -> None:
    for number in range(3):  # a new client each time: only the per-address limit applies
        with client_at(strict_app, f"203.0.113.{100 + number}") as api:
            answer = api.post(f"{API}/signups", json=signup_body())
            assert answer.status_code == 202
    assert email_kinds(db) == ["confirm_signup"]


def test_password_reset_links_to_one_account_are_limited_per_hour(
    strict_app: FastAPI, org: Organization, db: Session
) -> None:
    make_admin(db, org, "lead@stmarys.example")
    pages = []
    for number in range(2):
        with client_at(strict_app, f"203.0.113.{200 + number}") as browser:
            pages.append(
                form_post(browser, "/admin/password-reset", {"email": "lead@stmarys.example"})
            )
    assert [p.status_code for p in pages] == [200, 200]
    assert re.sub(r'value="[^"]+"', "", pages[0].text) == re.sub(
        r'value="[^"]+"', "", pages[1].text
    )
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(PasswordReset)) == 1
    assert email_kinds(db) == ["admin_password_reset"]


# --- pieces --------------------------------------------------------------------------------


def test_the_sliding_window_forgets_old_hits_and_says_how_long_to_wait() -> None:
    now = [1000.0]
    limiter = SlidingWindowLimiter(2, 60, clock=lambda: now[0])
    assert limiter.hit("a") is None
    now[0] += 20
    assert limiter.hit("a") is None
    assert limiter.hit("a") == pytest.approx(40)
    now[0] += 41  # the first hit has left the window
    assert limiter.hit("a") is None
    assert limiter.hit("a") == pytest.approx(19)


def test_the_limiter_tracks_a_bounded_number_of_clients() -> None:
    limiter = SlidingWindowLimiter(1, 60, max_keys=100)
    for number in range(10_000):
        limiter.hit(f"client {number}")
    assert len(limiter._hits) == 100  # noqa: SLF001 - the memory bound is the point
    assert limiter.hit("client 9999") is not None  # the most recent are the ones kept


def test_trusted_proxies_are_read_from_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.5, 10.1.0.9/16 ,fd00::/8")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.trusted_proxies == ["10.0.0.5", "10.1.0.0/16", "fd00::/8"]
    monkeypatch.setenv("TRUSTED_PROXIES", "10.0.0.5, proxy.internal")
    with pytest.raises(ValidationError, match="'proxy.internal' is not an IP address"):
        Settings(_env_file=None)  # type: ignore[call-arg]
    monkeypatch.delenv("TRUSTED_PROXIES")
    assert Settings(_env_file=None).trusted_proxies == []  # type: ignore[call-arg]
