"""What the dashboard's participant table reads: filters, one page of rows, the choices.

Every statement here is built once per process (per combination of filters) and executed
with bound values; the filter choices and the total come from ``participant_facet``, a few
rows per department and site, instead of a pass over every participant on each view.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from functools import lru_cache
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from service import list_queries
from service.list_queries import LIKE_ESCAPE, escape_like
from service.models import Membership, Organization, Participant, ParticipantFacet, Round

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


def parse_page(raw: str) -> int:
    return list_queries.parse_page(raw, last=MAX_PAGE)


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

    def bound_conditions(self) -> tuple[tuple[ColumnElement[bool], ...], dict[str, str]]:
        """The conditions with named parameters, and the parameter values.

        The conditions depend only on which filters are set, so the statements built from
        them are built once per combination (see page_statements); the values are bound
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
def page_statements(active: tuple[str, ...]) -> _PageStatements:
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
    """Every participant the filters show, values bound (the export)."""
    where, values = filters.bound_conditions()
    # Bound on the statement: SQLAlchemy 2.1 deprecates params() on single conditions.
    return select(Participant).where(*where).params(org_id=org.id, **values)


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
