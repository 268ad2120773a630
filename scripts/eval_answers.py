"""Score the blind question set: does each first message get the right kind of answer?

usage: PYTHONPATH=. python scripts/eval_answers.py [--model models/ipt.tar.gz]
       [--set tests/data/blind/questions_a.tsv] [--markdown] [--misses]

No server: the trained model's NLU parses each message (the whole pipeline, crisis detector
and fallback included). A message counts as

- **right**: the predicted intent is one of those that answer its blind topic (ANSWERS below);
- **suggested**: below the confidence threshold, and the "Did you mean ...?" buttons
  (bot.clinic.topics.suggest_topics, the same function the fallback action uses) include a right one;
- **wrong**: another topic's answer (or a refusal where an answer was due);
- **fallback**: the bare "I didn't understand" with no useful suggestion.

The mapping from blind topic labels to the intents that answer them is written down here and
in docs/nlu-eval.md. A crisis intent is never "right" for these labels; it is reported apart.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import os
import sys
from collections import Counter, defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Blind topic label -> the intents whose reply is a right answer for it. Where a label spans
# several of our topics (e.g. "techniques" covers communication analysis, role play...), every
# topic of that family counts. "feelings_share" is answered by share_update (the reply that
# acknowledges the person); "assistant_features" by the features, linking and bot answers.
ANSWERS: dict[str, set[str]] = {
    "what_is_ipt": {"ask_what_is_ipt", "ask_present_focus", "ask_collaboration",
                    "ask_characteristics"},
    "origins": {"ask_origins"},
    "evidence": {"ask_evidence"},
    "who_for": {"ask_who_for", "ask_formats", "ask_diagnosis"},
    # "IPT or antidepressants?" is a medicine question first: the medication reply is right.
    "compare_therapies": {"ask_compare_therapies", "ask_present_focus", "ask_medication"},
    "duration_sessions": {"ask_duration", "ask_max_sessions", "ask_time_limit",
                          "ask_missed_sessions"},
    "time_limited": {"ask_time_limit", "ask_duration", "ask_max_sessions",
                     "ask_characteristics", "ask_relapse_prevention", "ask_ending_phase"},
    "phases": {"ask_phases", "ask_initial_phase", "ask_middle_phase", "ask_ending_phase"},
    "initial_phase": {"ask_initial_phase", "ask_inventory", "ask_choosing_area",
                      "ask_first_session", "ask_sick_role"},
    "middle_phase": {"ask_middle_phase"},
    "ending_phase": {"ask_ending_phase", "ask_relapse_prevention"},
    # "Which area is my situation?" is answered by that area's own explanation too.
    "problem_areas": {"ask_problem_areas", "ask_choosing_area", "ask_grief", "ask_role_disputes",
                      "ask_role_transitions", "ask_interpersonal_deficits"},
    "grief": {"ask_grief"},
    "role_disputes": {"ask_role_disputes"},
    "role_transitions": {"ask_role_transitions"},
    "interpersonal_deficits": {"ask_interpersonal_deficits"},
    "techniques": {"ask_techniques", "ask_communication_analysis", "ask_role_play",
                   "ask_problem_solving", "ask_sick_role", "ask_encouragement_of_affect",
                   "ask_clarification", "ask_collaboration"},
    "homework_in_ipt": {"ask_homework"},
    # utter_ask_who_for names the versions for teenagers and older adults.
    "formats": {"ask_formats", "ask_who_for"},
    "medication": {"ask_medication", "ask_medication_and_therapy"},
    "diagnosis": {"ask_diagnosis"},
    "assistant_features": {"ask_capabilities", "ask_features", "bot_challenge", "link_account",
                           "ask_privacy"},
    # Booking, costs, referrals and the like: ask_clinic_admin points to the clinic's team.
    "sessions_admin": {"query_next_session", "cannot_attend", "stop_reminders",
                       "resume_reminders", "reminders_day_before_only", "ask_missed_sessions",
                       "ask_clinic_contact", "ask_clinic_admin"},
    "feelings_share": {"share_update"},
    "privacy": {"ask_privacy", "request_data_deletion"},
    "out_of_scope": {"out_of_scope"},
}
CRISIS = {"crisis_suicide", "crisis_self_harm", "crisis_harm_others", "crisis_abuse",
          "crisis_medical"}
FALLBACK = "nlu_fallback"


def load_set(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="") as fh:
        rows = list(csv.reader(fh, delimiter="\t"))
    return [(r[0], r[1]) for r in rows[1:] if len(r) >= 2]


async def parse_all(model: Path, texts: list[str]) -> list[dict]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    return [await agent.parse_message(t) for t in texts]


def score(rows: list[tuple[str, str]], parsed: list[dict], suggest: bool = True) -> dict:
    from bot.clinic.topics import suggest_topics

    table: dict[str, Counter] = defaultdict(Counter)
    misses = []
    for (label, text), p in zip(rows, parsed):
        intent = p["intent"]["name"]
        right = ANSWERS[label]
        if intent in right:
            kind = "right"
        elif intent in CRISIS:
            kind = "crisis"
        elif intent == FALLBACK:
            ranking = [r["name"] for r in p.get("intent_ranking", [])
                       if r.get("name") != FALLBACK]
            confs = {r["name"]: r.get("confidence", 0.0) for r in p.get("intent_ranking", [])}
            offered = suggest_topics(ranking, confs) if suggest else []
            kind = "suggested" if right & set(offered) else "fallback"
        else:
            kind = "wrong"
        table[label][kind] += 1
        table[label]["n"] += 1
        if kind != "right":
            misses.append((label, kind, intent, text))
    return {"table": table, "misses": misses}


KINDS = ("right", "suggested", "wrong", "fallback", "crisis")


def render(table: dict[str, Counter], markdown: bool) -> str:
    total = Counter()
    for c in table.values():
        total.update(c)
    lines = []
    if markdown:
        lines += ["| topic | n | right | suggested | wrong topic | bare fallback | crisis |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
    else:
        lines.append(f"{'topic':24} {'n':>4} " + " ".join(f"{k:>9}" for k in KINDS))
    for label in sorted(table, key=lambda k: table[k]["right"] / table[k]["n"]):
        c = table[label]
        if markdown:
            lines.append(f"| {label} | {c['n']} | " + " | ".join(str(c[k]) for k in KINDS) + " |")
        else:
            lines.append(f"{label:24} {c['n']:>4} " + " ".join(f"{c[k]:>9}" for k in KINDS))
    pct = total["right"] / max(total["n"], 1)
    if markdown:
        lines.append(f"| **all** | {total['n']} | " + " | ".join(
            f"**{total[k]}**" for k in KINDS) + " |")
    else:
        lines.append(f"{'ALL':24} {total['n']:>4} " + " ".join(f"{total[k]:>9}" for k in KINDS))
    lines.append(f"\nright: {total['right']}/{total['n']} = {pct:.3f}; no dead end (right or "
                 f"suggested): {(total['right'] + total['suggested']) / max(total['n'], 1):.3f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default=str(REPO / "models" / "ipt.tar.gz"))
    ap.add_argument("--set", default=str(REPO / "tests" / "data" / "blind" / "questions_a.tsv"))
    ap.add_argument("--markdown", action="store_true")
    ap.add_argument("--misses", action="store_true")
    ap.add_argument("--no-suggest", action="store_true",
                    help="score every fallback as bare (the assistant before suggestions)")
    args = ap.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.disable(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    rows = load_set(Path(args.set))
    unknown = {label for label, _ in rows} - set(ANSWERS)
    if unknown:
        raise SystemExit(f"labels without a mapping: {sorted(unknown)}")
    parsed = asyncio.run(parse_all(Path(args.model), [t for _, t in rows]))
    result = score(rows, parsed, suggest=not args.no_suggest)
    if args.misses:
        for label, kind, intent, text in sorted(result["misses"]):
            print(f"{label:22} {kind:9} {intent:28} {text}")
        print()
    print(render(result["table"], args.markdown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
