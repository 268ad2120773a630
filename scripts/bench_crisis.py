"""Time the crisis detector alone, inside the real NLU pipeline of the trained model.

usage: python scripts/bench_crisis.py [--model models/ipt.tar.gz] [--repeat 3]

Every message of the blind set A (crisis messages and hard negatives) is parsed by the loaded
model; the CrisisDetector's own ``process`` is timed around each call, so the figure is what
detection adds beyond the features (sentence encoder included) the pipeline had already
computed. Messages whose normalised text differs from the original are re-encoded by the
detector: they are counted too, and reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["RASA_TELEMETRY_ENABLED"] = "false"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models" / "ipt.tar.gz"))
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    logging.disable(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from rasa.core.agent import Agent

    from bot.rasa_ext.nlu.crisis import CrisisDetector, _plain
    from bot.rasa_ext.nlu.crisis_text import normalise
    from bot.rasa_ext.patches.graph_runner import sequential_runner

    with sequential_runner():
        agent = Agent.load(args.model)
    node = next(n for n in agent.processor.graph_runner._instantiated_nodes.values()
                if isinstance(getattr(n, "_component", None), CrisisDetector))
    timings: list[float] = []
    changed: list[float] = []
    original = node._fn  # the graph node calls the bound method it took when it was built

    def timed(*args, **kwargs):
        start = time.perf_counter()
        out = original(*args, **kwargs)
        elapsed = (time.perf_counter() - start) * 1000
        messages = kwargs.get("messages") or args[-1]
        text = messages[0].get("text") or ""
        (changed if normalise(text) != _plain(text) else timings).append(elapsed)
        return out

    node._fn = timed
    texts = []
    for name in ("safety_a_crisis", "safety_a_negatives"):
        with (REPO / "tests" / "data" / "blind" / f"{name}.tsv").open(encoding="utf-8") as f:
            texts += [row[1] for row in csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)][1:]
    loop = asyncio.new_event_loop()
    loop.run_until_complete(agent.parse_message("hello"))  # build the matcher first
    timings.clear()
    changed.clear()
    for _ in range(args.repeat):
        for text in texts:
            loop.run_until_complete(agent.parse_message(text))
    every = timings + changed
    print(f"{len(texts)} messages x {args.repeat}: crisis detector median "
          f"{statistics.median(every):.2f} ms, p90 {statistics.quantiles(every, n=10)[-1]:.2f} ms")
    print(f"  text unchanged by normalisation ({len(timings)}): median "
          f"{statistics.median(timings):.2f} ms")
    if changed:
        print(f"  text normalised, re-encoded ({len(changed)}): median "
              f"{statistics.median(changed):.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
