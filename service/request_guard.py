"""Refuse URLs that contain control characters, before any route sees them.

A NUL or a line break in a path or query string is never part of a real link, and PostgreSQL
cannot even compare NUL with a stored value: `/o/st%00marys/join` would otherwise end in a
database error (500) instead of a plain "bad request".
"""

from __future__ import annotations

import re
from urllib.parse import unquote_to_bytes

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from service.templating import render

_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
MESSAGE = "This address contains control characters, so it cannot be a link of ours."


def has_control_characters(scope: Scope) -> bool:
    path = scope.get("path", "")
    if _CONTROL_BYTES.search(path.encode("utf-8", "surrogateescape")):
        return True
    if path.startswith("/api/"):
        return False  # the API validates its query parameters itself (422 naming the field)
    query = scope.get("query_string", b"")
    return bool(_CONTROL_BYTES.search(unquote_to_bytes(query.replace(b"+", b" "))))


class ControlCharacterGuard:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not has_control_characters(scope):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if scope.get("path", "").startswith("/api/"):
            response = JSONResponse({"detail": MESSAGE, "code": "bad_request"}, status_code=400)
        else:
            context = {"title": "This link does not work", "message": MESSAGE}
            response = render(request, "error.html", context, status_code=400)
        await response(scope, receive, send)
