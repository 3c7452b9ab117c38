"""ORM models; importing this package registers every table on `Base.metadata`."""

from service.models.accounts import AdminAccount, AdminSession, ApiToken, PasswordReset
from service.models.introductions import IntroductionAsk, IntroductionRequest
from service.models.library import Resource, ResourceVote
from service.models.organization import Organization
from service.models.outbox import AuditEvent, OutboxMessage
from service.models.participant import AvoidEntry, Participant, ParticipantFacet
from service.models.rounds import Feedback, MatchGroup, Membership, Round, Topic

__all__ = [
    "AdminAccount",
    "AdminSession",
    "ApiToken",
    "AuditEvent",
    "AvoidEntry",
    "Feedback",
    "IntroductionAsk",
    "IntroductionRequest",
    "MatchGroup",
    "Membership",
    "Organization",
    "OutboxMessage",
    "Participant",
    "ParticipantFacet",
    "PasswordReset",
    "Resource",
    "ResourceVote",
    "Round",
    "Topic",
]
