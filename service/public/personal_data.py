"""The "Download my data" file: everything we hold about a participant, as JSON.

Behind the short-lived manage link (the same credential as editing or deleting), not the
long-lived member link: the file holds the whole profile, the avoid list included.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter
from fastapi.responses import Response

from service.deps import SessionDep
from service.participants.personal_data import personal_data
from service.public.emailed_links import ManageLinkDep
from service.public.forms import NO_STORE

router = APIRouter()


@router.get("/o/{org_slug}/manage/{token}/export.json")
def export_my_data(holder: ManageLinkDep, session: SessionDep) -> Response:
    org = holder.org
    data = personal_data(session, org, holder.participant)
    today = datetime.now(ZoneInfo(org.timezone)).date().isoformat()
    filename = f"coffee-rounds-my-data-{org.slug}-{today}.json"
    return Response(
        data.model_dump_json(indent=2),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )
