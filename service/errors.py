"""Domain errors carry their HTTP status; one handler renders them as HTML or JSON."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response


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
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthorized) else None
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
        )
