#!/usr/bin/env python
"""Does the trained model answer the same with the onnxruntime encoder as with NumPy's?

usage: PYTHONPATH=. python scripts/compare_encoders.py [--model models/ipt.tar.gz]
       [--encoders numpy,onnx] [--sets questions_a,questions_b,safety_b_crisis,...]

Loads the trained model once per encoder (``IPT_ENCODER``, each in its own process, since a
process keeps one encoder) and parses every message of the chosen blind sets and held-out
files with the whole NLU pipeline (crisis detector, code and medication detectors, fallback).
Prints, per encoder against the first: how many messages got another intent, another crisis
tier (certain / uncertain / none), and the largest change of the top confidence. Same intent
and tier everywhere means the held-out accuracy (docs/nlu.md), the answer scores
(docs/nlu-eval.md) and the safety figures (docs/safety.md) are unchanged, without re-scoring.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BLIND = REPO / "tests" / "data" / "blind"
SETS = ["questions_a", "questions_b", "safety_a_crisis", "safety_a_negatives",
        "safety_b_crisis", "safety_b_negatives", "heldout"]


def texts(sets: list[str]) -> list[str]:
    out: list[str] = []
    for name in sets:
        if name == "heldout":
            import yaml

            for path in sorted((REPO / "tests" / "data").glob("nlu_test_*.yml")):
                for item in (yaml.safe_load(path.read_text()) or {}).get("nlu", []):
                    out += [line[2:].strip() for line in str(item.get("examples", "")).splitlines()
                            if line.startswith("- ")]
            continue
        with (BLIND / f"{name}.tsv").open(encoding="utf-8", newline="") as f:
            rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
        out += [r[1] for r in rows[1:]]
    return out


def parse_all(model: str, messages: list[str], out: Path) -> None:
    """In this process: parse ``messages`` with the model, write [intent, confidence, tier]."""
    import asyncio
    import logging

    logging.disable(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from bot.launch.blas import choose_kernels

    choose_kernels()
    from rasa.core.agent import Agent

    from bot.rasa_ext.nlu import encoder
    from bot.rasa_ext.patches.graph_runner import sequential_runner

    with sequential_runner():
        agent = Agent.load(model)
    loop = asyncio.new_event_loop()
    rows = []
    t0, c0 = time.perf_counter(), time.process_time()
    for i, text in enumerate(messages):
        parsed = loop.run_until_complete(agent.parse_message(text))
        intent = parsed.get("intent") or {}
        name = intent.get("name") or ""
        tier = "certain" if name.startswith("crisis_") else \
            (parsed.get("crisis") or {}).get("tier") or "none"
        rows.append([name, float(intent.get("confidence") or 0.0), tier])
        if (i + 1) % 500 == 0:
            print(f"    {encoder.backend()}: {i + 1} of {len(messages)}", flush=True)
    out.write_text(json.dumps({"backend": encoder.backend(), "rows": rows,
                               "seconds": time.perf_counter() - t0,
                               "cpu_seconds": time.process_time() - c0}))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("--model", default=str(REPO / "models" / "ipt.tar.gz"))
    parser.add_argument("--encoders", default="numpy,onnx")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    messages = texts(args.sets.split(","))
    if args.child:
        parse_all(args.model, messages, Path(args.child))
        return 0
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for encoder in args.encoders.split(","):
            out = Path(tmp) / f"{encoder}.json"
            print(f"parsing {len(messages):,} messages with IPT_ENCODER={encoder} "
                  f"(load average {os.getloadavg()[0]:.1f})", flush=True)
            subprocess.run([sys.executable, __file__, "--model", args.model, "--sets", args.sets,
                            "--child", str(out)], check=True,
                           env={**os.environ, "IPT_ENCODER": encoder,
                                "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"})
            results[encoder] = json.loads(out.read_text())
    first, *others = args.encoders.split(",")
    base = results[first]["rows"]
    for name in [first, *others]:
        r = results[name]
        print(f"{name} (ran as {r['backend']}): {r['seconds']:.0f} s, "
              f"{r['cpu_seconds'] / len(base) * 1000:.1f} ms of CPU per message")
    for name in others:
        rows = results[name]["rows"]
        intents = [i for i, (a, b) in enumerate(zip(base, rows)) if a[0] != b[0]]
        tiers = [i for i, (a, b) in enumerate(zip(base, rows)) if a[2] != b[2]]
        delta = max(abs(a[1] - b[1]) for a, b in zip(base, rows))
        print(f"{name} against {first}, {len(base):,} messages ({args.sets}): "
              f"{len(intents)} other intents, {len(tiers)} other crisis tiers, "
              f"largest confidence change {delta:.4f}")
        for i in (intents + tiers)[:20]:
            print(f"    {messages[i]!r}: {base[i]} -> {rows[i]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
