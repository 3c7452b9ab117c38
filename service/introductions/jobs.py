"""The scheduler's introduction work: colleagues who did not answer within seven days are
passed over and the next one is asked. Each ask is handled in its own transaction, so one
failure never holds up the others; running twice or late is harmless (states are checked
under a row lock)."""

from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.db import utcnow
from service.introductions import asking
from service.links import LinkSigner

log = logging.getLogger(__name__)


def expire_unanswered(
    factory: sessionmaker[Session],
    settings: Settings,
    links: LinkSigner,
    *,
    now: datetime | None = None,
    limit: int = 500,
) -> int:
    """Expire the asks past their answer-by time and ask the next colleagues; returns how
    many asks expired. The emails go out with the outbox job."""
    now = now or utcnow()
    with factory() as session:
        due = asking.due_ask_ids(session, now=now, limit=limit)
    expired = 0
    for ask_id in due:
        try:
            with factory.begin() as session:
                asking.expire_ask(session, settings, links, ask_id, now=now)
            expired += 1
        except Exception:  # noqa: BLE001 - one bad row must not stop the rest
            log.exception("introduction ask %s: expiry failed; retrying on the next run", ask_id)
    if expired:
        log.info("introductions: %s unanswered asks passed on", expired)
    return expired
