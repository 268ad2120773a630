"""Compare dialogue policies on held-out test stories: action accuracy, prediction time, training.

Each variant keeps config.yml's CrisisPolicy and IndexedRulePolicy and adds a learned policy
(AugmentedMemoizationPolicy, TEDPolicy, both, or none). For each one this trains a core model
(`rasa train core`, the NLU is the same for all and is left out), then replays the held-out
stories (tests/stories/heldout_*.yml, never trained on) with Rasa's own test code, so the
accuracy is what `rasa test core` reports, and times every prediction.

    PYTHONPATH=$PWD nice .venv/bin/python scripts/compare_policies.py [--eval-only] [variant ...]

--eval-only replays with the models already trained; --timing [variant ...] times the trained
variants side by side in one process, story by story (a shared machine slows them alike).

Results: results/compare/<variant>/ and a summary table on stdout (docs/nlu.md quotes it).
"""

from __future__ import annotations

import asyncio
import copy
import json
import logging
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "results" / "compare"
HELDOUT = sorted((REPO / "tests" / "stories").glob("heldout_*.yml"))
MAX_HISTORY = int(os.environ.get("MAX_HISTORY", "5"))
TED_EPOCHS = int(os.environ.get("TED_EPOCHS", "100"))
REPEATS = 5  # each held-out story is replayed this many times for the timings

MEMO = {"name": "AugmentedMemoizationPolicy", "max_history": MAX_HISTORY}
TED = {"name": "TEDPolicy", "max_history": MAX_HISTORY, "epochs": TED_EPOCHS,
       "constrain_similarities": True}
VARIANTS = {"rules": [], "memo": [MEMO], "ted": [TED], "memo_ted": [MEMO, TED]}

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["RASA_TELEMETRY_ENABLED"] = "false"


def write_config(variant: str, folder: Path) -> Path:
    """config.yml with the variant's learned policies after the crisis and rule policies."""
    config = yaml.safe_load((REPO / "config.yml").read_text())
    config["policies"] = [p for p in config["policies"]
                          if p["name"].startswith("bot.rasa_ext.policies.")]
    config["policies"] += copy.deepcopy(VARIANTS[variant])
    path = folder / "config.yml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


_HOOK = re.compile(r"^(\S+ \S+) INFO\s+rasa\.engine\.training\.hooks\s+- "
                   r"(Starting|Finished) to train component '([^']+)'")
_HOOK_DONE = re.compile(r"^(\S+ \S+) INFO\s+rasa\.engine\.training\.hooks\s+- "
                        r"Finished training component '([^']+)'")


def component_seconds(log: str) -> dict[str, float]:
    """Seconds each component took to train, from Rasa's training hooks (1 s resolution)."""
    started: dict[str, datetime] = {}
    took: dict[str, float] = {}
    for line in log.splitlines():
        if m := _HOOK.match(line):
            started[m.group(3)] = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
        elif (m := _HOOK_DONE.match(line)) and m.group(2) in started:
            end = datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
            took[m.group(2)] = (end - started[m.group(2)]).total_seconds()
    return took


def train(variant: str) -> dict:
    folder = OUT / variant
    folder.mkdir(parents=True, exist_ok=True)
    config = write_config(variant, folder)
    start = time.perf_counter()
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "rasa"), "train", "core", "-c", str(config),
         "-d", "domain.yml", "--stories", "data", "--out", str(folder),
         "--fixed-model-name", "core", "--force"],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    wall = time.perf_counter() - start
    (folder / "train.log").write_text(result.stdout + result.stderr)
    if result.returncode != 0:
        sys.exit(f"{variant}: training failed, see {folder / 'train.log'}")
    return {"train_wall_s": round(wall, 1),
            "train_components_s": component_seconds(result.stdout + result.stderr)}


async def evaluate(variant: str) -> dict:
    from rasa.core.agent import Agent
    from rasa.core.test import _collect_action_executed_predictions, _create_data_generator
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    # Rasa's debug logging (every state of every prediction) would be timed too.
    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    agent = Agent.load(str(OUT / variant / "core.tar.gz"))
    trackers = []
    for path in HELDOUT:
        trackers += _create_data_generator(str(path), agent).generate_story_trackers()
    slots = agent.domain.slots
    total = correct = 0
    failed_stories: set[str] = set()
    wrong: list[str] = []
    winners: dict[str, int] = {}
    per_prediction: list[float] = []
    per_message: list[float] = []
    learned_nodes = [name for name, node in agent.processor.model_metadata.predict_schema
                     .nodes.items() if name.startswith("run_") and ("Memoization" in node.uses
                                                                    .__name__ or "TED" in
                                                                    node.uses.__name__)]
    learned = {"right": 0, "wrong": 0, "silent": 0}
    for repeat in range(REPEATS):
        for tracker in trackers:
            events = list(tracker.events)
            partial = DialogueStateTracker.from_events(tracker.sender_id, events[:1], slots)
            message_time = 0.0
            for event in events[1:]:
                if isinstance(event, UserUttered):
                    if message_time:
                        per_message.append(message_time)
                    message_time = 0.0
                if isinstance(event, ActionExecuted):
                    if repeat == 0 and learned_nodes:
                        guess = learned_guess(agent, partial, learned_nodes)
                        gold = event.action_name or event.action_text
                        learned[("right" if guess == gold else
                                 "silent" if guess is None else "wrong")] += 1
                    start = time.perf_counter()
                    store, prediction, _ = await _collect_action_executed_predictions(
                        agent.processor, partial, event, False)
                    took = time.perf_counter() - start
                    per_prediction.append(took)
                    message_time += took
                    if store.action_targets and repeat == 0:
                        total += 1
                        ok = store.action_targets[0] == store.action_predictions[0]
                        correct += ok
                        name = (prediction.policy_name or "none").split(".")[-1]
                        name = re.sub(r"^policy_\d+_", "", name)
                        winners[name] = winners.get(name, 0) + 1
                        if not ok:
                            failed_stories.add(tracker.sender_id)
                            wrong.append(f"{tracker.sender_id}: expected "
                                         f"{store.action_targets[0]}, got "
                                         f"{store.action_predictions[0]} ({name})")
                else:
                    # (Rasa's function has added the action to the tracker itself)
                    partial.update(event)
            if message_time:
                per_message.append(message_time)

    def ms(values: list[float], q: float) -> float:
        return round(1000 * statistics.quantiles(values, n=100)[int(q) - 1], 2)

    return {
        "stories": len(trackers), "stories_failed": len(failed_stories),
        "actions": total, "actions_correct": correct,
        "action_accuracy": round(correct / total, 4) if total else None,
        "wrong": wrong, "winning_policy": winners,
        # the learned policy by itself, rules and crisis policy left out: where no rule applies
        "learned_alone": learned,
        "prediction_ms_mean": round(1000 * statistics.mean(per_prediction), 2),
        "prediction_ms_p95": ms(per_prediction, 95),
        "message_ms_mean": round(1000 * statistics.mean(per_message), 2),
        "message_ms_p50": ms(per_message, 50), "message_ms_p95": ms(per_message, 95),
    }


def learned_guess(agent, tracker, nodes: list[str]) -> str | None:
    """The learned policies' own next action (the most confident; None if none predicts)."""
    from rasa.engine.constants import PLACEHOLDER_TRACKER

    results = agent.processor.graph_runner.run(inputs={PLACEHOLDER_TRACKER: tracker},
                                                targets=nodes)
    best = max((results[n] for n in nodes), key=lambda p: max(p.probabilities, default=0))
    if max(best.probabilities, default=0) <= 0:
        return None
    index = max(range(len(best.probabilities)), key=best.probabilities.__getitem__)
    return agent.domain.action_names_or_texts[index]


async def interleaved_timing(variants: list[str], repeats: int = REPEATS) -> dict:
    """Per-message prediction time of each variant, replaying the held-out stories in turn.

    All models are loaded in one process and each story is replayed by every variant before
    the next, so a busy machine slows every variant alike (the machine is shared).
    """
    from rasa.core.agent import Agent
    from rasa.core.test import _collect_action_executed_predictions, _create_data_generator
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)
    agents = {v: Agent.load(str(OUT / v / "core.tar.gz")) for v in variants}
    first = agents[variants[0]]
    trackers = []
    for path in HELDOUT:
        trackers += _create_data_generator(str(path), first).generate_story_trackers()
    times: dict[str, list[float]] = {v: [] for v in variants}
    for _ in range(repeats):
        for tracker in trackers:
            for variant, agent in agents.items():
                events = list(tracker.events)
                partial = DialogueStateTracker.from_events(tracker.sender_id, events[:1],
                                                           agent.domain.slots)
                message = 0.0
                for event in events[1:]:
                    if isinstance(event, UserUttered) and message:
                        times[variant].append(message)
                        message = 0.0
                    if isinstance(event, ActionExecuted):
                        start = time.perf_counter()
                        await _collect_action_executed_predictions(agent.processor, partial,
                                                                   event, False)
                        message += time.perf_counter() - start
                    else:
                        partial.update(event)
                if message:
                    times[variant].append(message)
    return {v: {"messages": len(t), "mean_ms": round(1000 * statistics.mean(t), 1),
                "p50_ms": round(1000 * statistics.median(t), 1),
                "p95_ms": round(1000 * statistics.quantiles(t, n=100)[94], 1)}
            for v, t in times.items()}


def main(variants: list[str], eval_only: bool = False) -> None:
    if not HELDOUT:
        sys.exit("no tests/stories/heldout_*.yml")
    summary = {}
    for variant in variants:
        saved = OUT / variant / "result.json"
        if eval_only:
            trained = json.loads(saved.read_text()) if saved.exists() else {}
            log = (OUT / variant / "train.log").read_text()
            result = {"train_wall_s": trained.get("train_wall_s"),
                      "train_components_s": component_seconds(log)}
        else:
            print(f">>> {variant}: training", flush=True)
            result = train(variant)
        print(f">>> {variant}: evaluating on {', '.join(p.name for p in HELDOUT)}", flush=True)
        result |= asyncio.run(evaluate(variant))
        saved.write_text(json.dumps(result, indent=2))
        summary[variant] = result
        print(json.dumps(result, indent=2), flush=True)
    print("\nvariant   accuracy (actions)  stories ok  msg ms mean/p95  learned-policy train s"
          "  learned alone right/wrong/silent")
    for variant, r in summary.items():
        learned = sum(s for c, s in r["train_components_s"].items()
                      if "Memoization" in c or "TED" in c)
        print(f"{variant:9} {r['action_accuracy']:.3f} ({r['actions_correct']}/{r['actions']})"
              f"   {r['stories'] - r['stories_failed']}/{r['stories']}"
              f"        {r['message_ms_mean']}/{r['message_ms_p95']}"
              f"      {learned:.0f}      {r['learned_alone']}")


if __name__ == "__main__":
    args = sys.argv[1:]
    if "--timing" in args:
        chosen = [a for a in args if a != "--timing"] or list(VARIANTS)
        timing = asyncio.run(interleaved_timing(chosen))
        (OUT / "timing.json").write_text(json.dumps(timing, indent=2))
        print(json.dumps(timing, indent=2))
        raise SystemExit(0)
    eval_only = "--eval-only" in args
    args = [a for a in args if a != "--eval-only"]
    main(args or list(VARIANTS), eval_only)
