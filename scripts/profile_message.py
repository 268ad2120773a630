#!/usr/bin/env python
"""Where Rasa spends one message: cProfile over N messages handled by the loaded model.

usage: .venv/bin/python scripts/profile_message.py [--messages 200] [--tracker memory|sql]
                                                   [--model models/ipt.tar.gz] [--top 25] [--dask]
                                                   [--fresh]

Loads the model in-process (as `rasa run` does, without HTTP), sends questions in
conversations of ten messages, and prints the time per message split by the parts Rasa
runs: NLU graph components, policies, tracker store, actions. ``--tracker sql`` uses our
IPTTrackerStore on a fresh SQLite file (IPT_DATABASE_URL to use another database).
``--fresh``: every message a new wording (scripts/fresh_questions.py), as `make bench`'s
headline row, so no cache serves the sentence encoder. Besides wall time, the process's CPU
time per message is printed: it does not depend on other work on the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

# No "tell me more": it runs a custom action, and no action server runs here.
QUESTIONS = ["what is ipt", "how long does it last", "what are the phases", "who is it for",
             "what are the four problem areas", "what is a role dispute", "hi", "thanks",
             "how is it different from cbt", "what happens in the first session"]

# Buckets: a function's cumulative time is charged to the first bucket whose pattern is in
# its file path and name (inclusive times; the nesting is shown by the order).
BUCKETS = [
    ("message in total", "agent.py:handle_message"),
    ("NLU: parse_message (whole NLU graph)", "processor.py:parse_message"),
    ("  SpacyNLP (spaCy pipeline)", "spacy_utils.py:process"),
    ("  SpacyTokenizer", "spacy_tokenizer.py:process"),
    ("  SentenceEncoderFeaturizer (MiniLM)", "sentence_featurizer.py:process"),
    ("    WordPiece tokenizer", "minilm.py:ids"),
    ("    encoder forward pass", "minilm.py:forward"),
    ("    encoder forward pass (onnxruntime)", "minilm_onnx.py:forward"),
    ("  LinearIntentClassifier", "linear_classifier.py:process"),
    ("  CountVectorsFeaturizer", "count_vectors_featurizer.py:process"),
    ("  RegexFeaturizer", "regex_featurizer.py:process"),
    ("  CodeDetector", "code_detector.py:process"),
    ("  CrisisDetector", "crisis.py:process"),
    ("  FallbackClassifier", "fallback_classifier.py:process"),
    ("policies: predict_next_action (graph)", "processor.py:_predict_next_with_tracker"),
    ("  RulePolicy", "rule_policy.py:predict_action_probabilities"),
    ("  CrisisPolicy", "crisis.py:predict_action_probabilities"),
    ("  featurizing the tracker for policies", "tracker_featurizers.py"),
    ("tracker store: retrieve", "tracker_store.py:retrieve"),
    ("tracker store: save", "tracker_store.py:save"),
    ("running actions (incl. remote calls)", "processor.py:_run_action"),
]


def bucket_table(stats: pstats.Stats, messages: int) -> list[tuple[str, float]]:
    """Per-message milliseconds of each bucket (largest cumulative time among its matches)."""
    rows = []
    for label, pattern in BUCKETS:
        file_part, _, func = pattern.partition(":")
        total = max((ct for (filename, _line, name), (_cc, _nc, _tt, ct, _callers)
                     in stats.stats.items() if filename.endswith(file_part) and name == func),
                    default=0.0)
        rows.append((label, total / messages * 1000))
    return rows


FRESH = None  # a FreshQuestions supply with --fresh
CPU: dict[str, float] = {}
try:
    from rasa.shared.exceptions import RasaException
except ImportError:  # pragma: no cover
    RasaException = Exception  # type: ignore[misc,assignment]


async def run(agent, n: int, prefix: str) -> float:
    t0, c0 = time.perf_counter(), time.process_time()
    for i in range(n):
        text = FRESH.next() if FRESH is not None else QUESTIONS[i % len(QUESTIONS)]
        try:
            await agent.handle_text(text, sender_id=f"{prefix}-{i // 10}")
        except RasaException:  # a custom action (no action server here): the NLU, policies
            pass  # and tracker work of the message were done and are counted
    CPU[prefix] = time.process_time() - c0
    return time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models" / "ipt.tar.gz"))
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--tracker", choices=["memory", "sql"], default="memory")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--dask", action="store_true",
                        help="Rasa's dask graph runner instead of ours (bot/rasa_ext/patches/graph_runner.py)")
    parser.add_argument("--fresh", action="store_true",
                        help="every message worded anew (no cache serves it)")
    args = parser.parse_args()
    if args.fresh:
        global FRESH
        from scripts.fresh_questions import FreshQuestions

        FRESH = FreshQuestions(seed=11)
    from bot.launch.blas import choose_kernels

    choose_kernels()  # as bot.launch.rasa_server does, before NumPy is imported
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import logging

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # as `rasa run` does by default (INFO); unconfigured, Rasa logs every step at DEBUG
    configure_logging_and_warnings(logging.INFO)
    configure_structlog(logging.INFO)

    tracker_store = None
    if args.tracker == "sql":
        from bot.rasa_ext.tracker_store import IPTTrackerStore

        url = os.environ.get("IPT_DATABASE_URL") or \
            f"sqlite:///{tempfile.mkdtemp()}/profile.db"
        tracker_store = IPTTrackerStore(url=url)
    if not args.dask:  # as `rasa run` through bot.launch.rasa_server
        from bot.rasa_ext.patches import action_validation, graph_runner

        graph_runner.install()
        action_validation.install()
    agent = Agent.load(args.model, tracker_store=tracker_store)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(run(agent, 20, "warm"))  # warm-up: TF functions traced, caches filled
    plain = loop.run_until_complete(run(agent, args.messages, "plain"))
    print(f"{args.messages} messages, {plain / args.messages * 1000:.1f} ms per message "
          f"without the profiler, {CPU['plain'] / args.messages * 1000:.1f} ms of CPU time "
          f"(load average {os.getloadavg()[0]:.1f})")
    profiler = cProfile.Profile()
    profiler.enable()
    elapsed = loop.run_until_complete(run(agent, args.messages, "prof"))
    profiler.disable()
    print(f"{args.messages} messages, {elapsed / args.messages * 1000:.1f} ms per message "
          f"under the profiler ({args.tracker} tracker store)\n")
    stats = pstats.Stats(profiler)
    for label, ms in bucket_table(stats, args.messages):
        print(f"{ms:8.1f} ms  {label}")
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print("\nby own time:\n" + out.getvalue().split("\n", 6)[-1])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
