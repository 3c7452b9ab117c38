"""One-shot messages shown on the page after a POST → 303 redirect."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import RedirectResponse
from itsdangerous import BadSignature, URLSafeSerializer

COOKIE = "cr_flash"
KINDS = ("success", "error", "info")


def _serializer(request: Request) -> URLSafeSerializer:
    secret = request.app.state.settings.secret_key.get_secret_value()
    return URLSafeSerializer(secret, salt="coffeerounds.flash")


def redirect(request: Request, url: str, message: str, kind: str = "success") -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    value = _serializer(request).dumps([kind if kind in KINDS else "info", message[:500]])
    response.set_cookie(COOKIE, value, httponly=True, samesite="lax", path="/admin")
    return response


def pop(request: Request) -> tuple[str, str] | None:
    """Read the message (the page that shows it clears the cookie)."""
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        kind, message = _serializer(request).loads(raw)
    except (BadSignature, ValueError, TypeError):
        return None
    request.state.clear_flash = True
    return str(kind), str(message)
