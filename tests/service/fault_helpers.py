"""What the fault and multi-worker tests share: real `coffeerounds` processes, a private
PostgreSQL cluster that may be restarted without disturbing anyone else, and reading back
what was delivered."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO
from zoneinfo import ZoneInfo

import httpx
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import create_engine, text

from service.models import Organization
from tests.conftest import TEST_SECRET

PG_BIN = Path("/usr/lib/postgresql")
ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(  # type: ignore[no-untyped-def]
    check: Callable[[], object], *, timeout: float, what: str, every: float = 0.1
):
    """Poll until `check()` is truthy; fail the test with `what` if it never is."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def service_env(database_url: str, outbox_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `coffeerounds` process: test secret, file backend, no .env."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=TEST_SECRET,
        ENVIRONMENT="test",
        EMAIL_BACKEND="file",
        EMAIL_FILE_DIR=str(outbox_dir),
        MAIL_FROM="coffee@hospital.example",
        BASE_URL="http://testserver",
        PYTHONUNBUFFERED="1",
        # The code of this checkout, whichever one the console script was installed from.
        PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


class Process:
    """A child process in its own process group, its output going to a log file (a pipe
    nobody reads would fill up and block it)."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("ab")
        self.popen = subprocess.Popen(
            args, env=env, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def running(self) -> bool:
        return self.popen.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> bool:
        """SIGKILL to this process only; True if it was still running."""
        running = self.running()
        if running:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait(timeout=30)
        return running

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait; then SIGKILL whatever is left of its process group (uvicorn
        workers), which is only ever processes this object started."""
        if self.running():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.popen.send_signal(signal.SIGKILL)
                self.popen.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self._log.close()
        return self.popen.returncode


@pytest.fixture
def processes() -> Iterator[Callable[..., Process]]:
    """Start processes that are always stopped at the end of the test, pass or fail."""
    started: list[Process] = []

    def start(args: list[str], env: dict[str, str], log_path: Path) -> Process:
        process = Process(args, env, log_path)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop(timeout=10)


def coffeerounds(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("coffeerounds")), *args]


def serve(port: int, workers: int = 1) -> list[str]:
    return coffeerounds("serve", "--port", str(port), "--workers", str(workers))


def wait_for_http(base: str, process: Process, timeout: float = 150) -> None:
    def ready() -> bool:
        assert process.running(), process.log()
        try:
            return httpx.get(f"{base}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, timeout=timeout, what=f"{base} to answer", every=0.2)


# --- a mail relay ---------------------------------------------------------------------------


class SmtpSink:
    """A plain-SMTP relay on 127.0.0.1 that takes `delay` seconds per message (a slow relay
    keeps the dispatcher busy long enough to break something under it) and records the
    Message-ID each recipient got."""

    def __init__(self, *, delay: float = 0.0, port: int | None = None) -> None:
        self.delay = delay
        self.port = port or free_port()
        self.received: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._controller: Controller | None = None

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        with self._lock:
            for rcpt in envelope.rcpt_tos:
                self.received.append((rcpt, str(parsed["Message-ID"])))
        return "250 Message accepted"

    def start(self) -> SmtpSink:
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, loop=asyncio.new_event_loop()
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def count(self) -> int:
        with self._lock:
            return len(self.received)

    def by_recipient(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = defaultdict(list)
        with self._lock:
            for rcpt, message_id in self.received:
                out[rcpt].append(message_id)
        return dict(out)


def smtp_env(port: int) -> dict[str, str]:
    return {
        "EMAIL_BACKEND": "smtp",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": "5",
    }


# --- a round that is due now -----------------------------------------------------------------


def make_round_due_now(org: Organization, now: datetime | None = None) -> None:
    """Set the organization's round time so this month's round is already due: the first
    occurrence this month of today's weekday (local time), at midnight."""
    local = (now or datetime.now(UTC)).astimezone(ZoneInfo(org.timezone))
    org.round_week_of_month = 1
    org.round_weekday = local.weekday()
    org.round_hour = 0
    org.round_minute = 0


# --- what was delivered ----------------------------------------------------------------------


def delivered(directory: Path) -> dict[str, list[str]]:
    """Message-IDs of every .eml the file backend wrote, by recipient address."""
    received: dict[str, list[str]] = defaultdict(list)
    for path in directory.glob("*.eml"):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        received[message["To"].addresses[0].addr_spec].append(str(message["Message-ID"]))
    return dict(received)


def assert_each_once(
    received: dict[str, list[str]], queued: dict[str, str], *, in_flight: int = 1
) -> int:
    """Every queued address got its message; a duplicate is the very same message (same
    Message-ID), and at most `in_flight` addresses got one. Returns the duplicate count."""
    assert set(received) == set(queued), (
        f"missing: {sorted(set(queued) - set(received))[:5]}, "
        f"unexpected: {sorted(set(received) - set(queued))[:5]}"
    )
    duplicates = 0
    for address, message_ids in received.items():
        assert set(message_ids) == {queued[address]}, (address, message_ids)
        assert len(message_ids) <= 2, (address, message_ids)
        duplicates += len(message_ids) - 1
    assert duplicates <= in_flight, f"{duplicates} duplicates"
    return duplicates


# --- a private PostgreSQL cluster --------------------------------------------------------------


def _pg_tool(name: str) -> Path | None:
    found = sorted(PG_BIN.glob(f"*/bin/{name}"))
    return found[-1] if found else None


class PrivatePostgres:
    """A throwaway PostgreSQL cluster (initdb into a temporary directory, own port, trust
    auth) that a test may restart or stop: the machine's shared server is never touched.

    PostgreSQL refuses to run as root, so when we are root the cluster belongs to the
    `postgres` OS user (`runuser`)."""

    def __init__(self) -> None:
        initdb = _pg_tool("initdb")
        if initdb is None:
            pytest.skip("PostgreSQL server binaries (initdb) are not installed")
        self.bin = initdb.parent
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                pytest.skip("running as root without runuser: cannot start a private cluster")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.root = Path(tempfile.mkdtemp(prefix="cr-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        if self.as_user:
            shutil.chown(self.root, "postgres", "postgres")
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust", "--no-sync",
            "-E", "UTF8", "--locale", "C",
        )  # fmt: skip

    def _run(self, tool: str, *args: str, timeout: float = 120) -> None:
        result = subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self.root,
        )
        if result.returncode != 0:
            raise RuntimeError(f"{tool} failed: {result.stdout}\n{result.stderr}")

    def _ctl(self, action: str, *extra: str) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._run(
            "pg_ctl", action, "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "60", *extra,
        )  # fmt: skip

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        """`fast`: disconnect everyone and roll back; `immediate`: like a crash."""
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str = "fast") -> None:
        """Stop (`fast`: disconnect everyone, roll back; `immediate`: like a crash) and start."""
        self._ctl("restart", "-m", mode)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        engine = create_engine(
            self.url().replace("postgresql://", "postgresql+psycopg://"),
            isolation_level="AUTOCOMMIT",
        )
        with engine.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
        return self.url(name)

    def destroy(self) -> None:
        with contextlib.suppress(RuntimeError, subprocess.TimeoutExpired):
            self._run("pg_ctl", "stop", "-D", str(self.data), "-m", "immediate", timeout=60)
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
