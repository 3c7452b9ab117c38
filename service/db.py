"""Database plumbing: declarative base, engine factory, per-request sessions."""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any, ParamSpec, TypeVar

import anyio
import anyio.to_thread
from fastapi import Request
from sqlalchemy import DateTime, MetaData, create_engine, event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

P = ParamSpec("P")
R = TypeVar("R")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC timestamps on every backend (SQLite drops the offset)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC timestamp is required")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Build an engine; SQLite gets foreign keys, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    engine = create_engine(url, **kwargs)
    _ping_after_idle(engine)
    return engine


# A pooled connection unused for longer than this is tested before it is handed out.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_after_idle(engine: Engine) -> None:
    """Test a connection before use only when it has been idle, not on every checkout.

    SQLAlchemy's pool_pre_ping costs a round trip per checkout: about 0.5-1 ms of CPU on
    each request of the web load (bench/load_cpu.py). A connection that went unused for a
    second or more (idle nights, a database restart during a quiet spell) is still tested,
    and a dead one is replaced before anyone sees it. A restart within a second of the
    connection's last use surfaces as one failed statement instead: the request answers
    503, and SQLAlchemy then discards every connection opened before the failure.
    """

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi_conn: Any, record: Any) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        returned = record.info.get("returned_at")
        if returned is None or time.monotonic() - returned < PING_AFTER_IDLE_SECONDS:
            return  # a fresh connection, or one in use a moment ago
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as error:  # noqa: BLE001 - any failure means: not usable
            # The documented pessimistic recipe: the pool drops this connection and retries.
            raise exc.DisconnectionError() from error


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: commit when the handler returns, roll back on error.

    async, so opening the session (no I/O: a connection is checked out at the first query)
    needs no hop to a worker thread; the commit or rollback, which talk to the database, take
    one hop. That hop has a limiter of its own, as FastAPI gives sync dependencies' exits:
    with every pooled thread waiting for a connection, the sessions holding the connections
    must still be able to finish.
    """
    factory: sessionmaker[Session] = request.app.state.sessionmaker
    session = factory()
    try:
        yield session
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(
                _finish, session, False, limiter=anyio.CapacityLimiter(1)
            )
        raise
    if not (session.in_transaction() or session.new or session.dirty or session.deleted):
        session.close()  # committed by the handler (see commits_in_handler): no I/O left
        return
    with anyio.CancelScope(shield=True):
        await anyio.to_thread.run_sync(_finish, session, True, limiter=anyio.CapacityLimiter(1))


def _finish(session: Session, commit: bool) -> None:
    with session:
        if not commit:
            session.rollback()
            return
        try:
            session.commit()
        except BaseException:
            session.rollback()
            raise


def commits_in_handler(handler: Callable[P, R]) -> Callable[P, R]:
    """Commit the request's session (the handler's `session`) as the sync handler returns.

    The commit then runs in the handler's worker thread, and `get_session`, finding nothing
    left to do, closes the session without a hop of its own to a worker thread (a hop costs
    about as much CPU as a simple query). For the busiest forms. The commit still happens
    before the response; if it fails, the handler raises and `get_session` rolls back.
    """

    @functools.wraps(handler)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        result = handler(*args, **kwargs)
        session = kwargs["session"]
        assert isinstance(session, Session)
        session.commit()
        return result

    return run
