#!/usr/bin/env python
"""Speed benchmarks for issue 2; results go in docs/benchmarks.md by hand, with the method.

usage: .venv/bin/python scripts/bench.py [--train] [--baseline] [--messages 200]

  (always)    time until a started Rasa server answers, and REST reply latency for one
              conversation at a time (median, p95) on our trained model
  --train     also time training from scratch (`rasa train --force`) and a no-op re-run
  --baseline  also measure Rasa's `rasa init` assistant the same way, in the same run
              (built once under var/bench/rasa-init)
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
BIN = REPO / ".venv" / "bin"
sys.path.insert(0, str(REPO))

from tests.helpers import endpoints_yml, free_port, start, stop, wait_http

OUR_MESSAGES = [
    "what is ipt", "how long does it last", "what are the phases", "tell me more",
    "what are the four problem areas", "what is a role dispute", "hi", "thanks",
    "how is it different from cbt", "what happens in the first session",
]
INIT_MESSAGES = ["hi", "I am sad", "yes", "great", "bye", "are you a bot?"]


def timed(cmd: list[str], cwd: Path) -> float:
    t0 = time.monotonic()
    subprocess.run(cmd, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    return time.monotonic() - t0


def serve(model: Path, cwd: Path, endpoints: Path | None, log: Path) -> tuple:
    port = free_port()
    cmd = [str(BIN / "rasa"), "run", "-m", str(model), "-i", "127.0.0.1", "-p", str(port)]
    if endpoints:
        cmd += ["--endpoints", str(endpoints)]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    wait_http(f"http://127.0.0.1:{port}/", timeout=180, proc=proc)
    url = f"http://127.0.0.1:{port}/webhooks/rest/webhook"
    requests.post(url, json={"sender": "warmup", "message": "hi"}, timeout=60).raise_for_status()
    return proc, url, time.monotonic() - t0


def latency(url: str, messages: list[str], n: int) -> dict:
    times = []
    session = requests.Session()
    for i in range(n):
        t0 = time.perf_counter()
        r = session.post(url, json={"sender": f"bench-{i // 10}", "message": messages[i % len(messages)]},
                         timeout=30)
        r.raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[int(0.95 * len(times)) - 1],
            "n": n}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    work = REPO / "var" / "bench"
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, object] = {}

    if args.train:
        out = work / "train"
        results["train_from_scratch_s"] = timed(
            [str(BIN / "rasa"), "train", "--force", "--out", str(out), "--fixed-model-name", "x"], REPO)
        results["make_noop_s"] = timed(["make", "-s", "models/ipt.tar.gz"], REPO)

    # The action server and Rasa share this secret (endpoints.yml sends it as a header).
    os.environ.setdefault("IPT_ACTION_SECRET", secrets.token_urlsafe(24))
    actions = start([sys.executable, "-m", "bot.launch.action_server", "--port", str(port := free_port())],
                    work / "actions.log")
    endpoints = work / "endpoints.yml"
    endpoints.write_text(endpoints_yml(f"http://127.0.0.1:{port}/webhook"))
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=actions)
        proc, url, ready = serve(REPO / "models" / "ipt.tar.gz", REPO, endpoints, work / "rasa.log")
        try:
            results["ours_ready_s"] = ready
            results["ours"] = latency(url, OUR_MESSAGES, args.messages)
        finally:
            stop(proc)
    finally:
        stop(actions)

    if args.baseline:
        init_dir = work / "rasa-init"
        if not (init_dir / "models").exists():
            init_dir.mkdir(parents=True, exist_ok=True)
            print("building Rasa's `rasa init` assistant once (several minutes)...", flush=True)
            timed([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(init_dir)], REPO)
        model = max((init_dir / "models").glob("*.tar.gz"))
        proc, url, ready = serve(model, init_dir, None, work / "rasa-init.log")
        try:
            results["rasa_init_ready_s"] = ready
            results["rasa_init"] = latency(url, INIT_MESSAGES, args.messages)
        finally:
            stop(proc)

    for key, value in results.items():
        if isinstance(value, float):
            print(f"{key:>22}: {value:.1f}")
        else:
            print(f"{key:>22}: " + ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                                              for k, v in value.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
