"""The parts of deleting a participant's data that reach beyond their own row.

`service.erase` calls these before it removes or anonymises the participant. Each keeps the
rows that statistics count (sent emails, resources, introduction requests and asks) and
removes what identifies the person or is their own free text. They flush, never commit.

Deliberately kept: another participant's avoid list may hold the erased address. It is that
person's data and protects them, so it stays.
"""

from __future__ import annotations

import email
import email.policy
import html
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, case, cast, delete, func, or_, select, update
from sqlalchemy.orm import Session

from service.db import utcnow
from service.models import (
    AuditEvent,
    IntroductionAsk,
    IntroductionRequest,
    MatchGroup,
    Membership,
    OutboxMessage,
    Participant,
    Resource,
    ResourceVote,
)

DELETED_NAME = "Deleted participant"
# Emails whose key names a group ("invite:<group>:<person>:<seq>"); they list its members.
GROUP_EMAIL_KINDS = ("invite", "invite_update", "invite_cancel")
# Reminders list the members too, but are keyed by membership ("reminder:<membership>").
MEMBERSHIP_EMAIL_KINDS = ("reminder",)
# Keys per OR-ed prefix query: keeps each statement well under any bound-parameter limit.
_PREFIX_CHUNK = 200


def placeholder_email(participant: Participant) -> str:
    return f"deleted-{participant.id}@deleted.invalid"


def has_history(session: Session, participant: Participant) -> bool:
    """Whether rows other people's statistics count refer to them: groups or introductions."""
    found = (
        select(Membership.id).where(Membership.participant_id == participant.id).limit(1),
        select(IntroductionRequest.id)
        .where(IntroductionRequest.requester_id == participant.id)
        .limit(1),
        select(IntroductionAsk.id).where(IntroductionAsk.candidate_id == participant.id).limit(1),
    )
    return any(session.scalar(query) is not None for query in found)


def forget_library(session: Session, participant: Participant) -> None:
    """Shared links stay (the library keeps working) without their sharer or their note;
    their "useful" votes go, and each count drops with them."""
    session.execute(
        update(Resource)
        .where(Resource.participant_id == participant.id)
        .values(participant_id=None, why="")
    )
    voted = select(ResourceVote.resource_id).where(ResourceVote.participant_id == participant.id)
    session.execute(
        update(Resource)
        .where(Resource.id.in_(voted))
        .values(
            useful_count=case((Resource.useful_count > 0, Resource.useful_count - 1), else_=0)
        )
    )
    session.execute(delete(ResourceVote).where(ResourceVote.participant_id == participant.id))


def forget_introductions(session: Session, participant: Participant, now: datetime) -> None:
    """Requests keep their status and asks (the dashboard counts them) but lose their wording;
    an open request is cancelled, and an ask still waiting for them expires now, so the
    introductions job moves on to the next colleague."""
    mine = IntroductionRequest.requester_id == participant.id
    session.execute(
        update(IntroductionRequest)
        .where(mine, IntroductionRequest.status == "open")
        .values(status="cancelled", closed_at=now)
    )
    session.execute(
        update(IntroductionAsk)
        .where(
            IntroductionAsk.request_id.in_(select(IntroductionRequest.id).where(mine)),
            IntroductionAsk.status == "asked",
        )
        .values(status="withdrawn", answered_at=now)
    )
    session.execute(
        update(IntroductionRequest).where(mine).values(need="", skill="", specialty="", site="")
    )
    session.execute(
        update(IntroductionAsk)
        .where(
            IntroductionAsk.candidate_id == participant.id,
            IntroductionAsk.status == "asked",
            IntroductionAsk.expires_at > now,
        )
        .values(expires_at=now)
    )


def _group_ids(session: Session, participant: Participant) -> list[int]:
    return list(
        session.scalars(
            select(Membership.group_id).where(Membership.participant_id == participant.id)
        )
    )


def _blank_sent_group_emails(session: Session, group_ids: Sequence[int]) -> None:
    """Sent group emails list every member (and the calendar invite their address): the
    bodies are no longer needed once sent, so they go. Unsent ones are left to go out."""
    prefixes = [f"{kind}:{gid}:" for gid in group_ids for kind in GROUP_EMAIL_KINDS]
    for start in range(0, len(prefixes), _PREFIX_CHUNK):
        chunk = prefixes[start : start + _PREFIX_CHUNK]
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == "sent",
                OutboxMessage.kind.in_(GROUP_EMAIL_KINDS),
                or_(*(OutboxMessage.idempotency_key.startswith(p) for p in chunk)),
            )
            .values(body=b"")
        )
    membership_ids = list(
        session.scalars(select(Membership.id).where(Membership.group_id.in_(group_ids)))
    )
    keys = [f"{kind}:{mid}" for mid in membership_ids for kind in MEMBERSHIP_EMAIL_KINDS]
    for start in range(0, len(keys), _PREFIX_CHUNK):
        session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.status == "sent",
                OutboxMessage.idempotency_key.in_(keys[start : start + _PREFIX_CHUNK]),
            )
            .values(body=b"")
        )


def mentions(body: bytes, needles: Iterable[str]) -> bool:
    """Whether a stored email names any needle, in its headers or in any decoded part
    (quoted-printable text, HTML with entities, base64 calendar with folded lines)."""
    wanted = [n.casefold() for n in needles if n]
    texts = [body.decode("utf-8", "replace")]
    message = email.message_from_bytes(body, policy=email.policy.default)
    texts.extend(str(value) for value in message.values())
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            text = payload.decode("utf-8", "replace")
            texts.append(html.unescape(text.replace("\r\n ", "").replace("\n ", "")))
    haystack = "\n".join(texts).casefold()
    return any(needle in haystack for needle in wanted)


def _blank_sent_introduction_emails(
    session: Session, participant: Participant, needles: Sequence[str]
) -> None:
    """Emails to the colleagues of their introductions may name them (in the subject too):
    blank those."""
    requests = select(IntroductionRequest.id).where(
        IntroductionRequest.requester_id == participant.id
    )
    asked_me = select(IntroductionAsk.request_id).where(
        IntroductionAsk.candidate_id == participant.id
    )
    shared = or_(IntroductionRequest.id.in_(requests), IntroductionRequest.id.in_(asked_me))
    since = session.scalar(select(func.min(IntroductionRequest.created_at)).where(shared))
    if since is None:
        return
    counterparts = select(IntroductionAsk.candidate_id).where(
        IntroductionAsk.request_id.in_(requests)
    ).union(
        select(IntroductionRequest.requester_id).where(IntroductionRequest.id.in_(asked_me))
    )
    # The colleagues asked for an introduction were sent her words, not her name.
    words = session.scalars(
        select(IntroductionRequest.need).where(IntroductionRequest.id.in_(requests))
    )
    needles = [*needles, *(need for need in words if need.strip())]
    rows = session.execute(
        select(OutboxMessage.id, OutboxMessage.body).where(
            OutboxMessage.status == "sent",
            # Only introduction emails name the other side; decoding is not free (~5 ms).
            OutboxMessage.kind.startswith("introduction"),
            OutboxMessage.participant_id.in_(counterparts),
            OutboxMessage.participant_id != participant.id,
            OutboxMessage.created_at >= since,
        )
    ).all()
    naming = [row_id for row_id, body in rows if body and mentions(body, needles)]
    if naming:
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(naming))
            .values(body=b"", subject="")
        )


def _blank_sent_invites_quoting_her_notes(session: Session, participant: Participant) -> None:
    """Invitations quote library links with their sharer's note ("why"). Checking each sent
    invitation for her words would mean decoding thousands of emails, and a sent body is
    never read again: every invitation sent since she first shared a link with a note is
    emptied."""
    first = session.scalar(
        select(func.min(Resource.created_at)).where(
            Resource.participant_id == participant.id, Resource.why != ""
        )
    )
    if first is None:
        return
    session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.organization_id == participant.organization_id,
            OutboxMessage.kind == "invite",
            OutboxMessage.status == "sent",
            OutboxMessage.created_at >= first,
        )
        .values(body=b"")
    )


def forget_outbox(session: Session, participant: Participant, needles: Sequence[str]) -> None:
    """Their unsent emails are dropped. Emails that went out stay, as rows the Rounds pages
    count, with the address replaced and subject, body and error emptied."""
    theirs = OutboxMessage.participant_id == participant.id
    session.execute(
        delete(OutboxMessage).where(theirs, OutboxMessage.status.in_(("pending", "failed")))
    )
    session.execute(
        update(OutboxMessage)
        .where(theirs)
        .values(to_address=placeholder_email(participant), subject="", body=b"", last_error="")
    )
    _blank_sent_group_emails(session, _group_ids(session, participant))
    _blank_sent_introduction_emails(session, participant, needles)
    _blank_sent_invites_quoting_her_notes(session, participant)


def _scrubbed(value: Any, replacements: dict[str, str]) -> Any:
    if isinstance(value, str):
        for old, new in replacements.items():
            value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_scrubbed(v, replacements) for v in value]
    if isinstance(value, dict):
        return {k: _scrubbed(v, replacements) for k, v in value.items()}
    return value


def forget_in_audit_log(
    session: Session, participant: Participant, replacements: dict[str, str]
) -> None:
    """Audit entries keep what was done, not to whom by name or address (for example the
    "to" of a re-sent email)."""
    replacements = {old: new for old, new in replacements.items() if old.strip()}
    if not replacements:
        return
    # JSON is stored with non-ASCII characters escaped: look for both spellings.
    spellings = {s for old in replacements for s in (old, json.dumps(old)[1:-1])}
    found = [
        column.contains(s, autoescape=True)
        for column in (cast(AuditEvent.before, String), cast(AuditEvent.after, String))
        for s in spellings
    ]
    for event in session.scalars(
        select(AuditEvent).where(
            AuditEvent.organization_id == participant.organization_id, or_(*found)
        )
    ):
        event.before = _scrubbed(event.before, replacements)
        event.after = _scrubbed(event.after, replacements)


def forget_in_group_reasons(session: Session, participant: Participant, name: str) -> None:
    """"Why this group" sentences name members ("Dr. Ann Lee (cardiology) can teach…")."""
    if not name.strip():
        return
    for group in session.scalars(
        select(MatchGroup).where(MatchGroup.id.in_(_group_ids(session, participant)))
    ):
        group.reason = group.reason.replace(f"Dr. {name}", name).replace(name, "a colleague")


def erase_everywhere(session: Session, participant: Participant) -> None:
    """Everything but the participant's own row (see `service.erase`)."""
    needles = [participant.email, participant.full_name]
    forget_outbox(session, participant, needles)
    forget_library(session, participant)
    forget_introductions(session, participant, utcnow())
    forget_in_group_reasons(session, participant, participant.full_name)
    forget_in_audit_log(
        session,
        participant,
        {participant.email: placeholder_email(participant), participant.full_name: DELETED_NAME},
    )
    session.flush()
