"""Fixtures for the widget: our web server in front of the real Rasa server, and a browser.

The Rasa server is the suite's ``rasa_server`` (started with the repository's credentials.yml,
so our signed socket.io channel is on). Both processes get the web secret the same way
(IPT_WEB_SECRET, else var/secrets/web_secret), so ids our web server signs verify in Rasa.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.helpers import REPO, free_port, start, stop, wait_http

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = REPO / "tests" / "artifacts"
# The flags the machine notes ask for: no sandbox as root, and no calls home, which this
# machine's closed network would refuse.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]
ALLOWED_ORIGIN = "https://clinic.example"


@dataclass
class WebServer:
    """``python -m bot.web`` on a loopback port; ``restart()`` drops every connection."""

    rasa_url: str
    log: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    # /health answers 200 only while Rasa does; a server meant to run without Rasa is
    # ready when its demo page answers.
    ready_path: str = "/health"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        env = {**self.env, "RASA_URL": self.rasa_url, "IPT_WEB_HOST": "127.0.0.1",
               "IPT_WEB_PORT": str(self.port), "IPT_WEB_ORIGINS": ALLOWED_ORIGIN}
        self.proc = start([sys.executable, "-m", "bot.web"], self.log, env=env)
        wait_http(f"{self.url}{self.ready_path}", timeout=60, proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def widget_bundle() -> Path:
    """The built widget (scripts/build-widget.sh does nothing when it is up to date)."""
    subprocess.run([str(REPO / "scripts" / "build-widget.sh")], cwd=REPO, check=True)
    return REPO / "bot" / "web" / "static" / "widget.js"


@pytest.fixture(scope="session")
def web_server(rasa_server, widget_bundle, session_dir, server_env) -> Iterator[WebServer]:
    """Our web server proxying to the suite's Rasa server."""
    # every test here comes from 127.0.0.1: per-address limits would count them all as one
    # visitor (tests/web/test_limits_e2e.py runs a server of its own with the defaults)
    env = {**server_env, "IPT_RATE_SESSIONS_PER_ADDRESS": "10000/60",
           "IPT_RATE_MESSAGES_PER_ADDRESS": "10000/60"}
    server = WebServer(rasa_server.url, session_dir / "web.log", env)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright (no browser download).

    Module scope: Playwright's sync API keeps an event loop marked as running in this thread
    while it is open, which would break ``asyncio.run`` in tests that come after.
    """
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: run `make system-deps` (scripts/system-deps.sh)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture
def page(browser, request):
    """A fresh browser profile (empty localStorage) at desktop size."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.set_default_timeout(20_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    yield pg
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS

