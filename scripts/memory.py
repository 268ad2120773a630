#!/usr/bin/env python
"""Resident memory of each process of a running stack, and where a Rasa server's goes.

usage: .venv/bin/python scripts/memory.py --pid PID      every process under PID (bot.launch.run,
                                                         bot.launch.scaled), after some traffic
       .venv/bin/python scripts/memory.py --start [--scaled 2] [--env K=V ...]
                                                         start the stack, talk to it, measure,
                                                         stop it
       .venv/bin/python scripts/memory.py --breakdown    RSS of one Python process step by
                                                         step: interpreter, TensorFlow, Rasa,
                                                         the loaded model, first message

RSS counts shared pages (libraries, copy-on-write) in every process; PSS shares them out, so
the PSS column adds up to what the machine really spends. Numbers for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _kb(field: str, text: str) -> int:
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def usage(pid: int) -> dict:
    """RSS and PSS (MiB) and a short name for ``pid``."""
    rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    words = [c.decode(errors="replace") for c in cmd if c]
    name = " ".join(Path(words[0]).name if i == 0 else w for i, w in enumerate(words[:4]))
    return {"pid": pid, "name": name, "rss_mib": _kb("Rss", rollup) / 1024,
            "pss_mib": _kb("Pss", rollup) / 1024}


def tree(root: int) -> list[int]:
    """``root`` and all its descendants."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def report(root: int) -> list[dict]:
    rows = []
    for pid in tree(root):
        try:
            rows.append(usage(pid))
        except OSError:
            continue
    rows.sort(key=lambda r: -r["pss_mib"])
    return rows


def print_rows(rows: list[dict]) -> None:
    print(f"{'pid':>7}  {'RSS MiB':>8}  {'PSS MiB':>8}  process")
    for r in rows:
        print(f"{r['pid']:>7}  {r['rss_mib']:8.0f}  {r['pss_mib']:8.0f}  {r['name']}")
    print(f"{'total':>7}  {sum(r['rss_mib'] for r in rows):8.0f}  "
          f"{sum(r['pss_mib'] for r in rows):8.0f}")


def talk(rest: str, n: int = 30) -> None:
    """Some traffic, so caches and lazily built parts are in memory when we measure."""
    from bot.settings import (
        rest_token,  # the REST channel's credential (bot/rasa_ext/rest_channel.py)
    )

    for i in range(n):
        requests.post(f"{rest}/webhooks/rest/webhook",
                      headers={"Authorization": f"Bearer {rest_token()}"},
                      json={"sender": f"mem-{i % 5}", "message": ["what is ipt", "hi",
                            "what are the phases", "thanks"][i % 4]}, timeout=60)


def start_and_measure(scaled: int, extra_env: dict[str, str]) -> list[dict]:
    from tests.helpers import free_port

    env = {**os.environ, **extra_env}
    run_dir = REPO / "var" / "bench" / "memory"
    if scaled:
        rest_port, web_port = free_port(), free_port()
        cmd = [sys.executable, "-m", "bot.launch.scaled", "--rasa", str(scaled), "--free-ports",
               "--rasa-port", str(rest_port), "--web-port", str(web_port),
               "--pg-port", str(free_port()), "--redis-port", str(free_port()),
               "--run-dir", str(run_dir)]
    else:
        rest_port, web_port = free_port(), free_port()
        env.update(IPT_RASA_PORT=str(rest_port), IPT_ACTION_PORT=str(free_port()),
                   IPT_WEB_PORT=str(web_port),
                   IPT_DATABASE_URL=f"sqlite:///{run_dir / 'ipt.db'}")
        run_dir.mkdir(parents=True, exist_ok=True)
        cmd = [sys.executable, "-m", "bot.launch.run"]
    log = (run_dir.parent / "memory.log").open("wb")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{web_port}/health", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            if proc.poll() is not None:
                raise SystemExit(f"the stack exited early; see {log.name}")
            time.sleep(1)
        talk(f"http://127.0.0.1:{rest_port}")
        time.sleep(2)
        return report(proc.pid)
    finally:
        proc.terminate()
        proc.wait(60)


BREAKDOWN = r"""
import os, sys, time, json, asyncio
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS:'):
            return int(line.split()[1]) / 1024
steps = [('python', rss())]
import tensorflow
from rasa.utils.tensorflow.environment import setup_tf_environment
setup_tf_environment()  # as `rasa run` does: TF_INTRA/INTER_OP_PARALLELISM_THREADS
steps.append(('+ import tensorflow', rss()))
import rasa.core.agent, rasa.core.run, logging
from rasa.utils.common import configure_logging_and_warnings
from rasa.utils.log_utils import configure_structlog
configure_logging_and_warnings(logging.INFO); configure_structlog(logging.INFO)
steps.append(('+ import rasa (core, server)', rss()))
from rasa.core.agent import Agent
agent = Agent.load(sys.argv[1])
steps.append(('+ load the model (spaCy, DIET, rules, domain)', rss()))
for i in range(20):
    asyncio.run(agent.handle_text(["what is ipt", "what are the phases"][i % 2], sender_id='m'))
steps.append(('+ 20 messages (graph warm, TF functions traced)', rss()))
print(json.dumps(steps))
"""


def breakdown(extra_env: dict[str, str]) -> list[tuple[str, float]]:
    out = subprocess.run([sys.executable, "-c", BREAKDOWN, str(REPO / "models" / "ipt.tar.gz")],
                         cwd=REPO, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **extra_env},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pid", type=int)
    parser.add_argument("--start", action="store_true")
    parser.add_argument("--scaled", type=int, default=0)
    parser.add_argument("--breakdown", action="store_true")
    parser.add_argument("--env", action="append", default=[], help="K=V for the processes")
    args = parser.parse_args()
    extra = dict(kv.split("=", 1) for kv in args.env)
    if args.breakdown:
        for name, mib in breakdown(extra):
            print(f"{mib:8.0f} MiB  {name}")
    if args.pid:
        print_rows(report(args.pid))
    if args.start:
        print_rows(start_and_measure(args.scaled, extra))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
