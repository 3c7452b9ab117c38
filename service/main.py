"""The application factory: engines, middleware, routers and handlers are built here."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine, text
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from service import api, log_redaction, public
from service.admin import routes as admin_routes
from service.config import Settings, get_settings
from service.csrf import CsrfCookieMiddleware
from service.db import make_engine, make_sessionmaker
from service.errors import install_handlers
from service.introductions.fitted import fitted_rankers
from service.links import LinkSigner
from service.public import emailed_links
from service.rate_limit import make_client_limiter
from service.request_guard import ControlCharacterGuard
from service.security_headers import SecurityHeadersMiddleware

STATIC_DIR = Path(__file__).parent / "static"
log = logging.getLogger(__name__)


def _warm_introductions(engine: Engine) -> None:
    try:
        fitted_rankers.warm(engine)
    except Exception:
        # A database that is down or not migrated yet must not stop the worker from
        # starting (the health check reports it); searches then fit on first use.
        log.exception("introductions: fitting the rankers at start failed")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    log_redaction.install()  # links carry credentials: never let a log line show them
    engine = make_engine(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything loaded so far lives as long as the process: keep it out of the garbage
        # collector's full passes, which otherwise show up as latency spikes on big pages.
        if settings.introductions_warm_up:
            await anyio.to_thread.run_sync(_warm_introductions, engine)
        gc.collect()
        gc.freeze()
        yield
        engine.dispose()

    app = FastAPI(
        title="Coffee Rounds",
        version="1.0",
        description=(
            "Monthly small-group coffee chats for hospital staff. The `/api/v1` endpoints let a "
            "hospital's HR system list, create and update participants with an API token, and "
            "let participants sign up and manage their profile."
        ),
        lifespan=lifespan,
        docs_url="/docs" if settings.docs_enabled else None,
        redoc_url=None,
        openapi_url="/openapi.json" if settings.docs_enabled else None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.links = LinkSigner(settings.secret_key.get_secret_value())
    app.state.client_limiter = make_client_limiter(settings)

    secure_cookies = settings.base_url.startswith("https://")
    app.add_middleware(CsrfCookieMiddleware, secure=secure_cookies)
    app.add_middleware(ControlCharacterGuard)
    app.add_middleware(SecurityHeadersMiddleware, hsts=secure_cookies)
    # Outermost, so everything after it sees the real client. The one place X-Forwarded-For
    # is read: `coffeerounds serve` turns uvicorn's own proxy handling off.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.trusted_proxies)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    install_handlers(app)
    emailed_links.install(app)

    app.include_router(public.router)
    app.include_router(api.router)
    app.include_router(admin_routes.router)

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> RedirectResponse:
        # Browsers ask for /favicon.ico before they read the page's <link rel="icon">.
        return RedirectResponse("/static/favicon.svg", status_code=301)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> Response:
        try:
            with request.app.state.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception:  # noqa: BLE001 - any failure means "not ready"
            return JSONResponse({"status": "database unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app
