"""A participant's participation record behind their member link: a printable page and a CSV.

The page prints cleanly (static/css/print.css) for a wellbeing portfolio or an appraisal.
Names of the colleagues they met and their own reflections appear here and nowhere in the
organization's export.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.deps import LinksDep, SessionDep
from service.errors import LinkExpired, LinkInvalid
from service.participants import service
from service.participation import participation_record
from service.participation.csv_output import own_record_csv
from service.public.forms import NO_STORE
from service.public.join import link_problem
from service.public.member import member_path, read_member_token
from service.templating import render

router = APIRouter()


@router.get("/o/{org_slug}/my/{token}/record", response_class=HTMLResponse)
def record_page(
    request: Request, org_slug: str, token: str, session: SessionDep, links: LinksDep
) -> Response:
    org = service.get_organization(session, org_slug)
    try:
        participant = read_member_token(session, links, org, token)
    except (LinkExpired, LinkInvalid) as exc:
        return link_problem(request, org, exc)
    record = participation_record(session, org, participant)
    context = {
        "org": org,
        "record": record,
        "totals": record.totals,
        "base": member_path(org, token),
        "printed_on": datetime.now(ZoneInfo(org.timezone)).strftime("%d %B %Y").lstrip("0"),
    }
    return render(request, "public/record.html", context, headers=NO_STORE)


@router.get("/o/{org_slug}/my/{token}/record.csv")
def record_csv(
    request: Request, org_slug: str, token: str, session: SessionDep, links: LinksDep
) -> Response:
    org = service.get_organization(session, org_slug)
    try:
        participant = read_member_token(session, links, org, token)
    except (LinkExpired, LinkInvalid) as exc:
        return link_problem(request, org, exc)
    record = participation_record(session, org, participant)
    today = datetime.now(ZoneInfo(org.timezone)).date().isoformat()
    filename = f"coffee-rounds-record-{org.slug}-{today}.csv"
    return Response(
        own_record_csv(record.entries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )
