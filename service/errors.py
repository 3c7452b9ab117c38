"""Domain errors carry their HTTP status; one handler renders them as HTML or JSON."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

log = logging.getLogger(__name__)

DATABASE_RETRY_AFTER_SECONDS = 30


class DomainError(Exception):
    status_code = 400
    code = "bad_request"
    title = "Something is not right"

    def __init__(self, message: str, *, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}


class NotFound(DomainError):
    status_code = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status_code = 409
    code = "conflict"
    title = "Conflict"


class InvalidInput(DomainError):
    """Field-level validation errors; `fields` maps a field path to its message."""

    status_code = 422
    code = "invalid_input"
    title = "Please check the form"


class LinkInvalid(DomainError):
    status_code = 400
    code = "link_invalid"
    title = "This link does not work"


class LinkExpired(DomainError):
    status_code = 410
    code = "link_expired"
    title = "This link has expired"


class Unauthorized(DomainError):
    status_code = 401
    code = "unauthorized"
    title = "Please sign in"


class LoginRequired(Unauthorized):
    """An admin page without a valid session: browsers are sent to the login page."""

    def __init__(self, next_path: str = "/admin") -> None:
        super().__init__("Please sign in.")
        self.next_path = next_path


class Forbidden(DomainError):
    status_code = 403
    code = "forbidden"
    title = "Not allowed"


class RateLimited(DomainError):
    status_code = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def first_line(exc: BaseException) -> str:
    """An exception's first line, for a log line (driver errors run to many lines)."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def install_handlers(app: FastAPI) -> None:
    from fastapi.exception_handlers import request_validation_exception_handler
    from fastapi.exceptions import RequestValidationError

    from service.templating import render

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # The API keeps FastAPI's 422 with field paths; pages get a readable page instead.
        if wants_json(request) or request.url.path in ("/openapi.json", "/docs"):
            return await request_validation_exception_handler(request, exc)
        return render(
            request,
            "error.html",
            {
                "title": "Something in that request was not valid",
                "message": "The address or the form was incomplete or malformed. "
                "Go back, check what you entered, and try again.",
            },
            status_code=422,
        )

    @app.exception_handler(DomainError)
    async def _domain_error(request: Request, exc: DomainError) -> Response:
        if isinstance(exc, LoginRequired) and not wants_json(request):
            target = "/admin/login?" + urlencode({"next": exc.next_path})
            return RedirectResponse(target, status_code=303)
        retry = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else retry
        if wants_json(request):
            body: dict[str, Any] = {"detail": exc.message, "code": exc.code}
            if exc.fields:
                body["fields"] = exc.fields
            return JSONResponse(body, status_code=exc.status_code, headers=headers)
        return render(
            request,
            "error.html",
            {"title": exc.title, "message": exc.message},
            status_code=exc.status_code,
            headers=retry,
        )

    def _try_again_later(request: Request, message: str) -> Response:
        headers = {"Retry-After": str(DATABASE_RETRY_AFTER_SECONDS)}
        if wants_json(request):
            body = {"detail": message, "code": "unavailable"}
            return JSONResponse(body, status_code=503, headers=headers)
        context = {"title": "Please try again in a minute", "message": message}
        return render(request, "error.html", context, status_code=503, headers=headers)

    @app.exception_handler(OperationalError)
    async def _database_unavailable(request: Request, exc: OperationalError) -> Response:
        # The database is restarting or unreachable (or SQLite is locked): a clear 503 the
        # visitor can retry, instead of a bare 500 and a dropped keep-alive connection. The
        # transaction was rolled back; in the rare case the commit itself was cut off, sending
        # the form again is safe (signups, confirmations and feedback are idempotent).
        log.warning("database unavailable: %s", first_line(exc.orig or exc))
        return _try_again_later(
            request,
            "The service could not reach its database just now, so what you sent was probably "
            "not saved. Please try again in a minute.",
        )

    @app.exception_handler(PoolTimeout)
    async def _database_busy(request: Request, exc: PoolTimeout) -> Response:
        # Every pooled connection stayed busy for the pool's whole timeout (a load far beyond
        # what the server carries): nothing was written, so the same 503 and Retry-After.
        log.warning("database busy: %s", first_line(exc))
        return _try_again_later(
            request,
            "The service is very busy just now and did not save what you sent. "
            "Please try again in a minute.",
        )
