#!/usr/bin/env python
"""Throughput and latency under load, in one run: ours, Rasa's `rasa init`, 1 and 2 servers.

usage: .venv/bin/python scripts/bench_scale.py [--only single,init,scaled1,scaled2,socketio]
                                               [--duration 20] [--concurrency 1,10,30]
                                               [--mix ours|questions] [--fresh-text]

  single    ours as `make run` starts it (one Rasa server, one action server, SQLite)
  init      Rasa's `rasa init` assistant, one `rasa run` (built once under var/bench/rasa-init)
  scaled1   `python -m bot.launch.scaled --rasa 1` (nginx, PostgreSQL, Redis lock store)
  scaled2   `python -m bot.launch.scaled --rasa 2`
  socketio  scaled2 again, the same mix over socket.io through our web server

Each configuration is started, loaded with scripts/load.py at each concurrency (closed loop,
warm-up first), and stopped before the next, so they do not compete for the two cores. The
load average is printed with each line: other work on the machine skews the numbers.
Results also go to var/bench/scale-<mix>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from scripts import load
from tests.helpers import free_port, wait_http

WORK = REPO / "var" / "bench"
BIN = Path(sys.executable).parent


# All the load comes from this machine's one address: the web server's per-address and
# per-conversation rate limits (docs/security.md) would refuse most of it as one visitor.
UNLIMITED = {"IPT_RATE_SESSIONS_PER_ADDRESS": "1000000/1",
             "IPT_RATE_MESSAGES_PER_ADDRESS": "1000000/1",
             "IPT_RATE_MESSAGES_PER_VISITOR": "1000000/1"}


def _start(cmd: list[str], log: Path, env: dict[str, str], cwd: Path = REPO) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _wait_log(proc: subprocess.Popen, log: Path, marker: str, timeout: float = 400) -> None:
    deadline = time.monotonic() + timeout
    while marker not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"did not start, see {log}")
        time.sleep(1)


def _measure(name: str, args: argparse.Namespace, argv: list[str]) -> list[dict]:
    rows = []
    for c in args.concurrency:
        la = os.getloadavg()[0]
        largs = load.parse_args([*argv, "--duration", str(args.duration), "--warmup",
                                 str(args.warmup), "--concurrency", str(c)])
        [summary] = load.run(largs)
        summary.pop("confirmed", None)
        name_used = name + ("-fresh" if args.fresh_text and name != "init" else "")
        summary.update(config=name_used, load_before=la, load_after=os.getloadavg()[0])
        print(f"{name_used:>9} c={c:<3} {summary['msg_per_s']:6.1f} msg/s  p50 {summary['p50_ms']:6.0f}"
              f"  p95 {summary['p95_ms']:6.0f}  p99 {summary['p99_ms']:6.0f} ms  "
              f"n={summary['messages']} err={summary['errors']}  load {la:.1f}", flush=True)
        rows.append(summary)
    return rows


def _fresh(args: argparse.Namespace) -> list[str]:
    return ["--fresh-text"] if args.fresh_text else []


def bench_single(args: argparse.Namespace) -> list[dict]:
    rasa_port, web_port = free_port(), free_port()
    db = WORK / "single.db"
    db.unlink(missing_ok=True)
    env = {"IPT_RASA_PORT": str(rasa_port), "IPT_ACTION_PORT": str(free_port()),
           "IPT_WEB_PORT": str(web_port), "IPT_DATABASE_URL": f"sqlite:///{db}"}
    log = WORK / "single.log"
    proc = _start([sys.executable, "-m", "bot.launch.run"], log, env)
    try:
        _wait_log(proc, log, "Press Ctrl-C")
        return _measure("single", args, ["--rest", f"http://127.0.0.1:{rasa_port}",
                                         "--database-url", f"sqlite:///{db}", "--mix", args.mix,
                                         *_fresh(args)])
    finally:
        _stop(proc)


def bench_init(args: argparse.Namespace) -> list[dict]:
    init_dir = WORK / "rasa-init"
    if not (init_dir / "models").exists():
        init_dir.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(init_dir)],
                       cwd=WORK, check=True, stdout=subprocess.DEVNULL)
    model = max((init_dir / "models").glob("*.tar.gz"))
    port = free_port()
    proc = _start([str(BIN / "rasa"), "run", "-m", str(model), "-i", "127.0.0.1", "-p",
                   str(port)], WORK / "init.log", {}, cwd=init_dir)
    try:
        wait_http(f"http://127.0.0.1:{port}/", timeout=300, proc=proc)
        requests.post(f"http://127.0.0.1:{port}/webhooks/rest/webhook",
                      json={"sender": "warm", "message": "hi"}, timeout=60)
        return _measure("init", args, ["--rest", f"http://127.0.0.1:{port}", "--mix", "init"])
    finally:
        _stop(proc)


def bench_scaled(args: argparse.Namespace, servers: int, channel: str) -> list[dict]:
    rest_port, web_port = free_port(), free_port()
    run_dir = WORK / f"scaled{servers}"
    log = WORK / f"scaled{servers}.log"
    proc = _start([sys.executable, "-m", "bot.launch.scaled", "--rasa", str(servers), "--free-ports",
                   "--rasa-port", str(rest_port), "--action-port", str(free_port()),
                   "--web-port", str(web_port), "--pg-port", str(free_port()),
                   "--redis-port", str(free_port()), "--run-dir", str(run_dir)], log,
                  UNLIMITED)
    try:
        _wait_log(proc, log, "Press Ctrl-C")
        url = json.loads((run_dir / "topology.json").read_text())["database_url"]
        argv = ["--rest", f"http://127.0.0.1:{rest_port}", "--web",
                f"http://127.0.0.1:{web_port}", "--channel", channel, "--database-url", url,
                "--mix", args.mix, *_fresh(args)]
        name = f"scaled{servers}" + ("-sio" if channel == "socketio" else "") + \
            ("-q" if args.mix == "questions" else "")
        return _measure(name, args, argv)
    finally:
        _stop(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="single,init,scaled1,scaled2,socketio")
    parser.add_argument("--mix", choices=["ours", "questions"], default="ours",
                        help="what our configurations are sent (scripts/load.py --mix)")
    parser.add_argument("--fresh-text", action="store_true",
                        help="questions worded anew each time (scripts/load.py --fresh-text)")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--concurrency", default="1,10,30",
                        type=lambda s: [int(x) for x in s.split(",")])
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    results: list[dict] = []
    for what in args.only.split(","):
        if what == "single":
            results += bench_single(args)
        elif what == "init":
            results += bench_init(args)
        elif what == "scaled1":
            results += bench_scaled(args, 1, "rest")
        elif what == "scaled2":
            results += bench_scaled(args, 2, "rest")
        elif what == "socketio":
            results += bench_scaled(args, 2, "socketio")
        else:
            parser.error(f"unknown configuration {what}")
    suffix = "-fresh" if args.fresh_text else ""
    (WORK / f"scale-{args.mix}{suffix}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
