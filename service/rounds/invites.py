"""Queue the emails of a round: invites (with .ics), updates, cancellations, reminders,
check-ins, follow-ups and "not matched this month". Each has a fixed idempotency key."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from notifications import build_invite
from service import outbox
from service.config import Settings
from service.db import utcnow
from service.links import LinkSigner
from service.member_links import member_url
from service.models import MatchGroup, Membership, Organization, Participant, Round
from service.participants.schemas import ROLE_LABELS
from service.rounds import links as round_links
from service.rounds.timing import format_local, month_label

SHORT_ROLES = {
    "attending": "attending",
    "fellow": "fellow",
    "resident": "resident",
    "student": "student",
    "nurse": "nurse",
    "np_pa": "NP/PA",
    "other": "colleague",
}


@dataclass(frozen=True)
class GroupView:
    """A group with its members loaded, as the email code needs it."""

    org: Organization
    round: Round
    group: MatchGroup
    members: Sequence[tuple[Membership, Participant]]  # active members only

    @property
    def participants(self) -> list[Participant]:
        return [p for _, p in self.members]


def member_cards(participants: Sequence[Participant]) -> list[dict[str, str]]:
    return [
        {
            "name": p.full_name,
            "role": ROLE_LABELS.get(p.role, p.role),
            "specialty": p.specialty,
            "department": p.department,
        }
        for p in participants
    ]


def _description(view: GroupView) -> str:
    group = view.group
    lines = [f"Topic: {group.topic_title}" if group.topic_title else "Topic: open conversation"]
    lines += ["", "Conversation starters:"] + [f"- {s}" for s in group.starters]
    lines += ["", "Who's who:"]
    for p in view.participants:
        detail = ", ".join(x for x in (SHORT_ROLES.get(p.role, p.role), p.specialty) if x)
        lines.append(f"- {p.full_name} ({detail})")
    if group.reason:
        lines += ["", f"Why this group: {group.reason}"]
    lines += ["", f"Join the video call: {group.meeting_url}"]
    if not group.has_common_slot:
        lines += [
            "",
            "We could not find a time everyone listed, so we picked a lunch hour. "
            "Reply to everyone to agree on another time if this does not work.",
        ]
    return "\n".join(lines)


def calendar_bytes(
    settings: Settings, view: GroupView, *, method: str, attendees: Sequence[Participant]
) -> bytes:
    sender, sender_name = outbox.sender_identity(settings, view.org)
    group = view.group
    assert group.meeting_start is not None and group.meeting_end is not None
    return build_invite(
        uid=group.ical_uid,
        sequence=group.ical_sequence,
        method=method,  # type: ignore[arg-type]
        organizer_email=sender,
        organizer_name=sender_name,
        attendees=[(p.email, p.full_name) for p in attendees],
        start=group.meeting_start,
        end=group.meeting_end,
        summary=f"Coffee Rounds: {group.topic_title}" if group.topic_title else "Coffee Rounds",
        description=_description(view),
        location=group.meeting_url,
        url=group.meeting_url,
        dtstamp=utcnow(),
        status="CANCELLED" if method == "CANCEL" else "CONFIRMED",
    )


def _common_context(
    settings: Settings, links: LinkSigner, view: GroupView, participant: Participant
) -> dict[str, object]:
    token = round_links.participant_token(links, participant)
    return {
        "participant_name": participant.full_name,
        "organization_name": view.org.name,
        "month_label": month_label(view.round.month),
        "unsubscribe_url": round_links.participant_url(settings, view.org, token, "u"),
        "pause_url": round_links.participant_url(settings, view.org, token, "pause"),
        # The long-lived door to the library, introductions and their participation record.
        "member_url": member_url(settings, links, view.org, participant),
    }


def _meeting_context(
    settings: Settings,
    links: LinkSigner,
    view: GroupView,
    participant: Participant,
    membership: Membership,
) -> dict[str, object]:
    group = view.group
    assert group.meeting_start is not None
    token = round_links.membership_token(links, participant, membership)
    return {
        **_common_context(settings, links, view, participant),
        "topic_title": group.topic_title or "Open conversation",
        "starters": list(group.starters),
        "members": member_cards([p for p in view.participants if p.id != participant.id]),
        "reason": group.reason,
        "meeting_start_local": format_local(group.meeting_start, participant.timezone),
        "meeting_timezone": participant.timezone,
        "meeting_url": group.meeting_url,
        "cant_make_it_url": round_links.membership_url(settings, view.org, token, "cant-make-it"),
        "everyone_available": group.has_common_slot,
        # Library resources for the group's topic: `send_round` ranks them once per topic
        # and passes them in `extra`; other callers send none.
        "resources": [],
    }


def _queue(
    session: Session,
    settings: Settings,
    org: Organization,
    participant: Participant,
    *,
    template: str,
    context: dict[str, object],
    key: str,
    calendar: bytes | None = None,
    method: str | None = None,
    batch: outbox.EmailBatch | None = None,
) -> bool:
    """One personal email about this round; every round email has an unsubscribe link."""
    return outbox.enqueue_email(
        session,
        settings=settings,
        org=org,
        participant=participant,
        to=participant.email,
        to_name=participant.full_name,
        kind=template,
        template=template,
        context=context,
        idempotency_key=key,
        list_unsubscribe_url=str(context["unsubscribe_url"]),
        calendar=calendar,
        calendar_method=method,
        batch=batch,
    )


def queue_invites(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    view: GroupView,
    *,
    template: str = "invite",
    extra: dict[str, object] | None = None,
    batch: outbox.EmailBatch | None = None,
) -> int:
    """REQUEST to every active member at the group's current SEQUENCE (one .ics per group)."""
    calendar = calendar_bytes(settings, view, method="REQUEST", attendees=view.participants)
    queued = 0
    for membership, participant in view.members:
        context = _meeting_context(settings, links, view, participant, membership)
        context["topic_description"] = extra.get("topic_description", "") if extra else ""
        context.update(extra or {})
        queued += _queue(
            session,
            settings,
            view.org,
            participant,
            template=template,
            context=context,
            key=f"{template}:{view.group.id}:{participant.id}:{view.group.ical_sequence}",
            calendar=calendar,
            method="REQUEST",
            batch=batch,
        )
    return queued


def queue_cancel(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    view: GroupView,
    participant: Participant,
    *,
    reason: str,
) -> bool:
    """CANCEL (at the group's new SEQUENCE) to someone who is no longer in the group."""
    assert view.group.meeting_start is not None
    calendar = calendar_bytes(settings, view, method="CANCEL", attendees=[participant])
    context = {
        **_common_context(settings, links, view, participant),
        "reason": reason,
        "meeting_start_local": format_local(view.group.meeting_start, participant.timezone),
        "meeting_timezone": participant.timezone,
    }
    return _queue(
        session,
        settings,
        view.org,
        participant,
        template="invite_cancel",
        context=context,
        key=f"invite_cancel:{view.group.id}:{participant.id}:{view.group.ical_sequence}",
        calendar=calendar,
        method="CANCEL",
    )


def queue_followup(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    view: GroupView,
    *,
    kind: str,
    skip_keys: frozenset[str] | set[str] = frozenset(),
) -> int:
    """Reminder (day before), check-in (two days after) or follow-up (2-3 weeks after)."""
    queued = 0
    for membership, participant in view.members:
        if followup_key(kind, membership) in skip_keys:
            continue  # queued on an earlier run: do not even render it again
        token = round_links.membership_token(links, participant, membership)
        if kind == "reminder":
            context = _meeting_context(settings, links, view, participant, membership)
        else:
            context = _common_context(settings, links, view, participant)
            context["feedback_url"] = round_links.membership_url(
                settings, view.org, token, "checkin" if kind == "checkin" else "follow-up"
            )
            context["met_yes_url"] = round_links.membership_url(
                settings, view.org, token, "checkin", "met=yes"
            )
            context["met_no_url"] = round_links.membership_url(
                settings, view.org, token, "checkin", "met=no"
            )
            # Share a resource from this chat: it records the chat and its topic.
            context["share_url"] = round_links.membership_url(settings, view.org, token, "share")
        queued += _queue(
            session,
            settings,
            view.org,
            participant,
            template=kind,
            context=context,
            key=followup_key(kind, membership),
        )
    return queued


def followup_key(kind: str, membership: Membership) -> str:
    # One of each per person and meeting: a later change to the group (a drop-out) must not
    # trigger a second reminder.
    return f"{kind}:{membership.id}"


def queue_not_matched(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    round_: Round,
    participant: Participant,
    *,
    reason: str,
) -> bool:
    token = round_links.participant_token(links, participant)
    context = {
        "participant_name": participant.full_name,
        "organization_name": org.name,
        "month_label": month_label(round_.month),
        "unsubscribe_url": round_links.participant_url(settings, org, token, "u"),
        "pause_url": round_links.participant_url(settings, org, token, "pause"),
        "reason": reason,
    }
    return _queue(
        session,
        settings,
        org,
        participant,
        template="not_matched",
        context=context,
        key=f"not_matched:{round_.id}:{participant.id}",
    )
