"""What the pages behind round-email links share: reading the link, rendering, errors.

Every one of these pages carries a token in its URL, so every answer is `no-store`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from service.errors import DomainError
from service.links import LinkSigner
from service.models import MatchGroup, Membership, Organization, Participant, Round
from service.public.forms import NO_STORE
from service.rounds import links as round_links
from service.rounds.timing import format_local, month_label
from service.templating import render

FIELD_LABELS = {
    "met": "Did you meet",
    "rating": "Rating",
    "learned": "One thing you learned",
    "outcomes": "What came of it",
    "comment": "Anything else",
    "months": "Pause length",
}
# Where the error summary sends keyboard focus for each field.
FIELD_ANCHORS = {"met": "met-yes", "rating": "rating-1", "months": "months-1"}


@dataclass(frozen=True)
class MembershipLink:
    org: Organization
    participant: Participant
    membership: Membership
    group: MatchGroup
    round: Round
    token: str

    @property
    def base(self) -> str:
        return f"/o/{self.org.slug}/r/{self.token}"

    def context(self, session: Session, links: LinkSigner) -> dict[str, Any]:
        """What every membership page shows: the month, the meeting and who else is in it."""
        start = self.group.meeting_start
        others = session.scalars(
            select(Participant.full_name)
            .join(Membership, Membership.participant_id == Participant.id)
            .where(
                Membership.group_id == self.group.id,
                Membership.status == "invited",
                Participant.id != self.participant.id,
            )
            .order_by(Membership.id)
        ).all()
        return {
            "org": self.org,
            "participant": self.participant,
            "base": self.base,
            "month_label": month_label(self.round.month),
            "meeting_start_local": format_local(start, self.participant.timezone)
            if start is not None
            else "",
            "meeting_timezone": self.participant.timezone,
            "topic_title": self.group.topic_title or "Open conversation",
            "others": list(others),
            "dropped": self.membership.status != "invited",
            "pause_url": pause_path(self.org, links, self.participant),
        }


def pause_path(org: Organization, links: LinkSigner, participant: Participant) -> str:
    return f"/o/{org.slug}/pause/{round_links.participant_token(links, participant)}"


def error_page(request: Request, exc: DomainError) -> HTMLResponse:
    """The error page (a bad link, a conflict), never cached: its URL carries a token."""
    context = {"title": exc.title, "message": exc.message}
    return render(request, "error.html", context, status_code=exc.status_code, headers=NO_STORE)


def membership_link(
    session: Session, links: LinkSigner, org: Organization, token: str
) -> MembershipLink:
    participant, membership = round_links.read_membership_token(session, links, org, token)
    group = session.get(MatchGroup, membership.group_id)
    round_ = session.get(Round, membership.round_id)
    assert group is not None and round_ is not None
    return MembershipLink(org, participant, membership, group, round_, token)


def see_other(url: str, *, background: BackgroundTask | None = None) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers=NO_STORE, background=background)


def page(
    request: Request, name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    return render(request, f"rounds/{name}", context, status_code=status_code, headers=NO_STORE)


def error_items(errors: dict[str, str]) -> list[tuple[str, str]]:
    """(anchor, sentence) pairs for the error summary."""
    return [
        (FIELD_ANCHORS.get(name, name), f"{FIELD_LABELS.get(name, name)}: {message}")
        for name, message in errors.items()
    ]


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""
