"""Security headers, and inert script payloads, on every GET route of the app.

The routes come from the app itself, so pages added later are covered automatically. Path
parameters are filled with real things (a hospital, a round, signed links of the right
purpose, a password-reset token), so most pages render for real; whatever a page answers,
its headers must be right. The hospital's names, topics and a participant's profile hold
script payloads, which must never reach a page unescaped.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import utcnow
from service.links import LinkSigner
from service.log_redaction import LINK_SEGMENT
from service.main import create_app
from service.models import Membership, Organization, Participant, PasswordReset, Topic
from service.rounds.links import membership_token, participant_token
from tests.service.admin_helpers import login, make_admin
from tests.service.test_admin_authz import build_org

XSS = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(2)>',
    "</textarea><svg onload=alert(3)>",
    "'-alert(4)-'<iframe src=javascript:alert(5)>",
)
# Which kind of signed link the path segment before {token} expects.
TOKEN_PURPOSES = {
    "confirm": "confirm",
    "manage": "manage",
    "u": "unsubscribe",
    "pause": "unsubscribe",
    "my": "member",
    "intro": "introduction",
}


def get_routes(app: FastAPI) -> list[str]:
    """Every GET path the app serves, whatever router declares it."""
    found: set[str] = set()

    def walk(routes: object) -> None:
        for route in routes:  # type: ignore[attr-defined]
            contexts = getattr(route, "effective_route_contexts", None)
            if callable(contexts):
                walk(contexts())
                continue
            if "GET" in (getattr(route, "methods", None) or ()):
                found.add(route.path)

    walk(app.routes)
    return sorted(found)


@dataclass
class World:
    slug: str
    ids: dict[str, int]
    tokens: dict[str, str]

    def url(self, path: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1).split(":")[0]
            if name in ("slug", "org_slug"):
                return self.slug
            if name == "token":
                before = path[: match.start()].rstrip("/").rsplit("/", 1)[-1]
                return self.tokens.get(before, self.tokens["manage"])
            if name == "action":
                return "cant-make-it"
            if name == "figure":
                return "participation"
            return str(self.ids.get(name.removesuffix("_id"), self.ids["participant"]))

        return re.sub(r"\{([^}]+)\}", value, path)


@pytest.fixture
def world(db: Session, settings: Settings, links: LinkSigner) -> World:
    data = build_org(db, settings, links, "alpha")
    org = db.scalar(select(Organization).where(Organization.slug == "alpha"))
    membership = db.scalar(select(Membership).order_by(Membership.id))
    assert org is not None and membership is not None
    person = db.get(Participant, membership.participant_id)
    assert person is not None
    person.full_name, person.department, person.goals = XSS[0], XSS[1], XSS[2]
    person.interests = [XSS[1]]
    org.name, org.sender_name = XSS[1], XSS[0]
    for topic in db.scalars(select(Topic).where(Topic.organization_id == org.id)):
        topic.title, topic.description = XSS[2], XSS[3]
    admin = make_admin(db, None, "super@coffee.example", is_super=True)
    reset = secrets.token_urlsafe(32)
    db.add(
        PasswordReset(
            admin_id=admin.id,
            token_hash=hashlib.sha256(reset.encode()).hexdigest(),
            expires_at=utcnow() + timedelta(hours=1),
        )
    )
    db.commit()
    tokens = {
        segment: links.make(purpose, participant_id=person.id, version=person.link_version)
        for segment, purpose in TOKEN_PURPOSES.items()
    }
    tokens["u"] = tokens["pause"] = participant_token(links, person)
    tokens["r"] = membership_token(links, person, membership)
    tokens["password-reset"] = reset
    return World(data.slug, {**data.ids, "participant": person.id}, tokens)


def walk_every_page(app: FastAPI, world: World) -> Iterator[tuple[str, str, object]]:
    """(route, url, response) for every GET route, signed in as a super admin."""
    with TestClient(app) as client:
        login(client, "super@coffee.example")
        for route in get_routes(app):
            url = world.url(route)
            yield route, url, client.get(url, follow_redirects=False)
        yield "(unknown)", "/no/such/page", client.get("/no/such/page")
        yield "(static)", "/static/favicon.svg", client.get("/static/favicon.svg")


def test_every_response_carries_the_security_headers(app: FastAPI, world: World) -> None:
    problems = []
    statuses: dict[int, int] = {}
    html_pages = 0
    token_pages = 0
    for route, url, response in walk_every_page(app, world):
        headers = response.headers  # type: ignore[attr-defined]
        status = response.status_code  # type: ignore[attr-defined]
        statuses[status] = statuses.get(status, 0) + 1
        assert status < 500, f"{url} -> {status}"
        expected = {
            "x-content-type-options": "nosniff",
            "referrer-policy": "no-referrer",
            "x-frame-options": "DENY",
        }
        for name, value in expected.items():
            if headers.get(name) != value:
                problems.append(f"{route}: {name} = {headers.get(name)!r}")
        csp = headers.get("content-security-policy", "")
        if "frame-ancestors 'none'" not in csp:
            problems.append(f"{route}: CSP without frame-ancestors: {csp!r}")
        if "text/html" in headers.get("content-type", "") and not route.startswith("/docs"):
            html_pages += 1
            directives = dict((part.split(" ", 1) + [""])[:2] for part in csp.split("; ") if part)
            if directives.get("script-src") != "'self'" or "unsafe" in csp:
                problems.append(f"{route}: scripts are not limited to the app's own: {csp!r}")
            if directives.get("default-src") != "'self'":
                problems.append(f"{route}: default-src is {directives.get('default-src')!r}")
        if "strict-transport-security" in headers:
            problems.append(f"{route}: HSTS over plain http")
        if "{token}" in route:
            # Behind a signed link: never cached, never sent on as a Referer.
            token_pages += 1
            if not LINK_SEGMENT.search(url):
                problems.append(f"{route}: the token is not recognised as one")
            if headers.get("cache-control") != "no-store":
                problems.append(f"{route}: Cache-Control = {headers.get('cache-control')!r}")
    assert problems == []
    assert token_pages >= 10
    # Most pages really rendered (not just 404s): the fill-in values point at real things.
    assert statuses.get(200, 0) >= 40, statuses
    assert html_pages >= 40


def test_a_broken_links_error_page_is_not_cached_either(client: TestClient) -> None:
    for path in ("/admin/password-reset/nope", "/o/alpha/r/nope/checkin", "/o/x/manage/y"):
        assert client.get(path).headers["cache-control"] == "no-store", path


def test_hsts_only_when_the_service_is_served_over_https(settings: Settings) -> None:
    secure = create_app(settings.model_copy(update={"base_url": "https://coffee.example"}))
    try:
        with TestClient(secure, base_url="https://coffee.example") as client:
            for path in ("/", "/admin/login", "/api/v1/participants", "/static/css/app.css"):
                hsts = client.get(path).headers.get("strict-transport-security", "")
                assert hsts.startswith("max-age=31536000"), path
    finally:
        secure.state.engine.dispose()


def test_the_api_docs_may_run_swagger_but_cannot_be_framed(client: TestClient) -> None:
    docs = client.get("/docs")
    assert docs.status_code == 200
    assert "frame-ancestors 'none'" in docs.headers["content-security-policy"]
    assert docs.headers["x-frame-options"] == "DENY"


def test_script_payloads_are_inert_on_every_page(app: FastAPI, world: World) -> None:
    escaped_somewhere = set()
    for route, _, response in walk_every_page(app, world):
        headers = response.headers  # type: ignore[attr-defined]
        if "text/html" not in headers.get("content-type", ""):
            continue
        text = response.text  # type: ignore[attr-defined]
        for payload in XSS:
            assert payload not in text, route
            if str(escape(payload)) in text:
                escaped_somewhere.add(payload)
        assert not re.search(r"<(script|img|svg|iframe)[^>]*(alert|onerror|onload)", text), route
    assert escaped_somewhere == set(XSS)  # every payload was really shown, escaped
