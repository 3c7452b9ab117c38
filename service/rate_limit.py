"""Rate limits on the forms that send email or check a password.

Two limits, each answering a different abuse:

* Per target address (database, so it holds across every web worker): at most
  RATE_LIMIT_SIGNUPS_PER_EMAIL_PER_HOUR signup, manage-link and password-reset emails to one
  address per hour. Going over is silent: the visitor sees the usual "if this address can
  join, we have emailed it" answer and no email is queued. A 429 here would tell a stranger
  that the address is registered, which every one of these forms promises never to do.
  Counted from the outbox (and the password-reset table), so it needs no table of its own.

* Per client (in process): at most RATE_LIMIT_REQUESTS_PER_CLIENT_PER_MINUTE posts of these
  forms per client address per minute, answered with 429 and Retry-After. The client address
  is the connection's peer, or, when the peer is one of TRUSTED_PROXIES, the right-most
  untrusted address of X-Forwarded-For (resolved once, by the proxy-headers middleware that
  `create_app` installs). The counters live in each worker's memory: with `--workers N` a
  client gets up to N times the limit. A shared fixed-window counter would need a table.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from datetime import timedelta

from fastapi import Depends, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from service.config import Settings
from service.db import utcnow
from service.errors import RateLimited
from service.models import AdminAccount, OutboxMessage, Participant, PasswordReset

log = logging.getLogger(__name__)

# The emails a stranger can trigger by typing someone's address into a form.
SELF_SERVICE_KINDS = ("confirm_signup", "manage_link", "already_registered")
EMAIL_WINDOW = timedelta(hours=1)
CLIENT_WINDOW_SECONDS = 60.0
# Bounded memory whatever the number of distinct clients: the least recently seen are dropped.
MAX_TRACKED_CLIENTS = 20_000
# Everyone behind one IPv6 router usually shares a /64, and so does one attacker.
IPV6_CLIENT_PREFIX = 64

TOO_MANY = (
    "You have sent this form many times in a short while. Please wait a minute and try again."
)


# --- per target address (database) ---------------------------------------------------------


def may_email_participant(session: Session, settings: Settings, participant: Participant) -> bool:
    """Whether one more self-service email to this participant is within the hourly limit."""
    limit = settings.rate_limit_signups_per_email_per_hour
    if limit == 0 or participant.id is None:
        return True
    sent = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.participant_id == participant.id,
            OutboxMessage.kind.in_(SELF_SERVICE_KINDS),
            OutboxMessage.created_at >= utcnow() - EMAIL_WINDOW,
        )
    )
    if (sent or 0) < limit:
        return True
    log.info("participant %s: self-service email skipped (hourly limit)", participant.id)
    return False


def may_email_password_reset(session: Session, settings: Settings, account: AdminAccount) -> bool:
    """Whether one more password-reset link for this account is within the hourly limit."""
    limit = settings.rate_limit_signups_per_email_per_hour
    if limit == 0:
        return True
    issued = session.scalar(
        select(func.count())
        .select_from(PasswordReset)
        .where(
            PasswordReset.admin_id == account.id,
            PasswordReset.created_at >= utcnow() - EMAIL_WINDOW,
        )
    )
    if (issued or 0) < limit:
        return True
    log.info("admin %s: password reset email skipped (hourly limit)", account.id)
    return False


# --- per client (in process) ---------------------------------------------------------------


class SlidingWindowLimiter:
    """At most `limit` hits per key in any `window` seconds; thread-safe (sync routes run in
    a thread pool)."""

    def __init__(
        self,
        limit: int,
        window: float,
        *,
        max_keys: int = MAX_TRACKED_CLIENTS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self.clock = clock
        self._hits: OrderedDict[str, deque[float]] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count a hit; None if allowed, else the seconds until the next hit would be."""
        if self.limit <= 0:
            return None
        now = self.clock()
        with self._lock:
            hits = self._hits.get(key)
            if hits is None:
                hits = self._hits[key] = deque()
                while len(self._hits) > self.max_keys:
                    self._hits.popitem(last=False)
            else:
                self._hits.move_to_end(key)
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return hits[0] + self.window - now
            hits.append(now)
            return None


def client_key(request: Request) -> str:
    """The address to count a request against (already resolved behind a trusted proxy)."""
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:  # ::ffff:192.0.2.1 is an IPv4 client
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/{IPV6_CLIENT_PREFIX}", strict=False))
    return str(address)


def make_client_limiter(settings: Settings) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(
        settings.rate_limit_requests_per_client_per_minute, CLIENT_WINDOW_SECONDS
    )


def _limit_client(bucket: str) -> Callable[[Request], Awaitable[None]]:
    # async: a few microseconds under a lock, cheaper on the event loop than a thread hop.
    async def check(request: Request) -> None:
        limiter: SlidingWindowLimiter = request.app.state.client_limiter
        wait = limiter.hit(f"{bucket} {client_key(request)}")
        if wait is not None:
            raise RateLimited(TOO_MANY, retry_after=max(1, math.ceil(wait)))

    return check


# Signup, "email me my link" (pages and API) share one budget; sign-in and password reset
# another, so a burst of signups from a hospital's NAT never locks the wellness lead out.
SignupRateLimited = Depends(_limit_client("signup"))
AdminRateLimited = Depends(_limit_client("admin"))
