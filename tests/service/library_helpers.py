"""Helpers for the resource library tests: add resources, open a member's library."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from service.library import service as library
from service.library.validation import check_resource
from service.links import LinkSigner
from service.models import Organization, Participant, Resource
from service.public.member import member_path, member_token


def add_resource(
    session: Session,
    org: Organization,
    url: str,
    title: str,
    *,
    why: str = "",
    tags: str = "",
    participant: Participant | None = None,
    topic_id: int | None = None,
    useful: int = 0,
    created_at: datetime | None = None,
) -> Resource:
    """A resource as the service would store it (committed)."""
    draft, errors = check_resource(url=url, title=title, why=why, tags=tags, require_why=False)
    assert draft is not None, errors
    outcome = library.share(
        session,
        org,
        draft,
        participant=participant,
        topic_id=topic_id,
        source="participant" if participant else "import",
        now=created_at,
    )
    outcome.resource.useful_count = useful
    session.commit()
    return outcome.resource


def library_path(links: LinkSigner, org: Organization, person: Participant, page: str = "") -> str:
    suffix = f"/{page}" if page else ""
    return member_path(org, member_token(links, person), "library") + suffix


def share_fields(**values: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "url": "https://example.org/sleep-after-nights",
        "title": "Sleep after night shifts",
        "why": "Practical advice that finally worked for me.",
        "tags_other": "",
    }
    fields.update(values)
    return fields
