"""Self-service for participants: sign up, confirm, and manage a profile with a manage token.

These endpoints need no API token. Answers never reveal whether an address is registered.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response

from service.api.auth import LinkOrganization, ManagedParticipant
from service.api.json_route import MAX_BODY_BYTES, StrictJSONRoute
from service.api.schemas import (
    AcceptedOut,
    ConfirmationIn,
    ManageLinkIn,
    PauseIn,
    problems,
)
from service.deps import LinksDep, SessionDep, SettingsDep
from service.participants import flows, service
from service.participants.personal_data import PersonalDataExport, personal_data
from service.participants.schemas import ParticipantIn, ParticipantOut, ProfileIn
from service.rate_limit import SignupRateLimited

router = APIRouter(
    prefix="/organizations/{slug}", tags=["self-service"],
    route_class=StrictJSONRoute,
    max_body_size=MAX_BODY_BYTES,
)

SIGNUP_ACCEPTED = AcceptedOut(
    status="pending_confirmation",
    detail="If this address can join, we have emailed a confirmation link.",
)
MANAGE_LINK_ACCEPTED = AcceptedOut(
    status="sent_if_registered",
    detail="If this address is registered, we have emailed a link to manage the profile.",
)
_TOKEN_PROBLEMS = problems(400, 401, 404, 410)


def _deliver_after_commit(request: Request, tasks: BackgroundTasks, keys: list[str]) -> None:
    # Background tasks run after the response, hence after the request's commit.
    tasks.add_task(flows.deliver_now, request.app.state, keys)


def _profile(session: SessionDep, participant: ManagedParticipant) -> ParticipantOut:
    session.flush()
    return ParticipantOut.from_participant(participant)


@router.post(
    "/signups",
    status_code=202,
    response_model=AcceptedOut,
    summary="Sign up (double opt-in)",
    responses=problems(404, 429),
    dependencies=[SignupRateLimited],
)
def create_signup(
    data: ParticipantIn,
    organization: LinkOrganization,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
    request: Request,
    tasks: BackgroundTasks,
) -> AcceptedOut:
    """Register someone and email them a confirmation link; they take part once confirmed.

    The answer is the same whether or not the address was already registered (someone
    already registered is emailed their manage link instead, and their profile is left
    unchanged). 422 if a field is invalid or the address is outside the organization's
    allowed email domains.
    """
    outcome = flows.signup(session, settings, links, organization, data)
    _deliver_after_commit(request, tasks, outcome.email_keys)
    return SIGNUP_ACCEPTED


@router.post(
    "/manage-links",
    status_code=202,
    response_model=AcceptedOut,
    summary="Email me my manage link",
    responses=problems(404, 429),
    dependencies=[SignupRateLimited],
)
def request_manage_link(
    data: ManageLinkIn,
    organization: LinkOrganization,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
    request: Request,
    tasks: BackgroundTasks,
) -> AcceptedOut:
    """Email a link to manage the profile, if the address is registered.

    The answer is the same either way. Someone who has not confirmed yet gets a fresh
    confirmation link instead.
    """
    outcome = flows.request_manage_link(session, settings, links, organization, data.email)
    _deliver_after_commit(request, tasks, outcome.email_keys)
    return MANAGE_LINK_ACCEPTED


@router.post(
    "/confirmations",
    response_model=ParticipantOut,
    summary="Confirm a signup",
    responses=problems(400, 404, 410),
)
def confirm_signup(
    data: ConfirmationIn,
    organization: LinkOrganization,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> ParticipantOut:
    """Confirm a signup with the token from the confirmation email; returns the profile.

    Confirming twice is harmless. 400 if the token is not valid, 410 if it has expired.
    """
    participant = flows.confirm(session, settings, links, organization, data.token)
    return ParticipantOut.from_participant(participant)


@router.get(
    "/me",
    response_model=ParticipantOut,
    summary="Read my profile",
    responses=_TOKEN_PROBLEMS,
)
def read_my_profile(session: SessionDep, participant: ManagedParticipant) -> ParticipantOut:
    """The profile of the participant whose manage token is in `X-Manage-Token`."""
    return _profile(session, participant)


@router.get(
    "/me/export",
    response_model=PersonalDataExport,
    summary="Download all my data",
    responses=_TOKEN_PROBLEMS,
)
def export_my_data(
    organization: LinkOrganization, session: SessionDep, participant: ManagedParticipant
) -> PersonalDataExport:
    """Everything the service holds about the participant: profile, groups, feedback,
    shared resources and votes, introduction requests and asks, emails (without their
    content) and audit events. `notes` says what is left out because it is others' data."""
    return personal_data(session, organization, participant)


@router.put(
    "/me",
    response_model=ParticipantOut,
    summary="Replace my profile",
    responses=_TOKEN_PROBLEMS,
)
def update_my_profile(
    data: ProfileIn, session: SessionDep, participant: ManagedParticipant
) -> ParticipantOut:
    """Replace every editable field of the profile (the email address cannot change here)."""
    service.apply_profile(participant, data)
    return _profile(session, participant)


@router.post(
    "/me/pause",
    response_model=ParticipantOut,
    summary="Pause for 1-3 months",
    responses=_TOKEN_PROBLEMS,
)
def pause_me(data: PauseIn, session: SessionDep, participant: ManagedParticipant) -> ParticipantOut:
    """Skip the next 1, 2 or 3 monthly rounds; `paused_until` says when matching resumes.

    422 if the participant is not active (for example not confirmed yet).
    """
    service.pause(participant, data.months)
    return _profile(session, participant)


@router.post(
    "/me/resume",
    response_model=ParticipantOut,
    summary="Resume after a pause",
    responses=_TOKEN_PROBLEMS,
)
def resume_me(session: SessionDep, participant: ManagedParticipant) -> ParticipantOut:
    """End a pause now, so the participant is included in the next round."""
    service.resume(participant)
    return _profile(session, participant)


@router.post(
    "/me/leave",
    response_model=ParticipantOut,
    summary="Leave the programme",
    responses=_TOKEN_PROBLEMS,
)
def leave_me(session: SessionDep, participant: ManagedParticipant) -> ParticipantOut:
    """Stop taking part; the profile is kept. The manage token stops working at once.

    Signing up again later reactivates the profile after a new confirmation.
    """
    service.leave(participant)
    return _profile(session, participant)


@router.delete(
    "/me",
    status_code=204,
    response_class=Response,
    summary="Delete all my data",
    responses=_TOKEN_PROBLEMS,
)
def delete_me(session: SessionDep, participant: ManagedParticipant) -> Response:
    """Delete the participant's personal data everywhere; the manage token stops working.

    Past groups keep an anonymous placeholder so the programme's statistics still add up.
    """
    service.erase(session, participant)
    return Response(status_code=204)
