"""Tokens never reach the logs: uvicorn's access log, the app's loggers, tracebacks.

Checked three ways: every signed-link route of the app through `redact`, real requests
through uvicorn in this process (caplog), and a real `coffeerounds serve` subprocess whose
output is read back.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

from service.links import LinkSigner
from service.log_redaction import REDACTED, redact
from service.models import Organization
from tests.conftest import TEST_SECRET
from tests.e2e.conftest import free_port
from tests.service.test_security_headers import get_routes

TOKEN = LinkSigner(TEST_SECRET).make("manage", participant_id=123456, version=1)
RESET_TOKEN = "Xq3vT0kP9sJ2mN8bW4cY7eR1uI5oA6dF0gH2jK4lZ9x"  # like secrets.token_urlsafe(32)


def token_urls(app: FastAPI) -> list[str]:
    """Every route that takes a token, with a real-looking one filled in."""
    urls = []
    for route in get_routes(app):
        if "{token}" not in route:
            continue
        url = route.replace("{org_slug}", "stmarys").replace("{action}", "checkin")
        url = url.replace("{token}", RESET_TOKEN if "password-reset" in url else TOKEN)
        urls.append(re.sub(r"\{[^}]+\}", "7", url))
    return urls


def test_every_signed_link_route_is_redacted(app: FastAPI) -> None:
    urls = token_urls(app)
    assert len(urls) >= 10
    for url in urls:
        line = f'127.0.0.1:5123 - "GET {url}?done=saved HTTP/1.1" 200'
        cleaned = redact(line)
        assert TOKEN not in cleaned and RESET_TOKEN not in cleaned, cleaned
        assert REDACTED in cleaned
        assert "?done=saved" in cleaned  # only the secret goes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/api/v1/organizations/stmarys/signups", "/api/v1/organizations/stmarys/signups"),
        ("/o/manage/join", "/o/manage/join"),  # an organization may be called "manage"
        (
            "/o/a-very-long-hospital-slug-with-many-words/join",
            "/o/a-very-long-hospital-slug-with-many-words/join",
        ),
        ("/x?token=abc&page=2", f"/x?token={REDACTED}&page=2"),
        (f"failed: https://h.example/other/{TOKEN}", f"failed: https://h.example/other/{REDACTED}"),
        ("round 2026-03 for stmarys: 12 queued", "round 2026-03 for stmarys: 12 queued"),
    ],
)
def test_what_is_and_is_not_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_app_log_records_are_redacted_whatever_logger_or_argument(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    url = f"http://testserver/o/stmarys/confirm/{TOKEN}"
    logging.getLogger("service.outbox").warning("could not send %s", url)
    logging.getLogger("some.library").info("GET %(url)s", {"url": url})
    try:
        raise ValueError(f"bad link {url}")
    except ValueError:
        logging.getLogger("coffeerounds.scheduler").exception("job failed")
    assert len(caplog.records) == 3
    assert TOKEN not in caplog.text
    assert caplog.text.count(REDACTED) == 3
    assert "bad link http://testserver/o/stmarys/confirm/[redacted]" in caplog.text


@pytest.fixture
def served(app: FastAPI) -> Iterator[str]:
    """The app behind a real uvicorn in this process; its logs go to the root logger."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, log_level="info")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def fetch(url: str, **headers: str) -> int:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_uvicorn_access_log_never_shows_a_token(
    app: FastAPI,
    org: Organization,
    served: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.INFO)
    # An earlier in-process uvicorn (the browser tests') may have configured uvicorn's loggers
    # with its default dictConfig: not propagating, or disabled. Let records reach caplog.
    for name in ("uvicorn", "uvicorn.access"):
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "propagate", True)
        monkeypatch.setattr(logger, "disabled", False)
        monkeypatch.setattr(logger, "level", logging.INFO)
    urls = token_urls(app)
    for url in urls:
        fetch(served + url)
    access = [r for r in caplog.records if r.name == "uvicorn.access"]
    assert len(access) == len(urls)
    for record in access:
        line = record.getMessage()
        assert TOKEN not in line and RESET_TOKEN not in line
        assert REDACTED in line
    assert TOKEN not in caplog.text and RESET_TOKEN not in caplog.text


def test_a_real_coffeerounds_serve_redacts_its_logs_and_ignores_spoofed_forwarded_for(
    database_url: str, org: Organization, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": TEST_SECRET,
        "ENVIRONMENT": "test",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "EMAIL_FILE_DIR": str(tmp_path / "outbox"),
        "RATE_LIMIT_REQUESTS_PER_CLIENT_PER_MINUTE": "2",
        "TRUSTED_PROXIES": "",
        "LOG_LEVEL": "info",
    }
    command = [
        str(Path(sys.executable).with_name("coffeerounds")),
        "serve",
        "--port",
        str(port),
    ]
    output = tmp_path / "serve.log"
    with output.open("wb") as sink:
        process = subprocess.Popen(command, env=env, stdout=sink, stderr=subprocess.STDOUT)
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while fetch_or_none(base + "/healthz") != 200:
                assert process.poll() is None, output.read_text()
                assert time.monotonic() < deadline, "coffeerounds serve did not start"
                time.sleep(0.2)
            assert fetch(f"{base}/o/stmarys/manage/{TOKEN}") == 400
            assert fetch(f"{base}/admin/password-reset/{RESET_TOKEN}") == 400
            # uvicorn on its own would believe X-Forwarded-For from 127.0.0.1; here nobody
            # is a trusted proxy, so a new forged address per request does not help.
            statuses = [
                post_json(
                    f"{base}/api/v1/organizations/stmarys/manage-links",
                    b'{"email": "a@stmarys.example"}',
                    forwarded_for=f"192.0.2.{number}",
                )
                for number in range(3)
            ]
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=20)
    log = output.read_text()
    assert statuses == [202, 202, 429]
    assert f"/o/stmarys/manage/{REDACTED}" in log
    assert f"/admin/password-reset/{REDACTED}" in log
    assert TOKEN not in log and RESET_TOKEN not in log
    assert "127.0.0.1" in log and "192.0.2." not in log  # the peer, not the forged address


def fetch_or_none(url: str) -> int | None:
    try:
        return fetch(url)
    except OSError:
        return None


def post_json(url: str, body: bytes, *, forwarded_for: str) -> int:
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded_for},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code
