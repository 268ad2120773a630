"""Shared fixtures: a loaded Rasa agent, an action server and a Rasa server on loopback.

The trained model is ``models/ipt.tar.gz`` (``make test`` trains it when data changed).
Servers are started once per test session, on free loopback ports, each with its own
fresh SQLite database under pytest's temporary directory.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from freezegun import freeze_time

from tests.helpers import MODEL, REPO, endpoints_yml, free_port, start, stop, wait_http
from tests.store import dbutil

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# Rasa reports usage to its vendor unless told not to: never, from a health product.
os.environ["RASA_TELEMETRY_ENABLED"] = "false"


@pytest.fixture(scope="session")
def model_path() -> Path:
    if not MODEL.exists():
        pytest.fail(f"{MODEL} is missing: run `make test` (it trains the model first)")
    return MODEL


@pytest.fixture(scope="session")
def session_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("servers")


@pytest.fixture(scope="session")
def database_url(session_dir) -> str:
    """The records database the session's servers share (fresh SQLite file)."""
    return f"sqlite:///{session_dir / 'ipt.db'}"


@pytest.fixture(scope="session")
def action_secret() -> str:
    """The shared secret between the test Rasa servers and the action server."""
    return secrets.token_urlsafe(24)


@pytest.fixture(scope="session")
def rest_tokens() -> dict[str, str]:
    """The REST channel's credentials: the test/dev one and the Telegram service's one."""
    return {"IPT_REST_TOKEN": secrets.token_urlsafe(24),
            "IPT_TELEGRAM_RELAY_TOKEN": secrets.token_urlsafe(24)}


@pytest.fixture(scope="session")
def server_env(database_url, action_secret, rest_tokens) -> dict[str, str]:
    """Environment for every process the tests start."""
    # INFO, so the log check (tests/test_logs_e2e.py) sees everything logged at INFO and above.
    return {"IPT_DATABASE_URL": database_url, "IPT_ENV": "test",
            "IPT_ACTION_SECRET": action_secret, "IPT_LOG_LEVEL": "INFO", "LOG_LEVEL": "INFO",
            **rest_tokens}


@pytest.fixture(scope="session")
def action_headers(action_secret) -> dict[str, str]:
    """The header the action server requires on every call."""
    from bot.settings import ACTION_SECRET_HEADER

    return {ACTION_SECRET_HEADER: action_secret}


@pytest.fixture(scope="session")
def action_server(session_dir, server_env):
    port = free_port()
    proc = start(
        [sys.executable, "-m", "bot.launch.action_server", "--port", str(port)],
        session_dir / "actions.log", env=server_env,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=proc)
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium driven by Playwright, for the widget's and the console's tests.

    Module scope: Playwright's sync API keeps an event loop marked as running in this thread
    while it is open, which would break ``asyncio.run`` in tests that come after.
    """
    from tests.browser import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def frozen_clock(request):
    """Stop the clock at the test module's ``NOW`` for everything the test calls.

    One "now" for the test and for every function it reaches, whatever the machine's date:
    code that reads the clock itself (``api.link_account`` checking a code's expiry, a model's
    ``created_at``) sees the same instant as the values the test passes explicitly. Move it
    with ``frozen_clock.move_to(...)`` or ``frozen_clock.tick(...)``. Synchronous tests only:
    a frozen clock stops asyncio's timers (async code takes an injected clock instead).
    """
    with freeze_time(request.module.NOW) as frozen:
        yield frozen


@pytest.fixture(scope="session")
def event_loop_session():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@dataclass
class Chat:
    """Talk to a loaded agent as one user: ``chat.say("hi")`` returns the bot's replies."""

    agent: object
    loop: asyncio.AbstractEventLoop
    sender: str

    def say(self, text: str) -> list[dict]:
        return self.loop.run_until_complete(self.agent.handle_text(text, sender_id=self.sender)) or []


@pytest.fixture(scope="session")
def agent(model_path, action_server, action_headers, event_loop_session):
    """The trained assistant loaded in-process (in-memory tracker store), running its graph
    with the runner `rasa run` uses here (bot/rasa_ext/patches/graph_runner.py)."""
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    from bot.rasa_ext.patches.graph_runner import sequential_runner

    endpoint = EndpointConfig(action_server, headers=action_headers)
    with sequential_runner():
        return Agent.load(str(model_path), action_endpoint=endpoint)


@pytest.fixture
def chat(agent, event_loop_session) -> Chat:
    """A fresh conversation with the loaded agent."""
    return Chat(agent, event_loop_session, sender=f"test-{secrets.token_hex(6)}")


@dataclass
class RasaServer:
    url: str
    token: str
    rest_token: str = ""
    relay_token: str = ""
    pid: int = 0

    def rest_headers(self, sender: str) -> dict[str, str]:
        """The REST credential for ``sender``: Telegram chats only with the relay's token."""
        token = self.relay_token if sender.startswith("tg-") else self.rest_token
        return {"Authorization": f"Bearer {token}"}

    def send(self, sender: str, text: str, timeout: float = 30) -> list[dict]:
        """Send ``text`` through the REST channel and return the replies."""
        r = requests.post(f"{self.url}/webhooks/rest/webhook", headers=self.rest_headers(sender),
                          json={"sender": sender, "message": text}, timeout=timeout)
        r.raise_for_status()
        return r.json()


@pytest.fixture(scope="session")
def rasa_server(model_path, action_server, session_dir, server_env, rest_tokens):
    """`rasa run` as `make run` starts it (bot.launch.rasa_server) on loopback with the trained model,
    the action server and our SQL tracker store on the session's database (IPT_DATABASE_URL),
    as endpoints.yml configures it."""
    port = free_port()
    token = secrets.token_hex(16)
    endpoints = session_dir / "endpoints.yml"
    endpoints.write_text(endpoints_yml(action_server, tracker_store=True))
    # the API token through the environment, as bot/launch/run.py passes it: never on a command line
    proc = start(
        [sys.executable, "-m", "bot.launch.rasa_server", "run", "-m", str(model_path),
         "--enable-api", "-i", "127.0.0.1", "-p", str(port),
         "--endpoints", str(endpoints), "--credentials", str(REPO / "credentials.yml")],
        session_dir / "rasa.log", env={**server_env, "RASA_TOKEN": token},
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/", timeout=120, proc=proc)
        yield RasaServer(f"http://127.0.0.1:{port}", token, rest_tokens["IPT_REST_TOKEN"],
                         rest_tokens["IPT_TELEGRAM_RELAY_TOKEN"], proc.pid)
    finally:
        stop(proc)


# Records databases: every store-level test runs on a fresh SQLite file and on PostgreSQL.

@pytest.fixture(scope="session")
def pg_url():
    """A PostgreSQL database for this test session, migrated, dropped at the end."""
    with dbutil.throwaway_pg_database(migrate=True) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def url(request, tmp_path):
    """A migrated, empty database: a new SQLite file, or the session's PostgreSQL emptied."""
    from bot.clinic.store import db

    if request.param == "sqlite":
        u = f"sqlite:///{tmp_path / 'ipt.db'}"
        db.migrate(u)
        yield u
    else:
        u = request.getfixturevalue("pg_url")
        dbutil.truncate_all(u)
        yield u
