"""A participant's own space, behind a long-lived signed link ("member" purpose).

Emails carry this link so that, weeks after a chat, a clinician can still open the
organization's resource library, ask for a warm introduction or print their participation
record without asking for a new link. The link grants nothing that changes the profile:
editing, pausing, leaving and deleting stay behind the short-lived manage link.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.member_links import (  # noqa: F401  (re-exported for the member pages)
    MEMBER_LINK_SECONDS,
    member_path,
    member_token,
    member_url,
    read_member_token,
)
from service.public.emailed_links import MemberLinkDep
from service.public.forms import NO_STORE
from service.templating import render

router = APIRouter()


@router.get("/o/{org_slug}/my/{token}", response_class=HTMLResponse)
def member_home(request: Request, member: MemberLinkDep) -> Response:
    context = {"org": member.org, "participant": member.participant, "base": member.path()}
    return render(request, "public/member_home.html", context, headers=NO_STORE)
