"""The resource library for participants, behind their member link.

`/o/{slug}/my/{token}/library` lists the organization's visible resources (search, tag and
topic filters, newest or most useful first, paginated) and lets the reader mark a resource
"useful" once. Sharing a resource is in `library_share`.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.deps import CsrfChecked, SessionDep
from service.errors import NotFound
from service.library import search as library_search
from service.library import service as library
from service.library.search import LibraryFilters
from service.models import Participant, Resource
from service.public.emailed_links import MemberLinkDep
from service.public.forms import NO_STORE, PostedForm
from service.public.round_common import error_page, form_text
from service.templating import render

router = APIRouter()

# Messages are picked by code: text from the query string is never shown.
FLASH_MESSAGES = {
    "shared": "Thank you! Your link is in the library.",
    "already": "That link is already in the library, thank you anyway. "
    "If it helped you, mark it as useful.",
    "useful": "Thank you: marked as useful.",
    "voted": "You've marked this one as useful before.",
    "own": "You shared this one, so it isn't yours to mark as useful.",
}


def site_name(url: str) -> str:
    """The website a link points to, as people say it ("nejm.org")."""
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def safe_href(url: str) -> str:
    # Only http(s) is ever stored (see service.library.validation); belt and braces for
    # anything that reached the table some other way: no other scheme becomes a link.
    return url if url.lower().startswith(("http://", "https://")) else ""


def resource_cards(
    items: list[tuple[Resource, str]], voted: set[int], reader: Participant | None
) -> list[dict[str, object]]:
    return [
        {
            "r": resource,
            "href": safe_href(resource.url),
            "site": site_name(resource.url),
            "topic_title": topic_title,
            "voted": resource.id in voted,
            "own": reader is not None and resource.participant_id == reader.id,
        }
        for resource, topic_title in items
    ]


@router.get("/o/{org_slug}/my/{token}/library", response_class=HTMLResponse)
def library_page(
    request: Request,
    member: MemberLinkDep,
    session: SessionDep,
    q: str = "",
    tag: str = "",
    topic: str = "",
    sort: str = "",
    done: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> Response:
    org, participant = member.org, member.participant
    filters = LibraryFilters.from_query(q=q, tag=tag, topic=topic, sort=sort)
    number = library_search.parse_page(page_number)
    found = library_search.search(session, org, filters, page=number)
    voted = library.voted_ids(session, participant, [r.id for r, _ in found.items])
    base = member.path()
    context = {
        "org": org,
        "participant": participant,
        "base": base,
        "filters": filters,
        "found": found,
        "cards": resource_cards(found.items, voted, participant),
        "tags": library_search.tags_in_use(session, org),
        "topics": library_search.topic_choices(session, org),
        "sorts": library_search.SORTS,
        "flash": FLASH_MESSAGES.get(done, ""),
        "prev_query": filters.query_string(page=found.number - 1) if found.number > 1 else "",
        "next_query": (
            filters.query_string(page=found.number + 1) if found.number < found.pages else ""
        ),
    }
    return render(request, "public/library.html", context, headers=NO_STORE)


@router.post(
    "/o/{org_slug}/my/{token}/library/{resource_id}/useful", dependencies=[CsrfChecked]
)
def mark_useful(
    request: Request,
    resource_id: int,
    posted: PostedForm,
    member: MemberLinkDep,
    session: SessionDep,
) -> Response:
    org, participant = member.org, member.participant
    try:
        resource = library.visible_resource(session, org, resource_id)
    except NotFound as exc:
        return error_page(request, exc)
    status = library.mark_useful(session, resource, participant)
    code = {"counted": "useful", "already": "voted", "own": "own"}[status]
    # Back to the same page of the same search, at the resource just marked.
    filters = LibraryFilters.from_query(
        q=form_text(posted, "q"),
        tag=form_text(posted, "tag"),
        topic=form_text(posted, "topic"),
        sort=form_text(posted, "sort"),
    )
    page = library_search.parse_page(form_text(posted, "page") or "1")
    query = filters.query_string(page=page if page > 1 else 0, done=code)
    url = f"{member.path('library')}?{query}#resource-{resource.id}"
    return RedirectResponse(url, status_code=303, headers=NO_STORE)
