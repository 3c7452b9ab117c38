"""Property-based API testing: every operation in the OpenAPI, with valid and invalid input.

Schemathesis generates requests from /openapi.json; for each one the service must answer
without a server error, with a documented status code and a body matching its schema.
Generated slugs, ids and tokens would almost never name something real, so valid-looking
ones are swapped for a real organization, participant and credentials, and body fields
that only fail the service's own rules (an unknown time zone, a malformed email address)
are swapped for valid ones: that way the success paths are explored too, not only the
404s and 422s. Deliberately invalid (negative) cases are sent as generated.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from pydantic import BaseModel, ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from service.accounts import create_api_token
from service.api.schemas import SLUG_PATTERN, ManageLinkIn, ParticipantCreate
from service.db import utcnow
from service.models import Organization, Participant
from service.participants.schemas import ParticipantIn, ParticipantUpdate, ProfileIn

BODY_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("POST", "/api/v1/organizations/{slug}/signups"): ParticipantIn,
    ("POST", "/api/v1/organizations/{slug}/manage-links"): ManageLinkIn,
    ("PUT", "/api/v1/organizations/{slug}/me"): ProfileIn,
    ("POST", "/api/v1/participants"): ParticipantCreate,
    ("PATCH", "/api/v1/participants/{participant_id}"): ParticipantUpdate,
}
VALID_VALUES: dict[str, Any] = {
    "full_name": "Sam Example",
    "role": "nurse",
    "timezone": "Europe/London",
    "goals": "",
    "mentoring": "none",
    "status": "active",
    "paused_until": "2030-01-31",
}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    negative_data_rejection,
]


@dataclass
class World:
    """Real things for generated requests to point at."""

    app: FastAPI
    db: Session
    org: Organization
    api_token: str
    participant_id: int

    def fresh_participant(self, status: str) -> Participant:
        # Leave and delete invalidate a manage token, so each request gets its own person.
        participant = Participant(
            organization_id=self.org.id,
            email=f"p{utcnow().timestamp()}-{id(object())}@stmarys.example",
            full_name="Generated Person",
            role="nurse",
            timezone="America/New_York",
            status=status,
            confirmed_at=utcnow() if status == "active" else None,
            avoid_entries=[],
        )
        self.db.add(participant)
        self.db.commit()
        return participant

    def link_token(self, purpose: str, participant: Participant) -> str:
        return str(
            self.app.state.links.make(
                purpose, participant_id=participant.id, version=participant.link_version
            )
        )


@pytest.fixture
def world(app: FastAPI, db: Session, org: Organization) -> World:
    token = create_api_token(db, organization=org, name="schemathesis")
    db.commit()
    world = World(app=app, db=db, org=org, api_token=token, participant_id=0)
    world.participant_id = world.fresh_participant("active").id
    return world


@pytest.fixture
def api_schema(app: FastAPI, world: World) -> Iterator[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    yield schema


schema = schemathesis.pytest.from_fixture("api_schema")


def _point_at_real_things(case: Any, world: World) -> None:
    # Swapping a value in a deliberately invalid request could make it valid, which
    # would then be reported as "invalid data accepted": negative cases keep theirs.
    positive = case.meta is not None and case.meta.generation.mode.is_positive
    path = case.path_parameters or {}
    if positive and isinstance(path.get("slug"), str) and re.fullmatch(SLUG_PATTERN, path["slug"]):
        path["slug"] = world.org.slug
    participant_id = path.get("participant_id")
    if positive and isinstance(participant_id, int) and participant_id % 2:
        path["participant_id"] = world.participant_id

    headers = dict(case.headers or {})
    if case.operation.path.startswith("/api/v1/participants"):
        headers["Authorization"] = f"Bearer {world.api_token}"
    elif "X-Manage-Token" in headers or case.operation.path.endswith(("/me", "/pause",
                                                                       "/resume", "/leave")):
        status = "paused" if case.operation.path.endswith("/resume") else "active"
        headers["X-Manage-Token"] = world.link_token("manage", world.fresh_participant(status))
    case.headers = headers

    body = case.body
    confirming = case.operation.path.endswith("/confirmations") and isinstance(body, dict)
    if positive and confirming and isinstance(body.get("token"), str) and len(body["token"]) % 2:
        body["token"] = world.link_token("confirm", world.fresh_participant("pending"))
    if positive:
        _repair_body(case)


_EMAIL_NUMBERS = itertools.count()


def _repair_body(case: Any) -> None:
    """Replace the fields of a schema-valid body that the service's own rules refuse."""
    model = BODY_MODELS.get((case.operation.method.upper(), case.operation.path))
    if model is None or not isinstance(case.body, dict):
        return
    body = case.body
    if "email" in body:
        # Every other request reuses an address, so "already registered" happens too.
        number = next(_EMAIL_NUMBERS)
        body["email"] = f"person{number if number % 2 else 0}@stmarys.example"
    try:
        model.model_validate(body)
    except ValidationError as exc:
        for field in {str(error["loc"][0]) for error in exc.errors() if error["loc"]}:
            if field in VALID_VALUES:
                body[field] = VALID_VALUES[field]
            elif isinstance(body.get(field), list):
                body[field] = []
            elif isinstance(body.get(field), str):
                body[field] = ""


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
    derandomize=True,
)
def test_api_never_fails_and_matches_its_documentation(case: Any, world: World) -> None:
    _point_at_real_things(case, world)
    case.call_and_validate(checks=CHECKS)
