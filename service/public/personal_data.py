"""The "Download my data" file: everything we hold about a participant, as JSON.

Behind the short-lived manage link (the same credential as editing or deleting), not the
long-lived member link: the file holds the whole profile, the avoid list included.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import Response

from service.deps import LinksDep, SessionDep, SettingsDep
from service.errors import LinkExpired, LinkInvalid
from service.participants import flows, service
from service.participants.personal_data import personal_data
from service.public.forms import NO_STORE
from service.public.join import link_problem

router = APIRouter()


@router.get("/o/{org_slug}/manage/{token}/export.json")
def export_my_data(
    request: Request,
    org_slug: str,
    token: str,
    session: SessionDep,
    settings: SettingsDep,
    links: LinksDep,
) -> Response:
    org = service.get_organization(session, org_slug)
    try:
        participant = flows.participant_from_link(
            session, settings, links, org, token, purpose="manage"
        )
    except (LinkExpired, LinkInvalid) as exc:
        return link_problem(request, org, exc)
    data = personal_data(session, org, participant)
    today = datetime.now(ZoneInfo(org.timezone)).date().isoformat()
    filename = f"coffee-rounds-my-data-{org.slug}-{today}.json"
    return Response(
        data.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )
