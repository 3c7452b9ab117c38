"""What the browser tests share: a real uvicorn server on a free loopback port, and Chromium.

Nothing here imports Playwright at module level: each test module skips itself (with a
reason) when Debian's Chromium or Playwright is missing.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from service.config import Settings
from service.main import create_app
from tests.conftest import TEST_SECRET

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """The app served by uvicorn in a daemon thread, for as long as the `with` block lasts."""

    def __init__(self, settings: Settings) -> None:
        import uvicorn

        self.app = create_app(settings)
        self.base_url = settings.base_url
        port = int(settings.base_url.rsplit(":", 1)[1])
        config = uvicorn.Config(self.app, host="127.0.0.1", port=port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.state.engine.dispose()


@pytest.fixture
def live_settings(database_url: str, outbox_dir: Path) -> Settings:
    """Test settings whose base URL is a free loopback port (emails carry real links)."""
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        environment="test",
        secret_key=TEST_SECRET,  # type: ignore[arg-type]
        database_url=database_url,
        email_backend="file",
        email_file_dir=outbox_dir,
        base_url=f"http://127.0.0.1:{free_port()}",
        mail_from="coffee@hospital.example",
    )


@pytest.fixture
def live_server(live_settings: Settings) -> Iterator[LiveServer]:
    with LiveServer(live_settings) as server:
        yield server


def launch_chromium(playwright: Any) -> Any:
    """Debian's Chromium, headless, never reaching out to the network on its own."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )
