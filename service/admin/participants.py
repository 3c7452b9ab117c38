"""The Participants area: a searchable table, a profile page, and pause / reactivate / remove.

The table is paginated in SQL and "last met" is one grouped query over the page's people, so
the page costs the same with 100 participants or 10,000.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from service import audit
from service.admin import flash
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.admin.participant_profile import profile_context
from service.deps import CsrfChecked, SessionDep
from service.errors import DomainError
from service.models import Membership, Organization, Participant, ParticipantFacet, Round
from service.models.participant import STATUSES
from service.participants import service
from service.participants.schemas import ROLE_LABELS, ParticipantUpdate

router = APIRouter(prefix="/admin/o/{slug}/participants")

PAGE_SIZE = 50
# What the table shows of each person: the profile's JSON lists are not decoded for it.
TABLE_COLUMNS = (
    Participant.full_name,
    Participant.email,
    Participant.role,
    Participant.department,
    Participant.site,
    Participant.status,
    Participant.created_at,
)
MAX_PAGE = 100_000  # keeps OFFSET small and an absurd ?page= harmless
LIKE_ESCAPE = "/"


def escape_like(text: str) -> str:
    """Make %, _ and the escape character match themselves in a LIKE pattern."""
    for char in (LIKE_ESCAPE, "%", "_"):
        text = text.replace(char, LIKE_ESCAPE + char)
    return text


def parse_page(raw: str) -> int:
    try:
        return min(max(int(raw), 1), MAX_PAGE)
    except ValueError:
        return 1


@dataclass(frozen=True)
class ParticipantFilters:
    """What the table shows: the same filters drive the page, its counts and the export."""

    q: str = ""
    role: str = ""
    department: str = ""
    site: str = ""
    status: str = ""

    @classmethod
    def from_query(cls, **values: str) -> ParticipantFilters:
        # Over-long values can never match a column (120 characters at most): cut them.
        return cls(**{name: (values.get(name) or "").strip()[:200] for name in cls.names()})

    @staticmethod
    def names() -> list[str]:
        return [f.name for f in fields(ParticipantFilters)]

    @property
    def active(self) -> bool:
        return any(getattr(self, name) for name in self.names())

    def conditions(self, org: Organization) -> list[ColumnElement[bool]]:
        """The filters as SQL conditions for `org`, their values already bound (the export)."""
        where, values = self.bound_conditions()
        return [condition.params(org_id=org.id, **values) for condition in where]

    def bound_conditions(self) -> tuple[tuple[ColumnElement[bool], ...], dict[str, str]]:
        """The conditions with named parameters, and the parameter values.

        The conditions depend only on which filters are set, so the statements built from
        them are built once per combination (see _page_statements); the values are bound
        on each execution. ``org_id`` is left for the caller.
        """
        active = tuple(name for name in self.names() if getattr(self, name))
        values = {name: getattr(self, name) for name in active}
        if self.q:
            values["q"] = f"%{escape_like(self.q)}%"
        return _conditions(active), values

    def query_string(self, **extra: object) -> str:
        values: dict[str, object] = {n: getattr(self, n) for n in self.names() if getattr(self, n)}
        values.update({k: v for k, v in extra.items() if v})
        return urlencode(values)


@lru_cache(maxsize=64)
def _conditions(active: tuple[str, ...]) -> tuple[ColumnElement[bool], ...]:
    where: list[ColumnElement[bool]] = [Participant.organization_id == bindparam("org_id")]
    if "q" in active:
        pattern = bindparam("q")
        where.append(
            or_(
                Participant.full_name.ilike(pattern, escape=LIKE_ESCAPE),
                Participant.email.ilike(pattern, escape=LIKE_ESCAPE),
            )
        )
    for name in ("role", "department", "site"):
        if name in active:
            where.append(getattr(Participant, name) == bindparam(name))
    # Deleted people are anonymous rows kept for statistics: shown only when asked for.
    if "status" in active:
        where.append(Participant.status == bindparam("status"))
    else:
        where.append(Participant.status != "deleted")
    return tuple(where)


@dataclass(frozen=True)
class _PageStatements:
    count: Select[tuple[int]]
    rows: Select[Any]


@lru_cache(maxsize=64)
def _page_statements(active: tuple[str, ...]) -> _PageStatements:
    """The page's count and rows for one combination of filters, built once per process."""
    where = _conditions(active)
    return _PageStatements(
        count=select(func.count()).select_from(Participant).where(*where),
        rows=select(Participant.id, *TABLE_COLUMNS)
        .where(*where)
        .order_by(Participant.full_name, Participant.id)
        .limit(bindparam("limit"))
        .offset(bindparam("offset")),
    )


def filtered(org: Organization, filters: ParticipantFilters) -> Select[tuple[Participant]]:
    return select(Participant).where(*filters.conditions(org))


@lru_cache(maxsize=1)
def _last_met_statement() -> Select[tuple[int, str]]:
    return (
        select(Membership.participant_id, func.max(Round.month))
        .join(Round, Round.id == Membership.round_id)
        .where(
            Round.organization_id == bindparam("org_id"),
            Round.status == "sent",
            Membership.status == "invited",
            Membership.participant_id.in_(bindparam("ids", expanding=True)),
        )
        .group_by(Membership.participant_id)
    )


def last_met_months(session: Session, org: Organization, ids: list[int]) -> dict[int, str]:
    """The latest sent round each person was in (and did not drop out of), e.g. '2026-11'."""
    if not ids:
        return {}
    rows = session.execute(_last_met_statement(), {"org_id": org.id, "ids": ids}).all()
    return {participant_id: month for participant_id, month in rows}


def month_label(month: str | None) -> str:
    if not month:
        return ""
    try:
        return datetime.strptime(month, "%Y-%m").strftime("%b %Y")
    except ValueError:
        return month


def local_date(moment: datetime | None, org: Organization) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(org.timezone)).strftime("%Y-%m-%d")


@dataclass(frozen=True)
class FilterChoices:
    """The department and site filter lists, and how many (non-deleted) people there are."""

    departments: list[str]
    sites: list[str]
    everyone: int


@lru_cache(maxsize=1)
def _filter_choices_statement() -> Select[tuple[str, str, int, int]]:
    people = func.sum(ParticipantFacet.people)
    return (
        select(
            ParticipantFacet.department,
            ParticipantFacet.site,
            people,
            func.dense_rank().over(order_by=ParticipantFacet.site),
        )
        .where(ParticipantFacet.organization_id == bindparam("org_id"))
        .group_by(ParticipantFacet.department, ParticipantFacet.site)
        .having(people > 0)
        .order_by(ParticipantFacet.department)
    )


def filter_choices(session: Session, org: Organization) -> FilterChoices:
    """Both filter lists and the unfiltered count, from the per-(department, site) counts.

    ``participant_facet`` is kept exact by database triggers (migration 0005), so this reads
    a few rows per department and site instead of every participant, on each view.
    The lists keep the database's collation order (ORDER BY, and a rank for the sites).
    """
    rows = session.execute(_filter_choices_statement(), {"org_id": org.id}).all()
    departments = list(dict.fromkeys(department for department, _, _, _ in rows if department))
    site_rank = {site: rank for _, site, _, rank in rows if site}
    return FilterChoices(
        departments=departments,
        sites=sorted(site_rank, key=site_rank.__getitem__),
        everyone=sum(count for _, _, count, _ in rows),
    )


@router.get("", response_class=HTMLResponse)
def participant_list(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    q: str = "",
    role: str = "",
    department: str = "",
    site: str = "",
    status: str = "",
    page_number: Annotated[str, Query(alias="page")] = "1",
) -> HTMLResponse:
    org = ctx.org
    filters = ParticipantFilters.from_query(
        q=q, role=role, department=department, site=site, status=status
    )
    number = parse_page(page_number)
    choices = filter_choices(session, org)
    _, values = filters.bound_conditions()
    statements = _page_statements(tuple(values))
    params = {"org_id": org.id, **values}
    total = choices.everyone
    if filters.active:
        total = session.scalar(statements.count, params) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(number, pages)
    # Plain rows, not Participant objects: the table shows seven columns of 50 people.
    people = session.execute(
        statements.rows, {**params, "limit": PAGE_SIZE, "offset": (number - 1) * PAGE_SIZE}
    ).all()
    last_met = last_met_months(session, org, [p.id for p in people])
    rows = [
        {
            "p": p,
            "joined": local_date(p.created_at, org),
            "last_met": month_label(last_met.get(p.id)),
        }
        for p in people
    ]
    return page(
        request,
        ctx,
        "admin/participants/list.html",
        {
            "rows": rows,
            "filters": filters,
            "total": total,
            "page_number": number,
            "pages": pages,
            "first_shown": (number - 1) * PAGE_SIZE + 1 if rows else 0,
            "last_shown": (number - 1) * PAGE_SIZE + len(rows),
            "prev_query": filters.query_string(page=number - 1) if number > 1 else "",
            "next_query": filters.query_string(page=number + 1) if number < pages else "",
            "export_query": filters.query_string(),
            "roles": ROLE_LABELS,
            "departments": choices.departments,
            "sites": choices.sites,
            "statuses": STATUSES,
        },
        section="participants",
        session=session,
    )


@router.get("/{participant_id:int}", response_class=HTMLResponse)
def participant_profile(
    request: Request, ctx: OrgDep, session: SessionDep, participant_id: int
) -> HTMLResponse:
    participant = service.get_participant(session, ctx.org, participant_id)
    return page(
        request,
        ctx,
        "admin/participants/profile.html",
        profile_context(session, ctx, participant),
        section="participants",
        session=session,
    )


def _status_snapshot(p: Participant) -> dict[str, object]:
    return {"status": p.status, "paused_until": p.paused_until, "left_at": p.left_at}


def _record(
    session: Session, ctx: AdminContext, p: Participant, action: str, before: dict[str, object]
) -> None:
    old, new = audit.changes(before, _status_snapshot(p))
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action=action,
        target_type="participant",
        target_id=p.id,
        before=old,
        after=new,
    )


def _profile_url(ctx: AdminContext, participant_id: int) -> str:
    return f"/admin/o/{ctx.org.slug}/participants/{participant_id}"


@router.post("/{participant_id:int}/pause", dependencies=[CsrfChecked])
def pause_participant(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    participant_id: int,
    months: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    p = service.get_participant(session, ctx.org, participant_id)
    before = _status_snapshot(p)
    try:
        until = service.pause(p, int(months) if months.strip().isdigit() else 0)
    except DomainError as exc:
        return flash.redirect(request, _profile_url(ctx, p.id), exc.message, "error")
    _record(session, ctx, p, "participant.pause", before)
    return flash.redirect(
        request, _profile_url(ctx, p.id), f"{p.full_name} is paused until {until:%d %B %Y}."
    )


@router.post("/{participant_id:int}/reactivate", dependencies=[CsrfChecked])
def reactivate_participant(
    request: Request, ctx: OrgDep, session: SessionDep, participant_id: int
) -> Response:
    p = service.get_participant(session, ctx.org, participant_id)
    if p.status not in ("paused", "left"):
        return flash.redirect(
            request,
            _profile_url(ctx, p.id),
            f"Only a paused participant or one who left can be reactivated ({p.status} now).",
            "error",
        )
    before = _status_snapshot(p)
    service.update_from_api(p, ParticipantUpdate(status="active"))
    p.left_at = None
    session.flush()
    _record(session, ctx, p, "participant.reactivate", before)
    return flash.redirect(
        request, _profile_url(ctx, p.id), f"{p.full_name} is active again from the next round."
    )


@router.get("/{participant_id:int}/remove", response_class=HTMLResponse)
def remove_form(
    request: Request, ctx: OrgDep, session: SessionDep, participant_id: int
) -> HTMLResponse:
    p = service.get_participant(session, ctx.org, participant_id)
    return _remove_page(request, ctx, session, p, error="", typed="")


def _remove_page(
    request: Request,
    ctx: AdminContext,
    session: Session,
    p: Participant,
    *,
    error: str,
    typed: str,
    status_code: int = 200,
) -> HTMLResponse:
    has_history = session.scalar(
        select(Membership.id).where(Membership.participant_id == p.id).limit(1)
    )
    return page(
        request,
        ctx,
        "admin/participants/remove.html",
        {"p": p, "error": error, "typed": typed, "has_history": has_history is not None},
        section="participants",
        session=session,
        status_code=status_code,
    )


@router.post("/{participant_id:int}/remove", dependencies=[CsrfChecked])
def remove_participant(
    request: Request,
    ctx: OrgDep,
    session: SessionDep,
    participant_id: int,
    confirm_email: Annotated[str, Form(max_length=254)] = "",
    confirmed: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    p = service.get_participant(session, ctx.org, participant_id)
    if confirmed != "yes" and confirm_email.strip().lower() != p.email:
        return _remove_page(
            request,
            ctx,
            session,
            p,
            error="To remove this person, type their email address exactly or tick the box.",
            typed=confirm_email,
            status_code=422,
        )
    # The log keeps no name or email: the point of removing is that they are gone.
    before = {"status": p.status}
    target_id, name = p.id, p.full_name
    service.erase(session, p)
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="participant.remove",
        target_type="participant",
        target_id=target_id,
        before=before,
        after={"status": "deleted"},
    )
    return flash.redirect(
        request,
        f"/admin/o/{ctx.org.slug}/participants",
        f"{name}'s personal data is deleted.",
    )
