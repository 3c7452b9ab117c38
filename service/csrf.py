"""CSRF protection for HTML forms: a double-submit token plus an Origin check."""

from __future__ import annotations

import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import Request
from starlette.datastructures import MutableHeaders
from starlette.requests import cookie_parser
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.errors import Forbidden
from service.security_headers import url_path

COOKIE_NAME = "cr_csrf"
FIELD_NAME = "csrf_token"


def _cookie(scope: Scope) -> str | None:
    """The token cookie as `request.cookies` would read it (the last one wins)."""
    token = None
    for name, value in scope["headers"]:
        if name == b"cookie":
            token = cookie_parser(value.decode("latin-1")).get(COOKIE_NAME, token)
    return token


class CsrfCookieMiddleware:
    """Give every browser a random token cookie that forms echo back in a hidden field.

    Plain ASGI rather than BaseHTTPMiddleware, which costs a task and a stream per request.
    """

    def __init__(self, app: ASGIApp, *, secure: bool) -> None:
        self.app = app
        self.secure = secure

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie(scope)
        fresh = token is None or len(token) < 32
        if fresh:
            token = secrets.token_urlsafe(32)
        scope.setdefault("state", {})["csrf_token"] = token  # request.state.csrf_token
        if not fresh or url_path(scope).startswith("/api/"):
            await self.app(scope, receive, send)
            return
        cookie = Response()
        cookie.set_cookie(
            COOKIE_NAME, token, httponly=True, samesite="lax", secure=self.secure, path="/"
        )
        set_cookie = cookie.raw_headers[-1]

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                MutableHeaders(scope=message).raw.append(set_cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)


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
