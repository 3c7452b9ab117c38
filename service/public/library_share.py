"""Sharing a resource: from the library page (member link) or straight from the check-in and
follow-up emails (the round's membership link, so the resource records the chat and its
topic).

GET shows the form; POST validates it and answers 303, or shows the form again (422) with
what was typed and the error next to each field. A link already in the library is never
added twice; if it was hidden, the person is thanked as for a new link and it stays hidden.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from service.deps import CsrfChecked, LinksDep, SessionDep
from service.errors import InvalidInput
from service.library import search as library_search
from service.library import service as library
from service.library import validation
from service.links import LinkSigner
from service.models import MatchGroup, Organization, Participant
from service.public.emailed_links import MemberLinkDep, MembershipLinkDep
from service.public.forms import NO_STORE, PostedForm
from service.public.library import FLASH_MESSAGES
from service.public.member import member_path, member_token
from service.public.round_common import MembershipLink
from service.rounds.timing import month_label
from service.templating import render

router = APIRouter()

FIELD_LABELS = {
    "url": "Link",
    "title": "Title",
    "why": "Why it helped",
    "tags": "Tags",
    "topic": "Topic",
}
# Where the error summary sends keyboard focus for each field.
FIELD_ANCHORS = {"tags": "tags_other", "form": "url"}
# Posted text is cut well beyond any valid length, so an over-long value still gets its error.
TEXT_LIMITS = {
    "url": validation.MAX_URL * 2,
    "title": validation.MAX_TITLE * 2,
    "why": validation.MAX_WHY * 2,
    "tags_other": validation.MAX_TAG * validation.MAX_TAGS * 4,
    "topic": 20,
}
MAX_TICKED = 50


@dataclass
class ShareForm:
    values: dict[str, Any]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def blank(cls) -> ShareForm:
        return cls({"url": "", "title": "", "why": "", "tags": [], "tags_other": "", "topic": ""})

    @classmethod
    def posted(cls, form: FormData) -> ShareForm:
        values: dict[str, Any] = {}
        for name, limit in TEXT_LIMITS.items():
            value = form.get(name)
            values[name] = value[:limit] if isinstance(value, str) else ""
        ticked = [v for v in form.getlist("tags") if isinstance(v, str)][:MAX_TICKED]
        values["tags"] = [v[: validation.MAX_TAG * 2] for v in ticked]
        return cls(values)

    def summary(self) -> list[tuple[str, str]]:
        """(anchor id, sentence) for the error summary at the top of the page."""
        items = []
        for name, message in self.errors.items():
            label = FIELD_LABELS.get(name)
            text = f"{label}: {message}" if label else message
            items.append((FIELD_ANCHORS.get(name, name), text))
        return items


def _check(form: ShareForm) -> validation.ResourceDraft | None:
    values = form.values
    draft, errors = validation.check_resource(
        url=values["url"],
        title=values["title"],
        why=values["why"],
        tags=[*values["tags"], values["tags_other"]],
    )
    form.errors.update(errors)
    return draft


def _page(
    request: Request,
    session: Session,
    org: Organization,
    form: ShareForm,
    *,
    action: str,
    library_url: str,
    topic_title: str = "",
    first_tags: list[str] | None = None,
    month: str = "",
    status_code: int = 200,
    flash: str = "",
) -> HTMLResponse:
    suggested = library.suggested_tags(session, org, first=first_tags or [])
    # Ticked boxes that are not suggestions (an old page, a changed catalog) stay visible.
    suggested += [t for t in form.values["tags"] if t not in suggested]
    context = {
        "org": org,
        "form": form,
        "errors": form.errors,
        "action": action,
        "library_url": library_url,
        "topic_title": topic_title,
        "month_label": month,
        "topics": [] if topic_title else library_search.topic_choices(session, org),
        "suggested_tags": suggested,
        "limits": {
            "url": validation.MAX_URL,
            "title": validation.MAX_TITLE,
            "why": validation.MAX_WHY,
            "tags": validation.MAX_TAGS,
            "tag": validation.MAX_TAG,
        },
        "flash": flash,
    }
    return render(
        request, "public/library_share.html", context, status_code=status_code, headers=NO_STORE
    )


def _share(
    session: Session,
    org: Organization,
    participant: Participant,
    form: ShareForm,
    **where: Any,
) -> str | None:
    """The flash code after sharing, or None when the form has errors (now in `form`)."""
    draft = _check(form)
    if draft is None:
        return None
    try:
        outcome = library.share(session, org, draft, participant=participant, **where)
    except InvalidInput as exc:
        form.errors.update(exc.fields or {"form": exc.message})
        return None
    # A hidden link gets the same answer as a new one: nothing tells that it was hidden.
    return "already" if outcome.status == "already" else "shared"


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE)


# --- from the library (member link) ----------------------------------------------------------


@router.get("/o/{org_slug}/my/{token}/library/share", response_class=HTMLResponse)
def share_form(request: Request, member: MemberLinkDep, session: SessionDep) -> Response:
    library_url = member.path("library")
    return _page(
        request, session, member.org, ShareForm.blank(), action=f"{library_url}/share",
        library_url=library_url,
    )


@router.post("/o/{org_slug}/my/{token}/library/share", dependencies=[CsrfChecked])
def share_submit(
    request: Request, posted: PostedForm, member: MemberLinkDep, session: SessionDep
) -> Response:
    org, participant = member.org, member.participant
    library_url = member.path("library")
    form = ShareForm.posted(posted)
    topic_id = int(form.values["topic"]) if form.values["topic"].isdigit() else None
    if form.values["topic"] and library.topic_of(session, org, topic_id) is None:
        _check(form)  # report every other field's problem too
        form.errors["topic"] = "Choose one of the listed topics, or none."
        code = None
    else:
        code = _share(session, org, participant, form, topic_id=topic_id)
    if code is None:
        return _page(
            request, session, org, form, action=f"{library_url}/share",
            library_url=library_url, status_code=422,
        )
    return _see_other(f"{library_url}?done={code}")


# --- from a chat (the round emails' membership link) -----------------------------------------


def _chat_page(
    request: Request,
    session: Session,
    links: LinkSigner,
    link: MembershipLink,
    form: ShareForm,
    *,
    status_code: int = 200,
    flash: str = "",
) -> HTMLResponse:
    group: MatchGroup = link.group
    topic = library.topic_of(session, link.org, group.topic_id)
    return _page(
        request,
        session,
        link.org,
        form,
        action=f"{link.base}/share",
        library_url=_library_url(links, link),
        topic_title=group.topic_title or "Open conversation",
        first_tags=list(topic.tags) if topic is not None else [],
        month=month_label(link.round.month),
        status_code=status_code,
        flash=flash,
    )


def _library_url(links: LinkSigner, link: MembershipLink) -> str:
    """The person's library, when their member link works (active or paused)."""
    if link.participant.status not in ("active", "paused"):
        return ""
    return member_path(link.org, member_token(links, link.participant), "library")


@router.get("/o/{org_slug}/r/{token}/share", response_class=HTMLResponse)
def chat_share_form(
    request: Request, link: MembershipLinkDep, session: SessionDep, links: LinksDep, done: str = ""
) -> Response:
    flash = FLASH_MESSAGES.get(done, "") if done in ("shared", "already") else ""
    return _chat_page(request, session, links, link, ShareForm.blank(), flash=flash)


@router.post("/o/{org_slug}/r/{token}/share", dependencies=[CsrfChecked])
def chat_share_submit(
    request: Request,
    posted: PostedForm,
    link: MembershipLinkDep,
    session: SessionDep,
    links: LinksDep,
) -> Response:
    form = ShareForm.posted(posted)
    form.values["topic"] = ""  # the chat's own topic is recorded, whatever was posted
    code = _share(session, link.org, link.participant, form, membership=link.membership)
    if code is None:
        return _chat_page(request, session, links, link, form, status_code=422)
    library_url = _library_url(links, link)
    if not library_url:
        return _see_other(f"{link.base}/share?done={code}")
    return _see_other(f"{library_url}?done={code}")
