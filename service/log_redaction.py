"""Keep the secrets in links out of log files.

Every emailed link carries its credential in the URL path (`/o/{slug}/manage/{token}`,
`/o/{slug}/r/{token}/checkin`, `/admin/password-reset/{token}`, ...), and uvicorn's access log
prints each request's path. Anyone who can read the logs could otherwise act as any
participant. `install()` wraps the logging record factory, so every record, whichever logger
or handler it goes to (uvicorn's access log, the app's loggers, pytest's caplog), has token
path segments and token query values replaced before anything formats or stores it.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

REDACTED = "[redacted]"

# The path segment after one of these is a signed link (see service/public/*.py).
LINK_SEGMENT = re.compile(
    r"(/o/[^/?#\s]+/(?:confirm|manage|u|pause|r|my|intro)/|/admin/password-reset/)"
    r"([^/?#\s\"']+)"
)
_QUERY_SECRET = re.compile(
    r"([?&](?:token|manage_token|t|code|key|sig|signature)=)([^&#\s\"']+)", re.IGNORECASE
)
# Any other segment or value that looks like one of our tokens: long URL-safe base64 (with
# itsdangerous' dots), with a capital letter, which organization slugs never have.
_TOKEN_LIKE = re.compile(r"(?<=[/=])[A-Za-z0-9_\-]{8,}(?:\.[A-Za-z0-9_\-]{4,}){0,2}")
MIN_TOKEN_LENGTH = 24


def _token_like(match: re.Match[str]) -> str:
    text = match.group(0)
    if len(text) >= MIN_TOKEN_LENGTH and any(c.isupper() for c in text):
        return REDACTED
    return text


def redact(text: str) -> str:
    """`text` with the secrets of any links in it replaced by [redacted]."""
    if "/" not in text and "=" not in text:
        return text  # fast path: most log lines contain no URL
    text = LINK_SEGMENT.sub(lambda m: m.group(1) + REDACTED, text)
    text = _QUERY_SECRET.sub(lambda m: m.group(1) + REDACTED, text)
    return _TOKEN_LIKE.sub(_token_like, text)


def _redact_value(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


def redact_record(record: logging.LogRecord) -> None:
    if record.name == "uvicorn.access" and isinstance(record.args, tuple):
        # Its formatter reads the path from the arguments: keep their shape.
        record.args = tuple(_redact_value(arg) for arg in record.args)
    else:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a broken format string is logging's to report
            return
        redacted = redact(message)
        if redacted != message:  # only then: other records keep their arguments
            record.msg, record.args = redacted, ()
    if record.exc_info and record.exc_info[0] is not None:
        # Formatters reuse exc_text when it is set, so the traceback is redacted too.
        record.exc_text = redact("".join(traceback.format_exception(*record.exc_info)).rstrip())


def install() -> None:
    """Redact every log record from now on, in this process (idempotent)."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redacts_tokens", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    factory.redacts_tokens = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)
