"""Participants for an HR integration: list, create and update with an organization API token."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Request
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from service.api.auth import ApiOrganization
from service.api.json_route import MAX_BODY_BYTES, StrictJSONRoute
from service.api.schemas import (
    FilterText,
    ParticipantCreate,
    ParticipantId,
    ParticipantPage,
    problems,
)
from service.deps import LinksDep, SessionDep, SettingsDep
from service.errors import Conflict
from service.models import Participant
from service.participants import flows, service
from service.participants.schemas import (
    ParticipantOut,
    ParticipantUpdate,
    Role,
)

router = APIRouter(
    prefix="/participants",
    tags=["participants"],
    route_class=StrictJSONRoute,
    max_body_size=MAX_BODY_BYTES,
)

MAX_PER_PAGE = 500
# Far beyond any hospital; keeps OFFSET well inside a 64-bit integer.
MAX_PAGE = 1_000_000
ListableStatus = Literal["pending", "active", "paused", "left"]


@router.get(
    "",
    response_model=ParticipantPage,
    summary="List participants",
    responses=problems(401),
)
def list_participants(
    organization: ApiOrganization,
    session: SessionDep,
    status: Annotated[ListableStatus | None, Query(description="Only this status.")] = None,
    role: Annotated[Role | None, Query(description="Only this role.")] = None,
    department: Annotated[
        FilterText | None, Query(max_length=120, description="Exact department name.")
    ] = None,
    site: Annotated[
        FilterText | None, Query(max_length=120, description="Exact site name.")
    ] = None,
    q: Annotated[
        FilterText | None,
        Query(max_length=200, description="Case-insensitive text in the name or email address."),
    ] = None,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    per_page: Annotated[int, Query(ge=1, le=MAX_PER_PAGE)] = 50,
) -> ParticipantPage:
    """Participants of the token's organization, oldest first (by id), one page at a time.

    Deleted participants (anonymised after a data-deletion request) are never listed.
    """
    conditions = [Participant.organization_id == organization.id, Participant.status != "deleted"]
    if status is not None:
        conditions.append(Participant.status == status)
    if role is not None:
        conditions.append(Participant.role == role)
    if department is not None:
        conditions.append(Participant.department == department)
    if site is not None:
        conditions.append(Participant.site == site)
    if q:
        needle = q.strip().lower()
        conditions.append(
            or_(
                func.lower(Participant.full_name).contains(needle, autoescape=True),
                Participant.email.contains(needle, autoescape=True),
            )
        )
    total = session.scalar(select(func.count()).select_from(Participant).where(*conditions))
    rows = session.scalars(
        select(Participant)
        .where(*conditions)
        .options(selectinload(Participant.avoid_entries))
        .order_by(Participant.id)
        .offset((page - 1) * per_page)
        .limit(per_page)
    ).all()
    return ParticipantPage(
        items=[ParticipantOut.from_participant(p) for p in rows],
        total=total or 0,
        page=page,
        per_page=per_page,
    )


@router.post(
    "",
    status_code=201,
    response_model=ParticipantOut,
    summary="Create a participant",
    responses=problems(401, 409),
)
def create_participant(
    data: ParticipantCreate,
    organization: ApiOrganization,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
    request: Request,
    tasks: BackgroundTasks,
) -> ParticipantOut:
    """Add a participant on the hospital's behalf.

    They are active at once, unless `require_confirmation` is true: then they stay pending
    and are emailed a confirmation link. 409 if the email address is already registered in
    the organization; 422 if a field is invalid or the address is outside the allowed
    email domains.
    """
    registration = service.register(
        session, organization, data, source="api", active=not data.require_confirmation
    )
    if not registration.created:
        raise Conflict(
            f"A participant with the email address {data.email} already exists.",
            fields={"email": "is already registered"},
        )
    participant = registration.participant
    if data.require_confirmation:
        key = flows.send_confirmation(session, settings, links, organization, participant)
        tasks.add_task(flows.deliver_now, request.app.state, [key])
    return ParticipantOut.from_participant(participant)


@router.get(
    "/{participant_id}",
    response_model=ParticipantOut,
    summary="Read a participant",
    responses=problems(401, 404),
)
def read_participant(
    participant_id: ParticipantId, organization: ApiOrganization, session: SessionDep
) -> ParticipantOut:
    """One participant of the token's organization; 404 for any other id."""
    return ParticipantOut.from_participant(
        service.get_participant(session, organization, participant_id)
    )


@router.patch(
    "/{participant_id}",
    response_model=ParticipantOut,
    summary="Update a participant",
    responses=problems(401, 404),
)
def update_participant(
    participant_id: ParticipantId,
    data: ParticipantUpdate,
    organization: ApiOrganization,
    session: SessionDep,
) -> ParticipantOut:
    """Change only the fields given. `status` may be set to active, paused (with
    `paused_until`) or left; the email address cannot change.
    """
    participant = service.get_participant(session, organization, participant_id)
    service.update_from_api(participant, data)
    session.flush()
    return ParticipantOut.from_participant(participant)
