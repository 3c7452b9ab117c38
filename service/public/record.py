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

from service.deps import SessionDep
from service.participation import participation_record
from service.participation.csv_output import own_record_csv
from service.public.emailed_links import MemberLinkDep
from service.public.forms import NO_STORE
from service.templating import render

router = APIRouter()


@router.get("/o/{org_slug}/my/{token}/record", response_class=HTMLResponse)
def record_page(request: Request, member: MemberLinkDep, session: SessionDep) -> Response:
    org = member.org
    record = participation_record(session, org, member.participant)
    context = {
        "org": org,
        "record": record,
        "totals": record.totals,
        "base": member.path(),
        "printed_on": datetime.now(ZoneInfo(org.timezone)).strftime("%d %B %Y").lstrip("0"),
    }
    return render(request, "public/record.html", context, headers=NO_STORE)


@router.get("/o/{org_slug}/my/{token}/record.csv")
def record_csv(member: MemberLinkDep, session: SessionDep) -> Response:
    org = member.org
    record = participation_record(session, org, member.participant)
    today = datetime.now(ZoneInfo(org.timezone)).date().isoformat()
    filename = f"coffee-rounds-record-{org.slug}-{today}.csv"
    return Response(
        own_record_csv(record.entries),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', **NO_STORE},
    )
