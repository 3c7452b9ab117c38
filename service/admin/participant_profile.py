"""What a participant's profile page shows: their rounds, groups, feedback and emails.

A fixed number of queries whatever the history's length (no query per round or group).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.admin.deps import AdminContext
from service.models import (
    Feedback,
    MatchGroup,
    Membership,
    Organization,
    OutboxMessage,
    Participant,
    Round,
)
from service.participants.availability import format_availability
from service.participants.schemas import MENTORING_LABELS, ROLE_LABELS

MAX_EMAILS_SHOWN = 100


def shows_free_text(ctx: AdminContext) -> bool:
    """Free-text feedback is for the organization's own admins, not for super admins."""
    return ctx.account.organization_id == ctx.org.id


def local_time(moment: datetime | None, org: Organization) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(org.timezone)).strftime("%Y-%m-%d %H:%M")


def _rounds(session: Session, org: Organization, p: Participant) -> list[dict[str, Any]]:
    rows = session.execute(
        select(Membership, MatchGroup, Round)
        .join(MatchGroup, MatchGroup.id == Membership.group_id)
        .join(Round, Round.id == Membership.round_id)
        .where(Membership.participant_id == p.id, Round.organization_id == org.id)
        .order_by(Round.month.desc())
    ).all()
    if not rows:
        return []
    group_ids = [group.id for _, group, _ in rows]
    others: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for group_id, other_id, name, status in session.execute(
        select(Membership.group_id, Participant.id, Participant.full_name, Membership.status)
        .join(Participant, Participant.id == Membership.participant_id)
        .where(Membership.group_id.in_(group_ids), Membership.participant_id != p.id)
        .order_by(Participant.full_name, Participant.id)
    ):
        others[group_id].append({"id": other_id, "name": name, "status": status})
    feedback: dict[int, list[Feedback]] = defaultdict(list)
    for item in session.scalars(
        select(Feedback)
        .where(Feedback.membership_id.in_([m.id for m, _, _ in rows]))
        .order_by(Feedback.kind)
    ):
        feedback[item.membership_id].append(item)
    return [
        {
            "month": round_.month,
            "round_status": round_.status,
            "number": group.number,
            "topic": group.topic_title,
            "members": others[group.id],
            "membership_status": membership.status,
            "meeting": local_time(group.meeting_start, org),
            "has_common_slot": group.has_common_slot,
            "feedback": feedback[membership.id],
        }
        for membership, group, round_ in rows
    ]


def _emails(session: Session, org: Organization, p: Participant) -> list[dict[str, Any]]:
    messages = session.execute(
        select(
            OutboxMessage.kind,
            OutboxMessage.status,
            OutboxMessage.attempts,
            OutboxMessage.last_error,
            OutboxMessage.created_at,
            OutboxMessage.sent_at,
        )
        .where(OutboxMessage.participant_id == p.id, OutboxMessage.organization_id == org.id)
        .order_by(OutboxMessage.created_at.desc(), OutboxMessage.id.desc())
        .limit(MAX_EMAILS_SHOWN)
    ).all()
    return [
        {
            "kind": m.kind,
            "status": m.status,
            "attempts": m.attempts,
            "last_error": m.last_error,
            "queued": local_time(m.created_at, org),
            "sent": local_time(m.sent_at, org),
        }
        for m in messages
    ]


def profile_context(session: Session, ctx: AdminContext, p: Participant) -> dict[str, Any]:
    org = ctx.org
    return {
        "p": p,
        "role_label": ROLE_LABELS.get(p.role, p.role),
        "mentoring_label": MENTORING_LABELS.get(p.mentoring, p.mentoring),
        "availability_text": format_availability(p.availability),
        "joined": local_time(p.created_at, org),
        "confirmed": local_time(p.confirmed_at, org),
        "left": local_time(p.left_at, org),
        "rounds": _rounds(session, org, p),
        "emails": _emails(session, org, p),
        "show_free_text": shows_free_text(ctx),
        "pause_choices": (1, 2, 3),
    }
