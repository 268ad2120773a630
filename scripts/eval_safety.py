"""Score crisis detection on a blind safety set, per category, with the trained model.

usage: python scripts/eval_safety.py [--model models/ipt.tar.gz] [--set a] [--misses]

No server: the model is loaded in-process (rasa's Agent) and every message is parsed by the
NLU pipeline, crisis detector included. For each message the tier is read from the parse:

- certain: the intent is a ``crisis_*`` intent (the full crisis response);
- uncertain: the detector marked it ``tier: uncertain`` (the "are you safe?" check);
- none: anything else.

Crisis file: recall (certain + uncertain) and certain-tier recall per category. Negatives
file: false alarms (certain) and uncertain checks per kind. ``--misses`` lists the misses.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["RASA_TELEMETRY_ENABLED"] = "false"


def read_set(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r[0], r[1]) for r in rows[1:]]


def tier_of(parsed: dict) -> str:
    """certain, uncertain or none, from one parse result."""
    if (parsed.get("intent") or {}).get("name", "").startswith("crisis_"):
        return "certain"
    if (parsed.get("crisis") or {}).get("tier") == "uncertain":
        return "uncertain"
    return "none"


def score(parse, rows: list[tuple[str, str]]) -> dict[str, list[tuple[str, str, dict]]]:
    by_label: dict[str, list[tuple[str, str, dict]]] = defaultdict(list)
    for label, text in rows:
        parsed = parse(text)
        by_label[label].append((tier_of(parsed), text, parsed))
    return by_label


def pct(n: int, d: int) -> str:
    return f"{100 * n / d:.1f}%" if d else "-"


def crisis_table(results) -> tuple[list[str], int, int, int]:
    """Recall and certain-tier recall per category; and, because a message in a language the
    assistant does not read gets the multilingual line with the emergency number (intent
    ``other_language``) rather than a check, the share that got help of either kind."""
    lines = ["| category | n | recall (certain + uncertain) | certain | help shown (+ multilingual line) |",
             "|---|---:|---:|---:|---:|"]
    total = hit = certain = shown = 0
    for label in sorted(results):
        rows = results[label]
        n = len(rows)
        h = sum(t != "none" for t, _, _ in rows)
        c = sum(t == "certain" for t, _, _ in rows)
        s = sum(t != "none" or (p.get("intent") or {}).get("name") == "other_language"
                for t, _, p in rows)
        total, hit, certain, shown = total + n, hit + h, certain + c, shown + s
        lines.append(f"| {label} | {n} | {pct(h, n)} | {pct(c, n)} | {pct(s, n)} |")
    lines.append(f"| **all** | {total} | **{pct(hit, total)}** | **{pct(certain, total)}** | "
                 f"**{pct(shown, total)}** |")
    return lines, total, hit, certain


def negatives_table(results) -> tuple[list[str], int, int, int]:
    lines = ["| kind | n | false alarms (certain) | uncertain checks |", "|---|---:|---:|---:|"]
    total = alarms = checks = 0
    for label in sorted(results):
        rows = results[label]
        n = len(rows)
        a = sum(t == "certain" for t, _, _ in rows)
        u = sum(t == "uncertain" for t, _, _ in rows)
        total, alarms, checks = total + n, alarms + a, checks + u
        lines.append(f"| {label} | {n} | {pct(a, n)} | {pct(u, n)} |")
    lines.append(f"| **all** | {total} | **{pct(alarms, total)}** | **{pct(checks, total)}** |")
    return lines, total, alarms, checks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models" / "ipt.tar.gz"))
    parser.add_argument("--set", default="a", help="which blind set: a, b, ...")
    parser.add_argument("--misses", action="store_true", help="list misses and false alarms")
    parser.add_argument("--dir", default=str(REPO / "tests" / "data" / "blind"),
                        help="folder of the safety_<set>_*.tsv files")
    args = parser.parse_args(argv)

    import logging

    logging.disable(logging.WARNING)
    import structlog

    # rasa logs every parse at debug level through structlog: keep the report readable
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from rasa.core.agent import Agent

    from bot.rasa_ext.patches.graph_runner import sequential_runner

    blind = Path(args.dir)
    crisis_rows = read_set(blind / f"safety_{args.set}_crisis.tsv")
    negative_rows = read_set(blind / f"safety_{args.set}_negatives.tsv")
    with sequential_runner():
        agent = Agent.load(args.model)
    loop = asyncio.new_event_loop()

    def parse(text: str) -> dict:
        return loop.run_until_complete(agent.parse_message(text))

    start = time.perf_counter()
    crisis = score(parse, crisis_rows)
    negatives = score(parse, negative_rows)
    seconds = time.perf_counter() - start

    lines, *_ = crisis_table(crisis)
    print(f"## Set {args.set.upper()}: crisis messages\n")
    print("\n".join(lines))
    lines, *_ = negatives_table(negatives)
    print(f"\n## Set {args.set.upper()}: hard negatives\n")
    print("\n".join(lines))
    n = len(crisis_rows) + len(negative_rows)
    print(f"\n{n} messages in {seconds:.1f} s ({1000 * seconds / n:.1f} ms per message, "
          "whole NLU pipeline)")
    if args.misses:
        print("\n## Misses")
        for label, rows in sorted(crisis.items()):
            for tier, text, parsed in rows:
                if tier == "none":
                    print(f"{label}\t{parsed['intent']['name']}\t{text}")
        print("\n## False alarms (certain) and checks (uncertain)")
        for label, rows in sorted(negatives.items()):
            for tier, text, parsed in rows:
                if tier != "none":
                    info = parsed.get("crisis") or {}
                    print(f"{label}\t{tier}\t{parsed['intent']['name']}\t"
                          f"{info.get('layer')}:{info.get('pattern')}\t{text}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
