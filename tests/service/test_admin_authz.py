"""Authorization matrix built from the app's own routes, and XSS on every dashboard page.

New dashboard routes are covered automatically: every route under /admin/o/{slug} is
called as the admin of another hospital (404), anonymously (to the login page) and without
a CSRF token (403).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from service.config import Settings
from service.links import LinkSigner
from service.models import MatchGroup, OutboxMessage, Participant, Resource, Topic
from service.rounds.create import create_round
from tests.service.admin_helpers import csrf, login, make_admin
from tests.service.round_fixtures import make_org

SCRIPT = "<script>alert(1)</script>"


@dataclass(frozen=True)
class AdminRoute:
    method: str
    path: str


def admin_routes(app: FastAPI) -> list[AdminRoute]:
    """Every organization-scoped dashboard route, whatever router declares it."""
    found: list[AdminRoute] = []

    def walk(routes: object) -> None:
        for route in routes:  # type: ignore[attr-defined]
            contexts = getattr(route, "effective_route_contexts", None)
            if callable(contexts):
                walk(contexts())
                continue
            path = getattr(route, "path", "")
            for method in getattr(route, "methods", None) or ():
                if path.startswith("/admin/o/{slug}") and method in ("GET", "POST"):
                    found.append(AdminRoute(method, path))

    walk(app.routes)
    return sorted(set(found), key=lambda r: (r.path, r.method))


@dataclass
class OrgData:
    slug: str
    ids: dict[str, int]


def build_org(db: Session, settings: Settings, links: LinkSigner, slug: str) -> OrgData:
    org = make_org(db, slug=slug, people=8)
    participant = db.scalar(select(Participant).where(Participant.organization_id == org.id))
    assert participant is not None
    participant.full_name = SCRIPT
    participant.department = SCRIPT
    # Stored directly, past the library's validation: the pages must keep it inert anyway.
    resource = Resource(
        organization_id=org.id, url=f"https://example.org/{slug}", title=SCRIPT, why=SCRIPT,
        tags=[SCRIPT], source="import",
    )
    db.add(resource)
    run = create_round(
        db, settings, links, org, "2026-12", now=datetime(2026, 12, 7, 14, tzinfo=UTC)
    )
    db.commit()
    group = db.scalar(select(MatchGroup).where(MatchGroup.round_id == run.round.id))
    outbox = db.scalar(select(OutboxMessage).where(OutboxMessage.organization_id == org.id))
    topic = db.scalar(select(Topic).where(Topic.organization_id == org.id))
    assert group is not None and outbox is not None and topic is not None
    return OrgData(
        slug,
        {
            "participant": participant.id,
            "round": run.round.id,
            "group": group.id,
            "outbox": outbox.id,
            "email": outbox.id,
            "topic": topic.id,
            "resource": resource.id,
        },
    )


def fill(path: str, data: OrgData, *, slug: str | None = None) -> str:
    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name == "slug":
            return slug or data.slug
        if name == "figure":
            return "participation"
        kind = name.removesuffix("_id")
        return str(data.ids.get(kind, data.ids["participant"]))

    return re.sub(r"\{([^}]+)\}", value, path)


@pytest.fixture
def two_hospitals(db: Session, settings: Settings, links: LinkSigner) -> tuple[OrgData, OrgData]:
    a = build_org(db, settings, links, "alpha")
    b = build_org(db, settings, links, "beta")
    from service.models import Organization

    make_admin(
        db,
        db.scalar(select(Organization).where(Organization.slug == "alpha")),
        "lead@alpha.example",
    )
    return a, b


def test_the_matrix_covers_the_whole_dashboard(app: FastAPI) -> None:
    paths = {r.path for r in admin_routes(app)}
    for area in ("participants", "rounds", "topics", "library", "settings", "impact", "audit"):
        assert any(f"/{area}" in p for p in paths), f"no {area} routes found"


def test_an_admin_of_one_hospital_gets_404_for_every_url_of_another(
    app: FastAPI, client: TestClient, two_hospitals: tuple[OrgData, OrgData]
) -> None:
    alpha, beta = two_hospitals
    login(client, "lead@alpha.example")
    token = csrf(client, f"/admin/o/{alpha.slug}")
    leaks = []
    for route in admin_routes(app):
        # The other hospital's slug; and, where the URL names a record, their own slug with
        # the other hospital's ids.
        urls = [fill(route.path, beta)]
        if re.search(r"\{(?!slug\}|figure\})", route.path):
            urls.append(fill(route.path, beta, slug=alpha.slug))
        for url in urls:
            if route.method == "GET":
                response = client.get(url, follow_redirects=False)
            else:
                # Plausible form fields pointing at the other hospital's records too.
                form = {
                    "csrf_token": token,
                    "membership_id": str(beta.ids["participant"]),
                    "participant_id": str(beta.ids["participant"]),
                    "group_id": str(beta.ids["group"]),
                    "target_group_id": str(beta.ids["group"]),
                    "months": "1",
                    "seed": "7",
                    "confirm": "yes",
                }
                response = client.post(url, data=form, follow_redirects=False)
            if response.status_code != 404:
                leaks.append(f"{route.method} {url} -> {response.status_code}")
    assert leaks == []


def test_anonymous_requests_are_sent_to_the_login_page(
    app: FastAPI, client: TestClient, two_hospitals: tuple[OrgData, OrgData]
) -> None:
    alpha, _ = two_hospitals
    token = csrf(client, "/admin/login")
    wrong = []
    for route in admin_routes(app):
        url = fill(route.path, alpha)
        if route.method == "GET":
            response = client.get(url, follow_redirects=False)
        else:
            response = client.post(url, data={"csrf_token": token}, follow_redirects=False)
        location = response.headers.get("location", "")
        if response.status_code != 303 or not location.startswith("/admin/login"):
            wrong.append(f"{route.method} {url} -> {response.status_code} {location}")
    assert wrong == []


def test_a_post_without_csrf_token_is_refused(
    app: FastAPI, client: TestClient, two_hospitals: tuple[OrgData, OrgData]
) -> None:
    alpha, _ = two_hospitals
    login(client, "lead@alpha.example")
    accepted = []
    for route in admin_routes(app):
        if route.method != "POST":
            continue
        response = client.post(fill(route.path, alpha), data={}, follow_redirects=False)
        if response.status_code != 403:
            accepted.append(f"POST {route.path} -> {response.status_code}")
    assert accepted == []


def test_a_script_in_a_name_renders_inert_on_every_dashboard_page(
    app: FastAPI, client: TestClient, two_hospitals: tuple[OrgData, OrgData]
) -> None:
    alpha, _ = two_hospitals
    login(client, "lead@alpha.example")
    pages = 0
    for route in admin_routes(app):
        if route.method != "GET":
            continue
        response = client.get(fill(route.path, alpha), follow_redirects=False)
        if response.status_code != 200 or "text/html" not in response.headers["content-type"]:
            continue
        pages += 1
        assert SCRIPT not in response.text, route.path
        assert "<script>alert" not in response.text, route.path
    assert pages >= 8
