"""The scaled topology for the fault tests: `python -m bot.launch.scaled` on private servers.

PostgreSQL and Redis here are private ones started in pytest's temporary folder on free
ports (bot/launch/localsvc.py), never the machine's shared servers: the tests stop and restart
them. Two Rasa servers and one action server behind Debian's nginx, as `make run-scaled`
runs them; the whole topology is started once for the module (about a minute).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bot.launch.localsvc import PrivatePostgres, PrivateRedis, free_port
from tests.helpers import REPO, wait_http


@dataclass
class Scaled:
    """A running scaled topology and its private PostgreSQL and Redis."""

    proc: subprocess.Popen
    run_dir: Path
    log: Path
    pg: PrivatePostgres
    redis: PrivateRedis
    database_url: str
    rest_token: str = ""

    @property
    def topology(self) -> dict:
        return json.loads((self.run_dir / "topology.json").read_text())

    @property
    def rest(self) -> str:
        """nginx in front of the Rasa servers."""
        return f"http://127.0.0.1:{self.topology['rasa_port']}"

    @property
    def web(self) -> str:
        return self.topology["web"]

    def rasa_urls(self) -> list[str]:
        return [f"http://127.0.0.1:{p}" for p in self.topology["rasa_ports"]]

    def send(self, sender: str, text: str) -> list[dict]:
        r = requests.post(f"{self.rest}/webhooks/rest/webhook",
                          headers={"Authorization": f"Bearer {self.rest_token}"},
                          json={"sender": sender, "message": text}, timeout=60)
        r.raise_for_status()
        return r.json()

    def health(self, rasa_url: str) -> tuple[int, dict]:
        r = requests.get(f"{rasa_url}/webhooks/ipt_health/", timeout=10)
        return r.status_code, r.json()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _missing_tools() -> list[str]:
    from bot.launch.localsvc import postgres_bin

    missing = [t for t in ("nginx", "redis-server") if not (shutil.which(t) or
                                                           Path(f"/usr/sbin/{t}").exists())]
    try:
        postgres_bin()
    except RuntimeError:
        missing.append("postgresql")
    return missing


@pytest.fixture(scope="module")
def scaled(model_path) -> Iterator[Scaled]:
    missing = _missing_tools()
    if missing:
        pytest.skip(f"needs {', '.join(missing)} (scripts/system-deps.sh installs nginx)")
    # Not under pytest's folder: that is 0700 root, and PostgreSQL runs as `postgres`.
    work = Path(tempfile.mkdtemp(prefix="ipt-scaled-"))
    work.chmod(0o755)
    pg = PrivatePostgres(work / "pg", free_port(), work / "postgres.log")
    redis = PrivateRedis(work / "redis", free_port())
    pg.start()
    redis.start()
    url = pg.create_database("ipt")
    log = work / "scaled.log"
    rest_token = secrets.token_urlsafe(24)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "IPT_ENV": "test",
           "IPT_VAR_DIR": str(work / "var"), "IPT_REST_TOKEN": rest_token}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.launch.scaled", "--model", str(model_path), "--rasa", "2",
         "--actions", "1", "--free-ports", "--rasa-port", str(free_port()),
         "--action-port", str(free_port()), "--web-port", str(free_port()),
         "--database-url", url, "--redis-url", f"redis://127.0.0.1:{redis.port}/1",
         "--run-dir", str(work / "run"), "--timeout", "400"],
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT,
        start_new_session=True)
    try:
        deadline = time.monotonic() + 420
        while "Press Ctrl-C" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the scaled topology did not start:\n{log.read_text()[-3000:]}")
            time.sleep(1)
        s = Scaled(proc, work / "run", log, pg, redis, url, rest_token)
        wait_http(f"{s.web}/health", timeout=60)
        yield s
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        redis.stop()
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
