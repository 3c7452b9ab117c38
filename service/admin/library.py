"""The resource library on the dashboard: search it, hide or show a resource, export it.

Hiding is for spam, broken or unsuitable links: a hidden resource disappears from the
participants' library and from invites, and stays hidden when someone shares the same link
again (the URL is unique per organization). Every hide and unhide is audited.
CSV import lives in `library_import`.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service import audit
from service.admin import flash
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.deps import CsrfChecked, SessionDep
from service.library import csv_io
from service.library import search as library_search
from service.library import service as library
from service.library.search import LibraryFilters
from service.public.forms import PostedForm
from service.public.library import safe_href, site_name
from service.public.round_common import form_text

router = APIRouter(prefix="/admin/o/{slug}/library")


def list_url(ctx: AdminContext, filters: LibraryFilters | None = None, page: int = 1) -> str:
    query = filters.query_string(page=page if page > 1 else 0) if filters else ""
    return f"/admin/o/{ctx.org.slug}/library" + (f"?{query}" if query else "")


@router.get("", response_class=HTMLResponse)
def library_list(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    q: str = "",
    tag: str = "",
    topic: str = "",
    sort: str = "",
    status: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> HTMLResponse:
    org = ctx.org
    filters = LibraryFilters.from_query(
        admin=True, q=q, tag=tag, topic=topic, sort=sort, status=status or "all"
    )
    number = library_search.parse_page(page_number)
    found = library_search.search(session, org, filters, page=number)
    zone = ZoneInfo(org.timezone)
    rows = [
        {
            "r": resource,
            "href": safe_href(resource.url),
            "site": site_name(resource.url),
            "topic_title": topic_title,
            "shared": resource.created_at.astimezone(zone).strftime("%Y-%m-%d"),
            "hidden": (
                resource.hidden_at.astimezone(zone).strftime("%Y-%m-%d")
                if resource.hidden_at
                else ""
            ),
        }
        for resource, topic_title in found.items
    ]
    return page(
        request,
        ctx,
        "admin/library/list.html",
        {
            "rows": rows,
            "found": found,
            "filters": filters,
            "tags": library_search.tags_in_use(session, org),
            "topics": library_search.topic_choices(session, org),
            "sorts": library_search.SORTS,
            "statuses": library_search.STATUSES,
            "prev_query": filters.query_string(page=found.number - 1) if found.number > 1 else "",
            "next_query": (
                filters.query_string(page=found.number + 1) if found.number < found.pages else ""
            ),
        },
        section="library",
        session=session,
    )


def _set_hidden(
    request: Request,
    ctx: AdminContext,
    session: SessionDep,
    resource_id: int,
    posted: PostedForm,
    *,
    hidden: bool,
) -> RedirectResponse:
    resource = library.org_resource(session, ctx.org, resource_id)
    filters = LibraryFilters.from_query(
        admin=True, **{name: form_text(posted, name) for name in LibraryFilters.names()}
    )
    back = list_url(ctx, filters, library_search.parse_page(form_text(posted, "page") or "1"))
    changed = library.set_hidden(session, ctx.org, resource, hidden=hidden, actor=ctx.actor)
    if not changed:
        state = "hidden" if hidden else "visible"
        return flash.redirect(request, back, f"“{resource.title}” is {state} already.", "info")
    message = (
        f"“{resource.title}” is hidden: participants no longer see it, and sharing the same "
        "link again will not bring it back."
        if hidden
        else f"“{resource.title}” is back in the library."
    )
    return flash.redirect(request, back, message)


@router.post("/{resource_id}/hide", dependencies=[CsrfChecked])
def hide(
    request: Request, resource_id: int, ctx: OrgDep, session: SessionDep, posted: PostedForm
) -> RedirectResponse:
    return _set_hidden(request, ctx, session, resource_id, posted, hidden=True)


@router.post("/{resource_id}/unhide", dependencies=[CsrfChecked])
def unhide(
    request: Request, resource_id: int, ctx: OrgDep, session: SessionDep, posted: PostedForm
) -> RedirectResponse:
    return _set_hidden(request, ctx, session, resource_id, posted, hidden=False)


@router.get("/export.csv")
def export_csv(ctx: OrgDep, session: SessionDep) -> Response:
    """Every resource, hidden ones marked, in the format the import reads."""
    resources = csv_io.resources_for_export(session, ctx.org)
    buffer = io.StringIO()
    count = csv_io.write_resources_csv(
        resources, library_search.topic_titles(session, ctx.org), buffer
    )
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="resource.export",
        target_type="resources",
        after={"rows": count},
    )
    today = datetime.now(ZoneInfo(ctx.org.timezone)).date().isoformat()
    return Response(
        buffer.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="library-{ctx.org.slug}-{today}.csv"',
            "Cache-Control": "no-store",
        },
    )
