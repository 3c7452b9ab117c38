"""Changes to a group after its invites went out: someone drops out, or an admin moves people.

Every change bumps the group's SEQUENCE once; the removed person gets a CANCEL and everyone
still in the group an updated REQUEST, both at the new SEQUENCE (RFC 5546 §3.2.5).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from service.config import Settings
from service.errors import Conflict
from service.links import LinkSigner
from service.models import MatchGroup, Membership, Organization, Participant, Round
from service.rounds import invites
from service.rounds.create import group_views


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
    membership.status = "dropped"
    group.ical_sequence += 1
    session.flush()
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
