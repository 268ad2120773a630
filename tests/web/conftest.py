"""Fixtures for the widget: our web server in front of the real Rasa server, and a page.

The browser is the suite's ``browser`` (tests/conftest.py, launched by tests/browser.py).
The Rasa server is the suite's ``rasa_server`` (started with the repository's credentials.yml,
so our signed socket.io channel is on). Both processes get the web secret the same way
(IPT_WEB_SECRET, else var/secrets/web_secret), so ids our web server signs verify in Rasa.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # noqa: F401 (imported from here before)
from tests.helpers import EDGE_PYTHON, REPO, free_port, start, stop, wait_http

ARTIFACTS = REPO / "tests" / "artifacts"
ALLOWED_ORIGIN = "https://clinic.example"


@dataclass
class WebServer:
    """``python -m bot.services.web`` on a loopback port; ``restart()`` drops every connection."""

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
        # the edge environment (.venv-edge) as in `make run`: Python 3.11, current aiohttp
        self.proc = start([EDGE_PYTHON, "-m", "bot.services.web"], self.log, env=env)
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

