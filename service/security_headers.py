"""Security headers on every response."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.log_redaction import LINK_SEGMENT

# Everything is served by the app itself; no inline scripts, no third-party origins.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI (/docs) needs inline script and its own assets; it still must not be framed.
DOCS_CONTENT_SECURITY_POLICY = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
DOCS_PATHS = ("/docs", "/redoc")


def url_path(scope: Scope) -> str:
    """The path as `request.url.path` spells it (these three characters escaped)."""
    path: str = scope["path"]
    return path.replace("?", "%3F").replace("#", "%23").replace("\\", "%5C")


class SecurityHeadersMiddleware:
    """Plain ASGI (not BaseHTTPMiddleware, whose extra task and stream per request cost about
    as much CPU as a small page): the headers are added to the response's start message."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = url_path(scope)
        docs = path.startswith(DOCS_PATHS)
        holds_link = LINK_SEGMENT.search(path) is not None

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                # Links in emails carry tokens in the path: never leak them to other sites.
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                if docs:
                    headers.setdefault("Content-Security-Policy", DOCS_CONTENT_SECURITY_POLICY)
                else:
                    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
                if holds_link:
                    # Whatever the page (including its error pages), a URL holding a
                    # credential is never kept in a shared or browser cache.
                    headers["Cache-Control"] = "no-store"
                if self.hsts:
                    headers.setdefault(
                        "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
                    )
            await send(message)

        await self.app(scope, receive, send_with_headers)
