#!/usr/bin/env python
"""Compare NLU configurations on the held-out set (tests/data/): accuracy, time, confidence.

usage: .venv/bin/python scripts/nlu_compare.py CONFIG.yml [CONFIG.yml ...]

Trains the NLU of each config on data/nlu/ (not the held-out set), then reports the top-1
intent accuracy and how accuracy changes with the FallbackClassifier threshold, so the
classifier and the threshold are chosen by measurement (docs/nlu.md).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.domain_utils import nlu_examples

THRESHOLDS = [0.0, 0.2, 0.3, 0.4, 0.5]


def evaluate(config: str) -> None:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    out = tempfile.mkdtemp(prefix="nlu-compare-")
    t0 = time.monotonic()
    model = train_nlu(config, "data/nlu", out, domain="domain.yml")
    train_s = time.monotonic() - t0
    agent = Agent.load(model)
    held = nlu_examples(REPO / "tests" / "data")
    rows = []
    t0 = time.monotonic()
    loop = asyncio.new_event_loop()
    for intent, examples in held.items():
        for text in examples:
            parsed = loop.run_until_complete(agent.parse_message(text))
            ranking = parsed.get("intent_ranking") or [parsed["intent"]]
            top = next((r for r in ranking if r["name"] != "nlu_fallback"), ranking[0])
            rows.append((intent, top["name"], top["confidence"]))
    parse_ms = (time.monotonic() - t0) * 1000 / len(rows)
    print(f"\n== {config}: trained in {train_s:.0f}s, {parse_ms:.1f} ms/parse, {len(rows)} examples")
    for th in THRESHOLDS:
        acc = sum(1 for want, got, c in rows if got == want and c >= th) / len(rows)
        print(f"   fallback threshold {th:.2f}: accuracy {acc:.3f}")
    wrong = [(w, g, round(c, 2)) for w, g, c in rows if w != g]
    print("   top-1 errors:", wrong[:25])


if __name__ == "__main__":
    for cfg in sys.argv[1:]:
        evaluate(cfg)
