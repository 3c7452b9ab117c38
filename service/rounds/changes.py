"""Changes to a group after its invites went out: someone drops out, or an admin moves people.

Every change bumps the group's SEQUENCE once; the removed person gets a CANCEL and everyone
still in the group an updated REQUEST, both at the new SEQUENCE (RFC 5546 §3.2.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, selectinload

from service import outbox
from service.config import Settings
from service.db import utcnow
from service.errors import Conflict, InvalidInput
from service.links import LinkSigner
from service.models import MatchGroup, Membership, Organization, Participant, Round
from service.rounds import cohort, invites
from service.rounds.create import group_views
from service.rounds.timing import meeting_time, scheduling_window


def _view(
    session: Session, org: Organization, round_: Round, group: MatchGroup
) -> invites.GroupView:
    return next(v for v in group_views(session, org, round_) if v.group.id == group.id)


def drop_out(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    participant: Participant,
    membership: Membership,
    *,
    reason: str = "You let us know you can't make it this month.",
) -> bool:
    """ "Can't make it": leave this month's group; the others get the updated invite.

    Returns False when the person had already dropped out (the link was used before).
    """
    if membership.status != "invited":
        return False
    group = session.get(MatchGroup, membership.group_id)
    round_ = session.get(Round, membership.round_id)
    assert group is not None and round_ is not None
    if round_.status != "sent":
        raise Conflict("This round's invitations have not gone out yet.")
    # Both changes are single UPDATEs, not read-modify-write: two members of one group
    # dropping out at once must get SEQUENCE 1 and 2 (and so distinct idempotency keys),
    # and a double submit must drop (and email) once.
    claimed = session.execute(
        update(Membership)
        .where(Membership.id == membership.id, Membership.status == "invited")
        .values(status="dropped")
    )
    session.refresh(membership)
    if not claimed.rowcount:  # type: ignore[attr-defined]
        return False
    session.execute(
        update(MatchGroup)
        .where(MatchGroup.id == group.id)
        .values(ical_sequence=MatchGroup.ical_sequence + 1)
    )
    session.refresh(group)
    view = _view(session, org, round_, group)
    invites.queue_cancel(session, settings, links, view, participant, reason=reason)
    if view.members:
        names = participant.full_name
        invites.queue_invites(
            session,
            settings,
            links,
            view,
            template="invite_update",
            extra={"change_summary": f"{names} can't make it this month."},
        )
    session.flush()
    return True


@dataclass(frozen=True)
class Move:
    """What `move_member` did: the two groups (refreshed) and how many emails it queued."""

    old_group: MatchGroup
    new_group: MatchGroup
    emails_queued: int


def _reschedule(
    session: Session,
    org: Organization,
    round_: Round,
    group: MatchGroup,
    people: list[Participant],
    *,
    now: datetime,
) -> None:
    window = scheduling_window(org, round_.month, now=now)
    start, everyone = meeting_time(org, [cohort.to_person(p) for p in people], window=window)
    group.meeting_start = start
    group.meeting_end = start + timedelta(minutes=org.meeting_minutes)
    group.has_common_slot = everyone


def _queue_request(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    view: invites.GroupView,
    *,
    only: set[int],
    template: str,
    extra: dict[str, object],
) -> int:
    """REQUEST at the current SEQUENCE to some members, the .ics naming every attendee.

    `invites.queue_invites` sends one template to the whole group; after a move the newcomer
    needs the plain invitation and the others the "your group changed" update.
    """
    calendar = invites.calendar_bytes(settings, view, method="REQUEST", attendees=view.participants)
    queued = 0
    for membership, participant in view.members:
        if participant.id not in only:
            continue
        context = invites._meeting_context(settings, links, view, participant, membership)
        context["topic_description"] = ""
        context.update(extra)
        queued += outbox.enqueue_email(
            session,
            settings=settings,
            org=view.org,
            participant=participant,
            to=participant.email,
            to_name=participant.full_name,
            kind=template,
            template=template,
            context=context,
            idempotency_key=f"{template}:{view.group.id}:{participant.id}:{view.group.ical_sequence}",
            list_unsubscribe_url=str(context["unsubscribe_url"]),
            calendar=calendar,
            calendar_method="REQUEST",
        )
    return queued


def _views_of(
    session: Session, org: Organization, round_: Round, groups: list[MatchGroup]
) -> dict[int, invites.GroupView]:
    """GroupViews of just these groups (`group_views` loads the whole round)."""
    rows = session.execute(
        select(Membership, Participant)
        .join(Participant, Participant.id == Membership.participant_id)
        .where(Membership.group_id.in_([g.id for g in groups]), Membership.status == "invited")
        .options(selectinload(Participant.avoid_entries))
        .order_by(Membership.group_id, Membership.id)
    ).all()
    members: dict[int, list[tuple[Membership, Participant]]] = {g.id: [] for g in groups}
    for membership, participant in rows:
        members[membership.group_id].append((membership, participant))
    return {g.id: invites.GroupView(org, round_, g, members[g.id]) for g in groups}


def move_member(
    session: Session,
    settings: Settings,
    links: LinkSigner,
    org: Organization,
    membership: Membership,
    target_group: MatchGroup,
    *,
    now: datetime | None = None,
) -> Move:
    """Move one person to another group of the same round (an admin's hand edit).

    Both groups get a fresh meeting time (the earliest slot everyone can make). Before the
    invitations went out that is all; after, both groups' SEQUENCE goes up by one, the mover
    gets a CANCEL for the old meeting and the new invitation, and everyone else in either
    group an updated REQUEST. Raises InvalidInput for a move that would leave a group of one
    or make a group larger than the maximum size plus one, Conflict for a cancelled round.
    """
    now = now or utcnow()
    round_ = session.get(Round, membership.round_id)
    old_group = session.get(MatchGroup, membership.group_id)
    assert round_ is not None and old_group is not None
    if round_.organization_id != org.id or target_group.round_id != round_.id:
        raise InvalidInput(
            "You can only move people between groups of the same round.",
            fields={"target": "is not a group of this round"},
        )
    if round_.status == "cancelled":
        raise Conflict("This round was cancelled.")
    if membership.status != "invited":
        raise InvalidInput(
            "This person is no longer in the group.", fields={"membership": "dropped out"}
        )
    if target_group.id == old_group.id:
        raise InvalidInput(
            f"They are already in group {old_group.number}.",
            fields={"target": "is the group they are in"},
        )
    views = _views_of(session, org, round_, [old_group, target_group])
    old_people = [p for p in views[old_group.id].participants if p.id != membership.participant_id]
    new_people = list(views[target_group.id].participants)
    if len(old_people) < 2:
        raise InvalidInput(
            f"Group {old_group.number} would be left with {len(old_people)} person; "
            "a group needs at least two. Move someone else in first.",
            fields={"target": "would leave a group of one"},
        )
    if len(new_people) + 1 > org.max_group_size + 1:
        raise InvalidInput(
            f"Group {target_group.number} already has {len(new_people)} people; "
            f"a group can have at most {org.max_group_size + 1} after a move.",
            fields={"target": "is full"},
        )
    mover = session.get(Participant, membership.participant_id)
    assert mover is not None
    membership.group_id = target_group.id
    _reschedule(session, org, round_, old_group, old_people, now=now)
    _reschedule(session, org, round_, target_group, [*new_people, mover], now=now)
    session.flush()
    queued = 0
    if round_.status == "sent":
        session.execute(
            update(MatchGroup)
            .where(MatchGroup.id.in_((old_group.id, target_group.id)))
            .values(ical_sequence=MatchGroup.ical_sequence + 1)
        )
        session.refresh(old_group)
        session.refresh(target_group)
        views = _views_of(session, org, round_, [old_group, target_group])
        old_view, new_view = views[old_group.id], views[target_group.id]
        queued += invites.queue_cancel(
            session,
            settings,
            links,
            old_view,
            mover,
            reason="The programme team moved you to another group; your new invitation follows.",
        )
        queued += _queue_request(
            session,
            settings,
            links,
            old_view,
            only={p.id for p in old_view.participants},
            template="invite_update",
            extra={"change_summary": f"{mover.full_name} has moved to another group."},
        )
        queued += _queue_request(
            session,
            settings,
            links,
            new_view,
            only={mover.id},
            template="invite",
            extra={},
        )
        queued += _queue_request(
            session,
            settings,
            links,
            new_view,
            only={p.id for p in new_view.participants if p.id != mover.id},
            template="invite_update",
            extra={"change_summary": f"{mover.full_name} has joined your group."},
        )
    session.flush()
    return Move(old_group, target_group, queued)
