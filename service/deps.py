"""Annotated dependencies, so handler signatures read as plain typed parameters."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from service.config import Settings
from service.csrf import verify_csrf
from service.db import get_session
from service.links import LinkSigner


# async, so FastAPI calls them on the event loop instead of hopping to a worker thread.
async def _settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


async def _links(request: Request) -> LinkSigner:
    return request.app.state.links  # type: ignore[no-any-return]


# scope="function": commit before the response is sent, so a failed commit is never hidden
# behind a success page or a 303.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[Settings, Depends(_settings)]
LinksDep = Annotated[LinkSigner, Depends(_links)]
CsrfChecked = Depends(verify_csrf)
