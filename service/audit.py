"""The audit log: who did what, when, with the values before and after."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from service.models import AuditEvent, Organization


def record(
    session: Session,
    *,
    org: Organization | None,
    actor: str,
    action: str,
    target_type: str = "",
    target_id: object = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        organization_id=org.id if org is not None else None,
        actor=actor[:254],
        action=action[:64],
        target_type=target_type[:32],
        target_id=str(target_id)[:64],
        before=_jsonable(before),
        after=_jsonable(after),
    )
    session.add(event)
    return event


def changes(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the fields that changed, for a readable log."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def _jsonable(values: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if values is None:
        return None
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, str | int | float | bool | type(None)):
            out[key] = value
        elif isinstance(value, list | tuple):
            out[key] = [v if isinstance(v, str | int | float | bool) else str(v) for v in value]
        else:
            out[key] = str(value)
    return out
