"""Signed, expiring links in emails (confirm signup, manage profile)."""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from service.errors import LinkExpired, LinkInvalid

# "member": a participant's long-lived door to the library, introductions and their record;
# "introduction": a candidate's answer to one introduction ask.
PURPOSES = ("confirm", "manage", "unsubscribe", "feedback", "member", "introduction")
# Links inside monthly emails must keep working for the weeks a round lasts.
LONG_LINK_SECONDS = 120 * 24 * 3600


@dataclass(frozen=True)
class LinkClaims:
    participant_id: int
    version: int
    extra: str = ""


class LinkSigner:
    """One salt per purpose, so a link made for one thing never works for another."""

    def __init__(self, secret_key: str) -> None:
        self._secret = secret_key

    def _serializer(self, purpose: str) -> URLSafeTimedSerializer:
        if purpose not in PURPOSES:
            raise ValueError(f"unknown link purpose {purpose!r}")
        return URLSafeTimedSerializer(self._secret, salt=f"coffeerounds.{purpose}")

    def make(self, purpose: str, *, participant_id: int, version: int, extra: str = "") -> str:
        return str(self._serializer(purpose).dumps([participant_id, version, extra]))

    def read(self, purpose: str, token: str, *, max_age_seconds: int | None) -> LinkClaims:
        try:
            data = self._serializer(purpose).loads(token, max_age=max_age_seconds)
        except SignatureExpired as exc:
            raise LinkExpired(
                "This link has expired. Ask for a new one and we will email it to you."
            ) from exc
        except BadSignature as exc:
            raise LinkInvalid(
                "This link is not valid. It may have been copied incompletely."
            ) from exc
        if (
            not isinstance(data, list)
            or len(data) != 3
            or not all(isinstance(x, int) for x in data[:2])
            or not isinstance(data[2], str)
        ):
            raise LinkInvalid("This link is not valid.")
        return LinkClaims(participant_id=data[0], version=data[1], extra=data[2])
