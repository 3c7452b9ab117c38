"""Topics: the catalog (create, edit, retire, restore) and the rotation calendar."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service import audit
from service.admin import flash
from service.admin.deps import AdminContext, OrgDep
from service.admin.pages import page
from service.admin.round_data import following_months
from service.db import utcnow
from service.deps import CsrfChecked, SessionDep
from service.errors import NotFound
from service.models import MatchGroup, Round, Topic
from service.rounds.jobs import current_month
from service.rounds.timing import month_label
from service.text_rules import MULTI_LINE_MESSAGE, SINGLE_LINE_MESSAGE, check_text

router = APIRouter(prefix="/admin/o/{slug}/topics")

MAX_TITLE = 200
MAX_DESCRIPTION = 1000
MAX_STARTER = 300
MIN_STARTERS = 3
MAX_STARTERS = 12
MAX_TAG = 60
MAX_TAGS = 20
# The matcher avoids a topic a member had in their last six rounds.
RECENT_ROUNDS = 6
CALENDAR_MONTHS = 12


def _url(ctx: AdminContext, path: str = "") -> str:
    return f"/admin/o/{ctx.org.slug}/topics{path}"


def _topic(session: Session, ctx: AdminContext, topic_id: int) -> Topic:
    topic = session.get(Topic, topic_id)
    if topic is None or topic.organization_id != ctx.org.id:
        raise NotFound("No such topic.")
    return topic


@dataclass
class TopicForm:
    """The form's raw text, kept as typed so a page with errors shows what was entered."""

    title: str = ""
    description: str = ""
    starters: str = ""
    tags: str = ""

    @classmethod
    def from_topic(cls, topic: Topic) -> TopicForm:
        return cls(topic.title, topic.description, "\n".join(topic.starters), "; ".join(topic.tags))

    def clean(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(values for the Topic row, {field: error})."""
        errors: dict[str, str] = {}
        title = " ".join(self.title.split())
        if not title:
            errors["title"] = "Enter a title."
        elif check_text(title):
            errors["title"] = f"The title {SINGLE_LINE_MESSAGE}."
        elif len(title) > MAX_TITLE:
            errors["title"] = f"Use at most {MAX_TITLE} characters (this has {len(title)})."
        # Browsers send a textarea's line breaks as CRLF; emails and calendars want LF.
        description = self.description.replace("\r\n", "\n").strip()
        if len(description) > MAX_DESCRIPTION:
            errors["description"] = (
                f"Use at most {MAX_DESCRIPTION} characters (this has {len(description)})."
            )
        elif check_text(description, multi_line=True):
            errors["description"] = f"The description {MULTI_LINE_MESSAGE}."
        starters = [" ".join(line.split()) for line in self.starters.splitlines()]
        starters = [s for s in starters if s]
        too_long = [n for n, s in enumerate(starters, 1) if len(s) > MAX_STARTER]
        if len(starters) < MIN_STARTERS:
            errors["starters"] = (
                f"Write at least {MIN_STARTERS} conversation starters, one per line "
                f"(there {'is' if len(starters) == 1 else 'are'} {len(starters)})."
            )
        elif len(starters) > MAX_STARTERS:
            errors["starters"] = f"Write at most {MAX_STARTERS} conversation starters."
        elif too_long:
            errors["starters"] = f"Line {too_long[0]} is longer than {MAX_STARTER} characters."
        elif unreadable := [n for n, s in enumerate(starters, 1) if check_text(s)]:
            errors["starters"] = f"Line {unreadable[0]} contains control characters."
        tags: list[str] = []
        for raw in self.tags.split(";"):
            tag = " ".join(raw.split()).lower()
            if tag and tag not in tags:
                tags.append(tag)
        if len(tags) > MAX_TAGS:
            errors["tags"] = f"Use at most {MAX_TAGS} tags."
        elif any(len(t) > MAX_TAG for t in tags):
            errors["tags"] = f"Each tag can be at most {MAX_TAG} characters."
        elif any(check_text(t) for t in tags):
            errors["tags"] = f"Tags {SINGLE_LINE_MESSAGE}."
        values = {"title": title, "description": description, "starters": starters, "tags": tags}
        return values, errors


async def _read_form(request: Request) -> TopicForm:
    form = await request.form()

    def text(name: str, limit: int) -> str:
        value = form.get(name)
        # Oversized posts are cut well beyond any valid length, so the error still shows.
        return value[:limit] if isinstance(value, str) else ""

    return TopicForm(
        text("title", MAX_TITLE * 2),
        text("description", MAX_DESCRIPTION * 2),
        text("starters", MAX_STARTER * MAX_STARTERS * 2),
        text("tags", MAX_TAG * MAX_TAGS * 2),
    )


def _new_key(session: Session, ctx: AdminContext, title: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60] or "topic"
    taken = set(
        session.scalars(
            select(Topic.key).where(Topic.organization_id == ctx.org.id, Topic.key.like(f"{base}%"))
        )
    )
    key, n = base, 2
    while key in taken:
        key, n = f"{base}-{n}", n + 1
    return key


def _form_page(
    request: Request,
    ctx: AdminContext,
    session: Session,
    form: TopicForm,
    errors: dict[str, str],
    topic: Topic | None,
    status_code: int = 200,
) -> HTMLResponse:
    return page(
        request,
        ctx,
        "admin/topics/form.html",
        {"form": form, "errors": errors, "topic": topic, "min_starters": MIN_STARTERS},
        section="topics",
        session=session,
        status_code=status_code,
    )


@router.get("", response_class=HTMLResponse)
def catalog(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    topics = list(
        session.scalars(
            select(Topic)
            .where(Topic.organization_id == ctx.org.id)
            .order_by(Topic.retired_at.is_not(None), Topic.title)
        )
    )
    usage = {
        topic_id: (count, last)
        for topic_id, count, last in session.execute(
            select(MatchGroup.topic_id, func.count(), func.max(Round.month))
            .join(Round, Round.id == MatchGroup.round_id)
            .where(Round.organization_id == ctx.org.id, MatchGroup.topic_id.is_not(None))
            .group_by(MatchGroup.topic_id)
        )
    }
    return page(
        request,
        ctx,
        "admin/topics/index.html",
        {"topics": topics, "usage": usage},
        section="topics",
        session=session,
    )


@router.get("/calendar", response_class=HTMLResponse)
def calendar(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    org = ctx.org
    titles = dict(
        session.execute(select(Topic.id, Topic.title).where(Topic.organization_id == org.id)).all()
    )
    active = list(
        session.scalars(
            select(Topic)
            .where(Topic.organization_id == org.id, Topic.retired_at.is_(None))
            .order_by(Topic.title)
        )
    )
    rounds = dict(
        session.execute(
            select(Round.month, Round.status).where(
                Round.organization_id == org.id, Round.status != "cancelled"
            )
        ).all()
    )
    used: dict[str, dict[int, int]] = defaultdict(dict)
    for month, topic_id, count in session.execute(
        select(Round.month, MatchGroup.topic_id, func.count())
        .join(MatchGroup, MatchGroup.round_id == Round.id)
        .where(
            Round.organization_id == org.id,
            Round.status != "cancelled",
            MatchGroup.topic_id.is_not(None),
        )
        .group_by(Round.month, MatchGroup.topic_id)
    ):
        used[month][topic_id] = count
    months = []
    for month in following_months(current_month(org, utcnow()), CALENDAR_MONTHS):
        if month in rounds:
            topics = sorted(
                ((titles.get(t, "?"), n) for t, n in used[month].items()), key=lambda x: -x[1]
            )
            months.append(
                {
                    "month": month,
                    "label": month_label(month),
                    "status": rounds[month],
                    "used": topics,
                    "available": [],
                }
            )
            continue
        recent = sorted(m for m in rounds if m < month)[-RECENT_ROUNDS:]
        recently_used = {t for m in recent for t in used[m]}
        months.append(
            {
                "month": month,
                "label": month_label(month),
                "status": "",
                "used": [],
                "available": [t.title for t in active if t.id not in recently_used],
            }
        )
    return page(
        request,
        ctx,
        "admin/topics/calendar.html",
        {"months": months, "recent_rounds": RECENT_ROUNDS},
        section="topics",
        session=session,
    )


@router.get("/new", response_class=HTMLResponse)
def new_form(request: Request, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    return _form_page(request, ctx, session, TopicForm(), {}, None)


@router.post("/new", dependencies=[CsrfChecked], response_model=None)
async def create(request: Request, ctx: OrgDep, session: SessionDep) -> Response:
    form = await _read_form(request)
    values, errors = form.clean()
    if errors:
        return _form_page(request, ctx, session, form, errors, None, status_code=422)
    topic = Topic(organization_id=ctx.org.id, key=_new_key(session, ctx, values["title"]), **values)
    session.add(topic)
    session.flush()
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="topic.create",
        target_type="topic",
        target_id=topic.id,
        after={"key": topic.key, **values},
    )
    return flash.redirect(request, _url(ctx), f"Topic “{topic.title}” added.")


@router.get("/{topic_id}/edit", response_class=HTMLResponse)
def edit_form(request: Request, topic_id: int, ctx: OrgDep, session: SessionDep) -> HTMLResponse:
    topic = _topic(session, ctx, topic_id)
    return _form_page(request, ctx, session, TopicForm.from_topic(topic), {}, topic)


@router.post("/{topic_id}/edit", dependencies=[CsrfChecked], response_model=None)
async def update(request: Request, topic_id: int, ctx: OrgDep, session: SessionDep) -> Response:
    topic = _topic(session, ctx, topic_id)
    form = await _read_form(request)
    values, errors = form.clean()
    if errors:
        return _form_page(request, ctx, session, form, errors, topic, status_code=422)
    before = {name: getattr(topic, name) for name in values}
    for name, value in values.items():
        setattr(topic, name, value)
    old, new = audit.changes(before, values)
    if new:
        audit.record(
            session,
            org=ctx.org,
            actor=ctx.actor,
            action="topic.update",
            target_type="topic",
            target_id=topic.id,
            before=old,
            after=new,
        )
    return flash.redirect(request, _url(ctx), f"Topic “{topic.title}” saved.")


def _set_retired(
    request: Request, ctx: AdminContext, session: Session, topic_id: int, *, retire: bool
) -> RedirectResponse:
    topic = _topic(session, ctx, topic_id)
    if (topic.retired_at is not None) == retire:
        state = "retired" if retire else "in use"
        return flash.redirect(request, _url(ctx), f"“{topic.title}” is {state} already.", "info")
    topic.retired_at = utcnow() if retire else None
    audit.record(
        session,
        org=ctx.org,
        actor=ctx.actor,
        action="topic.retire" if retire else "topic.restore",
        target_type="topic",
        target_id=topic.id,
        before={"retired": not retire},
        after={"retired": retire},
    )
    message = (
        f"“{topic.title}” retired: new rounds will not use it."
        if retire
        else f"“{topic.title}” is back in the rotation."
    )
    return flash.redirect(request, _url(ctx), message)


@router.post("/{topic_id}/retire", dependencies=[CsrfChecked])
def retire(request: Request, topic_id: int, ctx: OrgDep, session: SessionDep) -> RedirectResponse:
    return _set_retired(request, ctx, session, topic_id, retire=True)


@router.post("/{topic_id}/restore", dependencies=[CsrfChecked])
def restore(request: Request, topic_id: int, ctx: OrgDep, session: SessionDep) -> RedirectResponse:
    return _set_retired(request, ctx, session, topic_id, retire=False)
