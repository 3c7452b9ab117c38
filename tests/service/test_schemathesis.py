"""Property-based API testing: every operation in the OpenAPI, with valid and invalid input,
one request at a time and in sequences.

Schemathesis generates requests from /openapi.json; for each one the service must answer
without a server error, with a documented status code and a body matching its schema.
Generated slugs, ids and tokens would almost never name something real, so valid-looking
ones are swapped for a real organization, participant and credentials, and body fields
that only fail the service's own rules (an unknown time zone, a malformed email address)
are swapped for valid ones: that way the success paths are explored too, not only the
404s and 422s. Deliberately invalid (negative) cases are sent as generated.

The stateful test chains calls through the links schemathesis infers from the schema: a
participant created or listed by the HR API is then read and updated by its real id. The
self-service operations cannot be chained: their tokens arrive by email, never in a response.
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
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from pydantic import BaseModel, ValidationError
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from service.accounts import create_api_token
from service.api.schemas import SLUG_PATTERN, ManageLinkIn, ParticipantCreate
from service.config import Settings
from service.db import utcnow
from service.models import AvoidEntry, Organization, Participant
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
def settings(settings: Settings) -> Settings:  # noqa: F811 - the shared fixture, adjusted
    # Thousands of generated requests from one client: the limits are tested on their own.
    return settings.model_copy(
        update={
            "rate_limit_requests_per_client_per_minute": 0,
            "rate_limit_signups_per_email_per_hour": 0,
        }
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


def _participant_rows(world: World) -> dict[int, dict[str, Any]]:
    table = Participant.__table__
    with world.app.state.sessionmaker() as session:
        rows = session.execute(select(table)).mappings()
        return {row["id"]: dict(row) for row in rows}


def _restore_participants(world: World, baseline: dict[int, dict[str, Any]]) -> None:
    table = Participant.__table__
    with world.app.state.sessionmaker.begin() as session:
        session.execute(delete(AvoidEntry))
        session.execute(delete(table).where(table.c.id.not_in(list(baseline))))
        for values in baseline.values():
            session.execute(update(table).where(table.c.id == values["id"]).values(**values))


def _is_positive(case: Any) -> bool:
    # Swapping a value in a deliberately invalid request could make it valid, which
    # would then be reported as "invalid data accepted": negative cases keep theirs.
    return case.meta is not None and case.meta.generation.mode.is_positive


def _point_at_real_things(case: Any, world: World) -> None:
    positive = _is_positive(case)
    path = case.path_parameters or {}
    if positive and isinstance(path.get("slug"), str) and re.fullmatch(SLUG_PATTERN, path["slug"]):
        path["slug"] = world.org.slug
    participant_id = path.get("participant_id")
    if positive and isinstance(participant_id, int) and participant_id % 2:
        path["participant_id"] = world.participant_id
    _credentials_and_bodies(case, world)


def _credentials_and_bodies(case: Any, world: World) -> None:
    positive = _is_positive(case)
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
@hypothesis_settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.function_scoped_fixture],
    derandomize=True,
)
def test_api_never_fails_and_matches_its_documentation(case: Any, world: World) -> None:
    _point_at_real_things(case, world)
    case.call_and_validate(checks=CHECKS)


def test_api_call_sequences_never_fail_and_match_their_documentation(
    api_schema: Any, world: World
) -> None:
    machine = api_schema.as_state_machine()  # infers the links first
    linked = set(api_schema.operations_with_incoming_links())
    assert {"GET /api/v1/participants/{participant_id}",
            "PATCH /api/v1/participants/{participant_id}"} <= linked  # fmt: skip

    baseline = _participant_rows(world)

    class Workflow(machine):  # type: ignore[misc,valid-type]
        def teardown(self) -> None:
            # Hypothesis replays and shrinks sequences: each must start from the same data,
            # or a list that grew in an earlier sequence changes what later ones draw.
            _restore_participants(world, baseline)

        def before_call(self, case: Any) -> None:
            # Ids come from earlier responses; only credentials and bodies are filled in.
            path = case.path_parameters or {}
            if _is_positive(case) and "slug" in path:
                path["slug"] = world.org.slug
            _credentials_and_bodies(case, world)

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None)

    Workflow.run(
        settings=hypothesis_settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
