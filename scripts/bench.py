#!/usr/bin/env python
"""`make bench`: ours against Rasa's `rasa init` assistant, in one run, on this machine.

usage: .venv/bin/python scripts/bench.py [--levels 1,10,50] [--duration 20] [--warmup 5]
                                         [--cached-levels 1,10,50] [--json out.json]
                                         [--encoders onnx|numpy|numpy,onnx] [--init-model M]
       .venv/bin/python scripts/bench.py --startup [--train] [--baseline] [--messages 200]

The default run (what `make bench` does, about 15 minutes):
  1. creates Rasa's `rasa init --no-prompt` assistant in a temporary directory (which trains
     it: DIET, TED, ResponseSelector) and serves it with `rasa run` over REST;
  2. starts our whole `make run` stack (`python -m bot.launch.run`: Rasa through bot.launch.rasa_server,
     action server, web server, reminder worker, console; SQLite in a temporary file);
  3. at each concurrency level in turn (scripts/load.py, closed loop, warm-up first) measures
     `rasa init` (its own small talk), ours with every message worded anew
     (``--mix fresh``: blind-set questions with lead-ins, sign-offs and variations, no text
     twice in the run: scripts/fresh_questions.py) and ours on the old mix (15 short
     questions, check-ins and homework, which the sentence encoder's cache mostly serves);
  4. prints a table (msg/s, p50, p95, p99, the ratios to `rasa init` at the same level, and
     the processor time the servers used per message, which other work on the machine hardly
     changes) with the load average before each line, and writes var/bench/bench-<time>.json.
``--encoders numpy,onnx`` runs one stack of ours per sentence encoder (IPT_ENCODER), for a
before/after in the same run; ``--init-model`` reuses a `rasa init` model trained before.
Both assistants stay up for the whole run and are measured one after the other at each level,
so a change in the machine's load (other people's work on the two cores) hits both.

``--startup``: the older measurement of issue 2 (time until a started Rasa answers, REST
latency one message at a time; ``--train`` times training, ``--baseline`` adds `rasa init`).
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


def startup_main(args: argparse.Namespace) -> int:
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


# --- the default run: ours and `rasa init` under load, in one run ---------------------------

def _progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def _loadavg() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def _popen(cmd: list[str], log: Path, env: dict[str, str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **env},
                            stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _killpg(proc: subprocess.Popen) -> None:
    import signal

    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _with_progress(proc: subprocess.Popen, what: str, every: float = 30) -> int:
    """Wait for ``proc``, saying every ``every`` seconds that it is still going."""
    t0 = time.monotonic()
    while True:
        try:
            return proc.wait(every)
        except subprocess.TimeoutExpired:
            _progress(f"  ... {what}: {time.monotonic() - t0:.0f} s so far, load {_loadavg()}")


def build_rasa_init(tmp: Path) -> tuple[Path, float]:
    """`rasa init --no-prompt` in ``tmp`` (it trains the model); the model and the seconds."""
    init_dir = tmp / "rasa-init"
    init_dir.mkdir()
    _progress(f"creating and training Rasa's `rasa init` assistant in {init_dir} "
              f"(several minutes; load {_loadavg()})")
    t0 = time.monotonic()
    proc = _popen([str(BIN / "rasa"), "init", "--no-prompt", "--init-dir", str(init_dir)],
                  tmp / "rasa-init.log", {}, tmp)
    if _with_progress(proc, "rasa init") != 0:
        raise SystemExit(f"`rasa init` failed, see {tmp / 'rasa-init.log'}")
    seconds = time.monotonic() - t0
    models = sorted((init_dir / "models").glob("*.tar.gz"))
    if not models:
        raise SystemExit(f"`rasa init` trained no model, see {tmp / 'rasa-init.log'}")
    _progress(f"`rasa init` created and trained in {seconds:.0f} s")
    return models[-1], seconds


def start_rasa_init(model: Path, tmp: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = _popen([str(BIN / "rasa"), "run", "-m", str(model), "-i", "127.0.0.1", "-p",
                   str(port)], tmp / "rasa-init-run.log", {}, model.parent.parent)
    return proc, f"http://127.0.0.1:{port}"


def wait_rasa_init(proc: subprocess.Popen, url: str) -> None:
    wait_http(f"{url}/", timeout=1800, proc=proc)
    requests.post(f"{url}/webhooks/rest/webhook", json={"sender": "warm", "message": "hi"},
                  timeout=120).raise_for_status()


def start_ours(model: Path, tmp: Path, encoder: str) -> tuple[subprocess.Popen, str, str, Path]:
    """Our whole stack as `make run` starts it, with IPT_ENCODER=``encoder``; (process,
    Rasa's URL, the database URL, its log)."""
    rasa_port = free_port()
    db_url = f"sqlite:///{tmp / f'ipt-{encoder}.db'}"
    env = {"IPT_RASA_PORT": str(rasa_port), "IPT_ACTION_PORT": str(free_port()),
           "IPT_WEB_PORT": str(free_port()), "IPT_DATABASE_URL": db_url,
           "IPT_CONSOLE_PORT": str(free_port()), "IPT_ENCODER": encoder}
    log = tmp / f"ours-{encoder}.log"
    proc = _popen([sys.executable, "-m", "bot.launch.run", "--model", str(model), "--timeout", "1800"],
                  log, env, REPO)
    return proc, f"http://127.0.0.1:{rasa_port}", db_url, log


def wait_ours(proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 1800
    while "Press Ctrl-C" not in log.read_text(errors="replace"):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"our stack did not start, see {log}")
        time.sleep(1)


def row_label(name: str) -> str:
    if name == "init":
        return "`rasa init` (DIET, TED, ResponseSelector; one `rasa run`), its small talk"
    kind, _, encoder = name.partition(":")
    what = ("every message worded anew" if kind == "fresh" else
            "old mix (15 short questions repeated, check-ins, homework)")
    return f"IPT Companion, whole `make run` stack, encoder {encoder}: {what}"


def tree_cpu(root: int) -> float:
    """Processor seconds (user + system) used so far by ``root`` and all its descendants."""
    tick = os.sysconf("SC_CLK_TCK")
    parent, cpu = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        parent[int(entry.name)] = int(fields[1])
        cpu[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    total = 0.0
    for pid, seconds in cpu.items():
        p = pid
        while p and p != root:
            p = parent.get(p, 0)
        if p == root:
            total += seconds
    return total


def measure(name: str, level: int, argv: list[str], args: argparse.Namespace,
            root: int) -> dict:
    """One line: ``level`` conversations for warm-up + duration, and the processor time the
    server processes under ``root`` used in the measured part, per answered message (that
    does not depend on how much of the machine other work takes)."""
    import threading

    from scripts import load

    before = _loadavg()
    largs = load.parse_args([*argv, "--duration", str(args.duration), "--warmup",
                             str(args.warmup), "--concurrency", str(level)])
    marks: list[float] = []
    timers = [threading.Timer(t, lambda: marks.append(tree_cpu(root)))
              for t in (args.warmup, args.warmup + args.duration)]
    for timer in timers:
        timer.start()
    [summary] = load.run(largs)
    for timer in timers:  # the last mark may still be reading /proc
        timer.join()
    summary.pop("confirmed", None)
    cpu_ms = ((marks[1] - marks[0]) * 1000 / summary["messages"]
              if len(marks) == 2 and summary["messages"] else float("nan"))
    summary.update(row=name, load_before=before, load_after=_loadavg(), cpu_ms_per_msg=cpu_ms)
    _progress(f"  {name:>13} c={level:<3} {summary['msg_per_s']:6.1f} msg/s  "
              f"p50 {summary['p50_ms']:6.0f}  p95 {summary['p95_ms']:6.0f}  "
              f"p99 {summary['p99_ms']:6.0f} ms  CPU {cpu_ms:5.1f} ms/msg  "
              f"n={summary['messages']} err={summary['errors']}  "
              f"load {before} -> {summary['load_after']}")
    return summary


def table(results: list[dict], levels: list[int]) -> str:
    init = {r["concurrency"]: r for r in results if r["row"] == "init"}
    lines = [("| assistant | N | msg/s | x `rasa init` msg/s (p95) | p50 ms | p95 ms | p99 ms "
              "| CPU ms/msg | messages | errors | load before |"),
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    names = list(dict.fromkeys(r["row"] for r in results))
    names.sort(key=lambda n: (n != "init", n.startswith("cached"), n))
    for name in names:
        label = row_label(name)
        rows = [r for r in results if r["row"] == name]
        for i, r in enumerate(sorted(rows, key=lambda r: r["concurrency"])):
            base = init.get(r["concurrency"])
            ratio = (f"{r['msg_per_s'] / base['msg_per_s']:.2f}"
                     if base and base["msg_per_s"] and name != "init" else "")
            if base and name != "init":
                ratio += f" (p95 {r['p95_ms'] / base['p95_ms']:.2f})"
            lines.append(
                f"| {label if i == 0 else ''} | {r['concurrency']} | {r['msg_per_s']:.1f} | "
                f"{ratio} | {r['p50_ms']:.0f} | {r['p95_ms']:.0f} | {r['p99_ms']:.0f} | "
                f"{r.get('cpu_ms_per_msg', float('nan')):.1f} | "
                f"{r['messages']:,} | {r['errors']} | {r['load_before'].split('/')[0]} |")
    return "\n".join(lines)


def bench_main(args: argparse.Namespace) -> int:
    import json
    import shutil
    import tempfile

    os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
    model = Path(args.model).resolve()
    if not model.exists():
        raise SystemExit(f"no trained model at {model}: `make bench` trains it first")
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    _progress(f"make bench: started {started}, load average {_loadavg()}, "
              f"{os.cpu_count()} cores; levels {args.levels}, {args.warmup:.0f} s warm-up + "
              f"{args.duration:.0f} s measured per line")
    tmp = Path(tempfile.mkdtemp(prefix="ipt-bench-"))
    procs: list[subprocess.Popen] = []
    results: list[dict] = []
    encoders = args.encoders
    try:
        if args.init_model:
            init_model, init_train_s = Path(args.init_model).resolve(), float("nan")
            _progress(f"`rasa init` model given: {init_model} (not trained in this run)")
        else:
            init_model, init_train_s = build_rasa_init(tmp)
        # all servers start at once (each loads alone; none is measured while starting)
        _progress(f"starting `rasa init`'s server and our stack for encoder(s) {encoders}")
        init_proc, init_url = start_rasa_init(init_model, tmp)
        procs.append(init_proc)
        ours = {}
        for encoder in encoders:
            proc, url, db_url, log = start_ours(model, tmp, encoder)
            procs.append(proc)
            ours[encoder] = (proc, url, db_url, log)
        t0 = time.monotonic()
        wait_rasa_init(init_proc, init_url)
        _progress(f"`rasa init` answers ({time.monotonic() - t0:.0f} s)")
        for encoder, (proc, _url, _db, log) in ours.items():
            wait_ours(proc, log)
            _progress(f"our stack with encoder {encoder} is up ({time.monotonic() - t0:.0f} s)")
        _progress(f"all up; measuring (load {_loadavg()})")
        from scripts import load

        for level in sorted(set(args.levels) | set(args.cached_levels)):
            if level in args.levels:
                results.append(measure("init", level, ["--rest", init_url, "--mix", "init"],
                                       args, init_proc.pid))
                for encoder, (proc, url, _db, _log) in ours.items():
                    results.append(measure(f"fresh:{encoder}", level,
                                           ["--rest", url, "--mix", "fresh"], args, proc.pid))
            if level in args.cached_levels:
                for encoder, (proc, url, db_url, _log) in ours.items():
                    results.append(measure(f"cached:{encoder}", level,
                                           ["--rest", url, "--mix", "ours",
                                            "--database-url", db_url], args, proc.pid))
        distinct = len(load.fresh_questions())
    finally:
        for proc in reversed(procs):
            _killpg(proc)
    report = table(results, args.levels)
    print("\n" + report)
    print(f"\n`rasa init` created and trained in {init_train_s:.0f} s. Fresh texts drawn in "
          f"the run: {distinct:,}, all distinct (warm-up included). Load average at the end: "
          f"{_loadavg()}. Started {started}.")
    out = Path(args.json) if args.json else \
        REPO / "var" / "bench" / f"bench-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"started": started, "rasa_init_train_s": init_train_s,
                               "fresh_texts": distinct, "results": results}, indent=2))
    print(f"results: {out}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


def main() -> int:
    def levels(text: str) -> list[int]:
        return [int(x) for x in text.split(",") if x]

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--levels", type=levels, default=[1, 10, 50])
    parser.add_argument("--cached-levels", type=levels, default=[1, 10, 50])
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--model", default=str(REPO / "models" / "ipt.tar.gz"))
    parser.add_argument("--encoders", default=["onnx"],
                        type=lambda s: [x for x in s.split(",") if x],
                        help="one stack of ours per sentence encoder (IPT_ENCODER), e.g. "
                             "numpy,onnx for before and after in one run")
    parser.add_argument("--init-model", default=None,
                        help="a `rasa init` model trained before (skips `rasa init`)")
    parser.add_argument("--json", default=None)
    parser.add_argument("--startup", action="store_true",
                        help="the older start-up and one-at-a-time latency measurement")
    parser.add_argument("--train", action="store_true")
    parser.add_argument("--baseline", action="store_true")
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    return startup_main(args) if args.startup else bench_main(args)


if __name__ == "__main__":
    raise SystemExit(main())
