"""Start the whole assistant on one machine and stop it with Ctrl-C.

usage: python -m bot.launch.run [--model models/ipt.tar.gz]

Starts the action server and the Rasa server (and, when present and configured, the web
server, the Telegram service and the reminder worker), prefixes each one's output with its
name, waits until they answer, then prints where to talk to the assistant. Ctrl-C, SIGTERM
or SIGHUP (a supervisor, a closed terminal), at any moment, start-up included, or any process
dying stops everything it started; if the launcher itself is killed, its services are told
by the kernel (parent-death signal) and stop too. Ports already in use are reported before
anything starts.
"""

from __future__ import annotations

import argparse
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

from bot import settings

PY = sys.executable
BIN = Path(PY).parent
# The internet-facing processes (web server, Telegram) run in their own environment: Python
# 3.11 with a current aiohttp (requirements-edge.txt), never Rasa's Python 3.10 and aiohttp
# 3.9.5 (docs/security.md). `make setup` creates it; IPT_EDGE_PYTHON names another one.
EDGE_ENV = "IPT_EDGE_PYTHON"
EDGE_VENV_PY = settings.REPO / ".venv-edge" / "bin" / "python"


@dataclass
class Service:
    name: str
    cmd: list[str]
    health: str | None = None
    proc: subprocess.Popen | None = field(default=None, repr=False)


def _has_module(name: str) -> bool:
    """Whether ``name`` can be imported (its parent package may not exist yet)."""
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def plan(model: str, env: dict[str, str]) -> list[Service]:
    """The processes to start, in order."""
    action_port = env.get("IPT_ACTION_PORT", "5055")
    rasa_port = env.get("IPT_RASA_PORT", "5005")
    services = [
        Service("actions", [PY, "-m", "bot.launch.action_server", "--port", action_port],
                f"http://127.0.0.1:{action_port}/health"),
        # The API token reaches Rasa as RASA_TOKEN in its environment (main() sets it), never
        # on its command line; bot.launch.rasa_server adds it to Rasa's arguments in the process.
        Service("rasa", [PY, "-m", "bot.launch.rasa_server", "run", "-m", model, "--enable-api",
                         "-i", "127.0.0.1", "-p", rasa_port, "--endpoints", "endpoints.yml",
                         "--credentials", "credentials.yml"],
                f"http://127.0.0.1:{rasa_port}/"),
    ]
    return services + edge_services(env)


def edge_python(env: dict[str, str]) -> str:
    """The interpreter of the web server and Telegram: IPT_EDGE_PYTHON, else .venv-edge's.

    Without either (a checkout where `make setup` has not run since the edge environment
    came), the Rasa environment's own Python: ``main`` warns loudly then, and refuses when
    IPT_EDGE_PYTHON names an interpreter that is not there (`make run` always names it).
    """
    if env.get(EDGE_ENV):
        return env[EDGE_ENV]
    return str(EDGE_VENV_PY) if EDGE_VENV_PY.exists() else PY


def edge_services(env: dict[str, str]) -> list[Service]:
    """The web server, Telegram and the reminder worker, when present and configured.

    They reach Rasa at RASA_URL and the web server listens on IPT_WEB_PORT (both in ``env``),
    the same whether one Rasa server runs or several behind nginx (bot/launch/scaled.py). The web
    server, Telegram and the reminder worker (which sends to Telegram) run on ``edge_python``:
    none imports Rasa; the edge lock has the store's SQLAlchemy for Telegram's update journal
    and the worker's records.
    """
    services = []
    edge = edge_python(env)
    if _has_module("bot.services.web.__main__"):
        port = env.get("IPT_WEB_PORT", "8080")
        services.append(Service("web", [edge, "-m", "bot.services.web"],
                                f"http://127.0.0.1:{port}/health"))
    if _has_module("bot.services.console.__main__"):
        port = env.get("IPT_CONSOLE_PORT", "8090")
        services.append(Service("console", [PY, "-m", "bot.services.console"],
                                f"http://127.0.0.1:{port}/health"))
    if env.get("TELEGRAM_BOT_TOKEN") and _has_module("bot.services.telegram.__main__"):
        services.append(Service("telegram", [edge, "-m", "bot.services.telegram"]))
    if _has_module("bot.services.worker.__main__"):
        services.append(Service("worker", [edge, "-m", "bot.services.worker"]))
    return services


class Stopping(Exception):
    """A stop signal arrived (SIGINT, SIGTERM or SIGHUP)."""


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
CORE = ("actions", "rasa")  # what the edge services need answering before they start


class _Signals:
    """Turns stop signals into ``Stopping`` in the main thread, except inside a critical section.

    A signal handler that sets a ``threading.Event`` can deadlock against a main thread waiting
    on the same event (its lock is not re-entrant), so nothing here takes a lock: the handler
    raises, or, while a child is being started and its handle not yet kept, only notes the
    signal; the section's end raises it.
    """

    def __init__(self) -> None:
        self.pending: int | None = None
        self.critical = False

    def install(self) -> None:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self._handle)

    def _handle(self, signum, _frame) -> None:
        self.pending = signum
        if not self.critical:
            raise Stopping(signum)

    def enter(self) -> None:
        self.critical = True

    def leave(self) -> None:
        self.critical = False
        if self.pending is not None:
            raise Stopping(self.pending)

    @staticmethod
    def ignore() -> None:
        """From here on (stopping), a second Ctrl-C or SIGTERM cannot interrupt the stop."""
        for sig in STOP_SIGNALS:
            signal.signal(sig, signal.SIG_IGN)


def _load_prctl():
    """libc's prctl, loaded once in the launcher (loading a library after fork is unsafe)."""
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: no parent-death signal, the rest still works
        return None


_PRCTL = _load_prctl()
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Ask the kernel for SIGTERM when the parent process dies, even by kill -9.

    The launcher calls it for itself (``make run`` killed: the launcher stops its services)
    and in each child before exec (the launcher killed: the services stop).
    """
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM))


def ports_in_use(env: dict[str, str], services: list[Service]) -> list[int]:
    """The ports this launch needs that something already listens on (on loopback)."""
    names = {s.name for s in services}
    wanted = [int(env.get("IPT_ACTION_PORT", "5055")), int(env.get("IPT_RASA_PORT", "5005"))]
    if "web" in names:
        wanted.append(int(env.get("IPT_WEB_PORT", "8080")))
    if "console" in names:
        wanted.append(int(env.get("IPT_CONSOLE_PORT", "8090")))
    busy = []
    for port in wanted:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy


def _pipe(service: Service) -> None:
    assert service.proc and service.proc.stdout
    for raw in service.proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        if line:
            print(f"{service.name:>9} | {line}", flush=True)


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    try:
        os.killpg(proc.pid, sig)
    except ProcessLookupError:  # it (and its group) already exited
        pass


def _stop_all(services: list[Service]) -> None:
    """Stop every started service, the edge first; SIGKILL whatever is left after 15 s."""
    started = [s for s in reversed(services) if s.proc is not None]
    for s in started:
        _signal_group(s.proc, signal.SIGTERM)
    deadline = time.monotonic() + 15
    for s in started:
        try:
            s.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            pass
        # The group too: a service's own children (none today) must not outlive it.
        _signal_group(s.proc, signal.SIGKILL)


def _wait_ready(services: list[Service], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    pending = [s for s in services if s.health]
    while pending and time.monotonic() < deadline:
        for s in list(pending):
            if s.proc.poll() is not None:
                print(f">>> {s.name} exited with code {s.proc.returncode}", flush=True)
                return False
            try:
                if requests.get(s.health, timeout=1).status_code == 200:
                    pending.remove(s)
            except requests.RequestException:
                pass
        time.sleep(0.3)
    for s in pending:
        print(f">>> {s.name} did not answer at {s.health} within {timeout:.0f}s", flush=True)
    return not pending


def banner(services: list[Service], env: dict[str, str]) -> str:
    rasa_port = env.get("IPT_RASA_PORT", "5005")
    lines = ["", "IPT Companion is running. Talk to it:"]
    names = {s.name for s in services}
    if "web" in names:
        lines.append(f"  in the browser:  http://127.0.0.1:{env.get('IPT_WEB_PORT', '8080')}/")
    lines += [
        (f"  REST (loopback): curl -s -XPOST http://127.0.0.1:{rasa_port}/webhooks/rest/webhook "
         "-H \"Authorization: Bearer ${IPT_REST_TOKEN:-$(cat var/secrets/rest_token)}\" "
         "-d '{\"sender\": \"me\", \"message\": \"what is IPT?\"}'"),
        ("  in a terminal:   IPT_ACTION_SECRET=$(cat var/secrets/action_secret) "
         ".venv/bin/rasa shell -m models/ipt.tar.gz"),
    ]
    if "console" in names:
        lines.append(f"  staff console:   http://127.0.0.1:{env.get('IPT_CONSOLE_PORT', '8090')}/ "
                     "(first account: .venv/bin/ipt-admin staff add, docs/console.md)")
    lines.append("  Telegram:        " + ("on" if "telegram" in names else
                 "off (set TELEGRAM_BOT_TOKEN to turn it on, see docs/telegram.md)"))
    lines += ["Press Ctrl-C to stop everything.", ""]
    return "\n".join(lines)


def check_edge(env: dict[str, str], services: list[Service]) -> bool:
    """Refuse a named edge interpreter that is missing; warn when there is none at all."""
    if not any(s.name in ("web", "telegram") for s in services):
        return True
    edge = edge_python(env)
    if env.get(EDGE_ENV) and not os.access(edge, os.X_OK):
        print(f"error: {EDGE_ENV}={edge} is not an interpreter: run `make setup` (it creates "
              ".venv-edge, the web server's and Telegram's environment)",
              file=sys.stderr, flush=True)
        return False
    if edge == PY:
        print(">>> WARNING: no .venv-edge: the web server and Telegram run on the Rasa "
              "environment's Python and aiohttp (known vulnerabilities, docs/security.md). "
              "Run `make setup`.", flush=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="models/ipt.tar.gz")
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    os.chdir(settings.REPO)
    if not Path(args.model).exists():
        print(f"error: no trained model at {args.model}: run `make run`", file=sys.stderr)
        return 2
    # RASA_TELEMETRY_ENABLED: Rasa reports usage to its vendor unless told not to; never here.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1",
           "RASA_TELEMETRY_ENABLED": "false"}
    # The web server and Telegram reach Rasa here, wherever IPT_RASA_PORT put it.
    env.setdefault("RASA_URL", f"http://127.0.0.1:{env.get('IPT_RASA_PORT', '5005')}")
    # The action server requires it; Rasa sends it (endpoints.yml reads ${IPT_ACTION_SECRET}).
    env[settings.ACTION_SECRET_ENV] = settings.action_secret()
    env["RASA_TOKEN"] = settings.rasa_token()  # for bot.launch.rasa_server, the worker and Telegram
    # The REST channel's two credentials (bot/rasa_ext/rest_channel.py): Rasa checks, Telegram sends one.
    env[settings.REST_TOKEN_ENV] = settings.rest_token()
    env[settings.RELAY_TOKEN_ENV] = settings.telegram_relay_token()
    services = plan(args.model, env)
    if not check_edge(env, services):
        return 2
    busy = ports_in_use(env, services)
    if busy:
        print(f"error: port {', '.join(map(str, busy))} already in use on 127.0.0.1: is another "
              "`make run` still running? Stop it first (or set IPT_RASA_PORT, IPT_ACTION_PORT, "
              "IPT_WEB_PORT).", file=sys.stderr, flush=True)
        return 2
    if not env.get("TELEGRAM_BOT_TOKEN"):
        print(">>> Telegram is off: TELEGRAM_BOT_TOKEN is not set", flush=True)

    signals = _Signals()
    signals.install()
    die_with_parent()
    if os.getppid() == 1:  # the parent died before we asked to be told
        return 0
    # Rasa first, then the edge: Telegram polls (and the web server takes messages) only once
    # Rasa can answer, so messages that queued during a restart are answered, not refused.
    core = [s for s in services if s.name in CORE]
    try:
        for stage in (core, [s for s in services if s.name not in CORE]):
            for s in stage:
                print(f">>> starting {s.name}", flush=True)
                signals.enter()  # a signal now must not lose the handle of a started child
                s.proc = subprocess.Popen(s.cmd, stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, env=env,
                                          start_new_session=True,
                                          # only a call of the already loaded prctl: no lock
                                          preexec_fn=die_with_parent)  # noqa: PLW1509
                signals.leave()
                threading.Thread(target=_pipe, args=(s,), daemon=True).start()
            if not _wait_ready(stage, args.timeout):
                return 1
        print(banner(services, env), flush=True)
        while True:
            dead = [s for s in services if s.proc.poll() is not None]
            if dead:
                print(f">>> {dead[0].name} stopped (exit {dead[0].proc.returncode}); "
                      "stopping the rest", flush=True)
                return 1
            time.sleep(0.5)
    except Stopping as stop:
        print(f"\n>>> stopping ({signal.Signals(stop.args[0]).name})", flush=True)
        return 0
    finally:
        signals.ignore()
        _stop_all(services)


if __name__ == "__main__":
    raise SystemExit(main())
