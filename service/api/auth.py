"""Who is calling: an organization's API token (HR systems) or a participant's manage token."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from service.accounts import authenticate_token
from service.api.schemas import MAX_TOKEN_LENGTH, OrganizationSlug
from service.deps import LinksDep, SessionDep, SettingsDep
from service.errors import LinkInvalid, Unauthorized
from service.models import Organization, Participant
from service.participants import flows, service

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiToken",
    description="An organization's API token (`coffeerounds create-token --org SLUG`), sent as "
    "`Authorization: Bearer cr_…`. A token only ever sees its own organization.",
)
_manage_token = APIKeyHeader(
    name="X-Manage-Token",
    auto_error=False,
    scheme_name="ManageToken",
    description="The token at the end of a participant's manage link (…/manage/{token}); "
    "ask for a new link with POST /organizations/{slug}/manage-links.",
)


def api_organization(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Organization:
    """The organization whose API token was presented; 401 otherwise."""
    if credentials is None:
        raise Unauthorized("Send your API token as 'Authorization: Bearer <token>'.")
    token = authenticate_token(session, credentials.credentials)
    if token is None:
        raise Unauthorized("This API token is not valid or has been revoked.")
    organization = session.get(Organization, token.organization_id)
    if organization is None:  # the organization went away between the two reads
        raise Unauthorized("This API token is not valid or has been revoked.")
    return organization


def link_organization(session: SessionDep, slug: OrganizationSlug) -> Organization:
    return service.get_organization(session, slug)


def manage_participant(
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
    organization: Annotated[Organization, Depends(link_organization)],
    raw_token: Annotated[str | None, Depends(_manage_token)],
) -> Participant:
    """The participant whose manage link token was presented in X-Manage-Token."""
    if not raw_token:
        raise Unauthorized("Send the token from your manage link in the X-Manage-Token header.")
    if len(raw_token) > MAX_TOKEN_LENGTH:
        raise LinkInvalid("This link is not valid. It may have been copied incompletely.")
    return flows.participant_from_link(
        session, settings, links, organization, raw_token, purpose="manage"
    )


ApiOrganization = Annotated[Organization, Depends(api_organization)]
LinkOrganization = Annotated[Organization, Depends(link_organization)]
ManagedParticipant = Annotated[Participant, Depends(manage_participant)]
