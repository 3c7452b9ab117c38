"""Searching the resource library: the filters and order of the library pages (the same
for participants and admins), one page at a time in SQL, and the lists the filters offer.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, fields
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, Select, Text, cast, func, or_, select
from sqlalchemy.orm import Session

from service import list_queries
from service.library.service import topic_of
from service.library.validation import MAX_TAG
from service.list_queries import LIKE_ESCAPE, escape_like
from service.models import Organization, Resource, Topic

PAGE_SIZE = 20
MAX_PAGE = 10_000
SORTS = {"newest": "Newest first", "useful": "Most useful first"}
STATUSES = {"visible": "Visible", "hidden": "Hidden", "all": "All"}
MAX_SEARCH_WORDS = 8


def tag_condition(tag: str) -> ColumnElement[bool]:
    """The resource has exactly this tag.

    Tags are stored as a JSON list written by json.dumps, and a tag never contains a quote or
    a backslash (see validation), so '"tag"' occurs in the stored text exactly when the list
    holds it, on SQLite and PostgreSQL alike.
    """
    pattern = f"%{escape_like(json.dumps(tag))}%"
    return cast(Resource.tags, Text).like(pattern, escape=LIKE_ESCAPE)


def parse_page(raw: str) -> int:
    return list_queries.parse_page(raw, last=MAX_PAGE)


@dataclass(frozen=True)
class LibraryFilters:
    """The library's search box, filters and order; the same for participants and admins."""

    q: str = ""
    tag: str = ""
    topic: str = ""
    sort: str = "newest"
    status: str = "visible"

    @classmethod
    def from_query(cls, *, admin: bool = False, **values: str) -> LibraryFilters:
        # Over-long values cannot match anything useful: cut them, never fail on them.
        clean = {name: " ".join((values.get(name) or "").split())[:200] for name in cls.names()}
        clean["tag"] = clean["tag"].lower()[:MAX_TAG]
        topic = clean["topic"]
        clean["topic"] = topic if topic.isdigit() and len(topic) < 10 else ""
        clean["sort"] = clean["sort"] if clean["sort"] in SORTS else "newest"
        status = clean["status"] if admin else "visible"
        clean["status"] = status if status in STATUSES else "visible"
        return cls(**clean)

    @staticmethod
    def names() -> list[str]:
        return [f.name for f in fields(LibraryFilters)]

    @property
    def active(self) -> bool:
        return bool(self.q or self.tag or self.topic or self.status != "visible")

    @property
    def topic_id(self) -> int | None:
        return int(self.topic) if self.topic else None

    def query_string(self, **extra: object) -> str:
        """The filters as a query string (defaults left out), plus `extra` (e.g. page)."""
        values: dict[str, object] = {}
        for name in self.names():
            value = getattr(self, name)
            if value and value != getattr(LibraryFilters, name):
                values[name] = value
        values.update({k: v for k, v in extra.items() if v})
        return urlencode(values)

    def conditions(self, session: Session, org: Organization) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = [Resource.organization_id == org.id]
        if self.status == "visible":
            where.append(Resource.hidden_at.is_(None))
        elif self.status == "hidden":
            where.append(Resource.hidden_at.is_not(None))
        for word in self.q.split()[:MAX_SEARCH_WORDS]:
            pattern = f"%{escape_like(word)}%"
            tag_pattern = f"%{escape_like(json.dumps(word.lower())[1:-1])}%"
            where.append(
                or_(
                    Resource.title.ilike(pattern, escape=LIKE_ESCAPE),
                    Resource.why.ilike(pattern, escape=LIKE_ESCAPE),
                    cast(Resource.tags, Text).like(tag_pattern, escape=LIKE_ESCAPE),
                )
            )
        if self.tag:
            where.append(tag_condition(self.tag))
        if self.topic:
            # A topic's resources: shared from its chats, or tagged with one of its tags.
            topic = topic_of(session, org, self.topic_id)
            tags = [t.lower() for t in topic.tags] if topic is not None else []
            where.append(or_(Resource.topic_id == self.topic_id, *(tag_condition(t) for t in tags)))
        return where


@dataclass(frozen=True)
class LibraryPage:
    items: list[tuple[Resource, str]]  # each resource with its topic's title ("" if none)
    total: int
    number: int
    pages: int

    @property
    def first_shown(self) -> int:
        return (self.number - 1) * PAGE_SIZE + 1 if self.items else 0

    @property
    def last_shown(self) -> int:
        return self.first_shown + len(self.items) - 1 if self.items else 0


def filtered(
    session: Session, org: Organization, filters: LibraryFilters
) -> Select[tuple[Resource]]:
    order = (
        (Resource.useful_count.desc(), Resource.created_at.desc(), Resource.id.desc())
        if filters.sort == "useful"
        else (Resource.created_at.desc(), Resource.id.desc())
    )
    return select(Resource).where(*filters.conditions(session, org)).order_by(*order)


def search(
    session: Session, org: Organization, filters: LibraryFilters, *, page: int = 1
) -> LibraryPage:
    """One page of the library (PAGE_SIZE resources) in SQL, with the number of matches."""
    where = filters.conditions(session, org)
    total = session.scalar(select(func.count()).select_from(Resource).where(*where)) or 0
    pages = max(1, -(-total // PAGE_SIZE))
    number = min(max(page, 1), pages)
    resources = list(
        session.scalars(
            filtered(session, org, filters).limit(PAGE_SIZE).offset((number - 1) * PAGE_SIZE)
        )
    )
    titles = topic_titles(session, org)
    items = [(r, titles.get(r.topic_id, "") if r.topic_id else "") for r in resources]
    return LibraryPage(items, total, number, pages)


def topic_titles(session: Session, org: Organization) -> dict[int, str]:
    return dict(
        session.execute(select(Topic.id, Topic.title).where(Topic.organization_id == org.id)).all()
    )


def topic_choices(session: Session, org: Organization) -> list[tuple[int, str]]:
    """The organization's active topics as (id, title), for the filter and the share form."""
    return [
        (topic_id, title)
        for topic_id, title in session.execute(
            select(Topic.id, Topic.title)
            .where(Topic.organization_id == org.id, Topic.retired_at.is_(None))
            .order_by(Topic.title)
        )
    ]


def tags_in_use(session: Session, org: Organization, *, limit: int = 200) -> list[str]:
    """Every tag of the visible library, most used first, for the tag filter."""
    used: Counter[str] = Counter()
    for tags in session.scalars(
        select(Resource.tags).where(
            Resource.organization_id == org.id, Resource.hidden_at.is_(None)
        )
    ):
        used.update(tags)
    return [tag for tag, _ in sorted(used.items(), key=lambda item: (-item[1], item[0]))][:limit]
