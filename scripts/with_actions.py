"""Run a Rasa command with our action server up, then stop the action server again.

usage: python scripts/with_actions.py COMMAND [ARGS...]
  e.g. python scripts/with_actions.py .venv/bin/rasa shell -m models/ipt.tar.gz

What `make shell`, `make interactive` and `make test-stories` use. Like bot/launch/run.py, it puts the
shared secret in the environment (endpoints.yml sends ${IPT_ACTION_SECRET}; the action server
refuses calls without it) and starts `python -m bot.launch.action_server` on the port endpoints.yml
names. If an action server already answers there (`make run` is up), that one is used and
left running. The action server's output goes to var/log/action_server.log.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bot import settings

LOG = REPO / "var" / "log" / "action_server.log"


def action_port() -> int:
    """The action server's port, as endpoints.yml tells Rasa."""
    endpoints = yaml.safe_load((REPO / "endpoints.yml").read_text())
    return urlparse(endpoints["action_endpoint"]["url"]).port or 5055


def answering(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code == 200
    except requests.RequestException:
        return False


def start_action_server(port: int, env: dict[str, str], timeout: float = 120) -> subprocess.Popen:
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with LOG.open("ab") as log:
        # its own session: Ctrl-C in the shell must not reach it; we stop it ourselves
        proc = subprocess.Popen([sys.executable, "-m", "bot.launch.action_server", "--port", str(port)],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
    health = f"http://127.0.0.1:{port}/health"
    deadline = time.monotonic() + timeout
    while not answering(health):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop(proc)
            sys.exit(f"error: the action server did not start on port {port}: see {LOG}")
        time.sleep(0.3)
    return proc


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def main(argv: list[str]) -> int:
    if not argv:
        sys.exit(__doc__)
    os.chdir(REPO)
    # Rasa reports usage to its vendor unless told not to: never from a health product.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}
    env[settings.ACTION_SECRET_ENV] = settings.action_secret()
    port = action_port()
    proc = None
    if answering(f"http://127.0.0.1:{port}/health"):
        print(f">>> using the action server already running on port {port}", flush=True)
    else:
        print(f">>> starting the action server on port {port} (log: {LOG.relative_to(REPO)})",
              flush=True)
        proc = start_action_server(port, env)
    # Ctrl-C belongs to the command (rasa shell ends on it); we only clean up after it.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        child = subprocess.Popen(argv, env=env, preexec_fn=lambda: signal.signal(  # noqa: PLW1509
            signal.SIGINT, signal.SIG_DFL))
        return child.wait()
    finally:
        signal.signal(signal.SIGINT, previous)
        if proc is not None:
            print(">>> stopping the action server", flush=True)
            stop(proc)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
