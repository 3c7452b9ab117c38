"""API routes that refuse JSON bodies which cannot be echoed back.

JSON may spell a lone UTF-16 surrogate ("\\ud800"). Python parses it into a str that UTF-8
cannot encode, so the 422 answer, which quotes the invalid input, would fail with a 500.
Such bodies are refused up front as invalid JSON (a normal 422 with `loc: ["body", 0]`).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

# A participant is a few kilobytes of JSON; larger bodies are refused (413) before parsing.
MAX_BODY_BYTES = 256 * 1024


class _SurrogateCheckingRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            parsed = json.loads(body)
            try:
                json.dumps(parsed, ensure_ascii=False).encode("utf-8")
            except UnicodeEncodeError:
                raise json.JSONDecodeError(
                    "text contains a lone UTF-16 surrogate", body.decode("utf-8", "replace"), 0
                ) from None
            self._json = parsed
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Awaitable[Response]]:
        handler = super().get_route_handler()

        async def checked(request: Request) -> Response:
            return await handler(_SurrogateCheckingRequest(request.scope, request.receive))

        return checked
