"""CSRF protection for HTML forms: a double-submit token plus an Origin check."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint
from starlette.responses import Response

from service.errors import Forbidden

COOKIE_NAME = "cr_csrf"
FIELD_NAME = "csrf_token"


class CsrfCookieMiddleware(BaseHTTPMiddleware):
    """Give every browser a random token cookie that forms echo back in a hidden field."""

    def __init__(self, app: object, *, secure: bool) -> None:
        super().__init__(app)  # type: ignore[arg-type]
        self.secure = secure

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        token = request.cookies.get(COOKIE_NAME)
        fresh = token is None or len(token) < 32
        if fresh:
            token = secrets.token_urlsafe(32)
        request.state.csrf_token = token
        response = await call_next(request)
        if fresh and not request.url.path.startswith("/api/"):
            response.set_cookie(
                COOKIE_NAME,
                token,
                httponly=True,
                samesite="lax",
                secure=self.secure,
                path="/",
            )
        return response


async def verify_csrf(request: Request) -> None:
    """Dependency for every form POST."""
    origin = request.headers.get("origin")
    if origin and origin != "null":
        host = request.headers.get("host", "")
        if urlsplit(origin).netloc != host:
            raise Forbidden("This form was submitted from another site.")
    form = await request.form()
    sent = form.get(FIELD_NAME)
    cookie = request.cookies.get(COOKIE_NAME)
    if not isinstance(sent, str) or not cookie or not hmac.compare_digest(sent, cookie):
        raise Forbidden(
            "Your form session expired or cookies are blocked. Reload the page and try again."
        )
