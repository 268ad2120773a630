"""`make run`'s launcher (bot/launch/run.py) leaves no process behind, however and whenever it is stopped.

Each run is the real launcher with the trained model on free ports and a private var/ and
database; every process it starts inherits a marker in its environment, so the test finds
any that outlived it in /proc.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.helpers import REPO, free_port

pytestmark = pytest.mark.e2e
MARK = "IPT_LAUNCH_MARK"


def _marked(mark: str) -> list[int]:
    """Pids of live processes whose environment carries ``mark``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if f"{MARK}={mark}".encode() in (entry / "environ").read_bytes().split(b"\0"):
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":  # a zombie has already exited
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def _launch(model_path: Path, tmp: Path, extra: dict[str, str] | None = None):
    mark = secrets.token_hex(8)
    env = {
        **os.environ, MARK: mark, "IPT_VAR_DIR": str(tmp / "var"),
        "IPT_DATABASE_URL": f"sqlite:///{tmp / 'ipt.db'}", "IPT_ACTION_PORT": str(free_port()),
        "IPT_RASA_PORT": str(free_port()), "IPT_WEB_PORT": str(free_port()),
        "IPT_CONSOLE_PORT": str(free_port()),
        "IPT_LOG_LEVEL": "WARNING", **(extra or {}),
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    log = (tmp / f"run-{mark}.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.launch.run", "--model", str(model_path)], cwd=REPO, env=env,
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    return proc, mark, Path(log.name)


def _gone(mark: str, within: float) -> list[int]:
    deadline = time.monotonic() + within
    while (left := _marked(mark)) and time.monotonic() < deadline:
        time.sleep(0.2)
    return left


# Ten moments of the start-up and after it, and the three ways a launcher is told to stop.
MOMENTS = [(0.0, "SIGTERM"), (0.4, "SIGHUP"), (1.0, "SIGINT"), (1.8, "SIGTERM"),
           (2.7, "SIGTERM"), (3.8, "SIGHUP"), (5.0, "SIGTERM"), (6.5, "SIGINT"),
           (8.5, "SIGTERM"), ("ready", "SIGTERM")]


def test_stopping_at_any_moment_of_start_up_leaves_no_process(model_path, tmp_path):
    for delay, name in MOMENTS:
        proc, mark, log = _launch(model_path, tmp_path)
        if delay == "ready":
            deadline = time.monotonic() + 120
            while "is running" not in log.read_text(errors="replace"):
                assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
        else:
            time.sleep(delay)
        os.kill(proc.pid, getattr(signal, name))
        try:
            proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the launcher hung after {name} at {delay}s:\n{log.read_text()[-2000:]}")
        left = _gone(mark, 5)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"{name} at {delay}s left {len(left)} processes:\n{log.read_text()[-2000:]}"


def test_a_killed_launcher_takes_its_services_with_it(model_path, tmp_path):
    proc, mark, log = _launch(model_path, tmp_path)
    deadline = time.monotonic() + 120
    while "is running" not in log.read_text(errors="replace"):
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)
    assert len(_marked(mark)) >= 3  # the launcher, the action server, Rasa, ...
    os.kill(proc.pid, signal.SIGKILL)  # no handler runs: only the kernel can tell the children
    proc.wait(10)
    left = _gone(mark, 30)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"kill -9 of the launcher left {len(left)} processes"


def test_a_port_in_use_is_reported_and_nothing_starts(model_path, tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        proc, mark, log = _launch(model_path, tmp_path, {"IPT_RASA_PORT": str(port)})
        assert proc.wait(60) == 2
    said = log.read_text()
    assert f"port {port} already in use" in said and "another `make run`" in said
    assert ">>> starting" not in said and not _marked(mark)
