"""Try changes to the crisis detector's learned layer without a full ``rasa train``.

usage: python scripts/tune_crisis.py [--model models/ipt.tar.gz] [--sets a,b] [--misses]
           [--C 16] [--certain 0.5] [--uncertain 0.1] [--confirm 0.4] [--floor 0.02]

Loads the trained model once, runs each blind message of the sets through the NLU pipeline
once (the detector's inputs: features, tokens, spaCy doc), then retrains only the detector's
logistic regression from the current data/nlu/*.yml and data/safety/crisis_negatives.txt
(sentence embeddings of the normalised texts, cached in var/tune_crisis_cache.npz) and scores
the sets with it, per category. A tuning tool: the figures to report come from
scripts/eval_safety.py on a model trained by ``rasa train`` (embeddings there come from the
featurizer and differ a little).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import os
import re
import sys
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["RASA_TELEMETRY_ENABLED"] = "false"
CACHE = REPO / "var" / "tune_crisis_cache.npz"
SPLIT = True


def read_set(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(r[0], r[1]) for r in rows[1:]]


def training_rows() -> list[tuple[str, str]]:
    """(text, label) of every intent example and every negative, as the detector trains."""
    from rasa.shared.nlu.training_data.loading import load_data

    from bot.clinic import crisis_categories as cc
    from bot.rasa_ext.nlu.crisis import NONE_CLASS, read_negatives

    rows = []
    for path in sorted((REPO / "data" / "nlu").glob("*.yml")):
        for example in load_data(str(path)).intent_examples:
            intent, text = example.get("intent"), example.get("text")
            if intent and text:
                rows.append((text, cc.category_of_intent(intent) or NONE_CLASS))
    for text in read_negatives(REPO / "data" / "safety" / "crisis_negatives.txt"):
        rows.append((text, NONE_CLASS))
    if SPLIT:
        from bot.rasa_ext.nlu.crisis import sentence_units

        rows += [(unit, NONE_CLASS) for text, label in list(rows) if label == NONE_CLASS
                 for unit in sentence_units(text)]
    return rows


def embed(texts: list[str]):
    import numpy as np

    from bot.rasa_ext.nlu import minilm

    cache: dict[str, np.ndarray] = {}
    if CACHE.exists():
        with np.load(CACHE) as stored:
            cache = dict(zip(stored["keys"].tolist(), stored["vectors"]))
    key = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    todo = sorted({(k, t) for k, t in zip(key, texts) if k not in cache})
    if todo:
        vectors = minilm.shared().encode([t for _, t in todo])
        cache.update({k: v for (k, _), v in zip(todo, vectors)})
        CACHE.parent.mkdir(exist_ok=True)
        np.savez(CACHE, keys=np.array(list(cache)), vectors=np.vstack(list(cache.values())))
    return np.vstack([cache[k] for k in key]).astype(np.float32)


def arrays_of(model: str, wait: str | None):
    """The crisis detector's arrays stored in a trained model (``*.tar.gz``); with ``wait``,
    first wait until that file (e.g. a training log) contains "done"."""
    import tarfile
    import time

    import numpy as np

    while wait and "done" not in Path(wait).read_text(errors="replace"):
        time.sleep(10)
    with tarfile.open(model) as tar:
        member = next(m for m in tar.getmembers() if m.name.endswith("crisis_detector.npz"))
        with np.load(tar.extractfile(member)) as stored:
            return {name: stored[name] for name in stored.files}


def train_arrays(C: float):
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from bot.rasa_ext.nlu.crisis import crisis_features
    from bot.rasa_ext.nlu.crisis_text import normalise

    rows = training_rows()
    normal = [normalise(t) for t, _ in rows]
    x = crisis_features(normal, embed(normal))
    model = LogisticRegression(C=C, max_iter=5000, random_state=1).fit(x, [lab for _, lab in rows])
    return {"coef": model.coef_.astype(np.float32),
            "intercept": model.intercept_.astype(np.float32),
            "classes": np.array(model.classes_, dtype=str)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(REPO / "models" / "ipt.tar.gz"))
    parser.add_argument("--sets", default="a,b")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--runs", default="split",
                        help="';'-separated: keep (the model's own detector), split, nosplit")
    parser.add_argument("--C", type=float, default=None)
    parser.add_argument("--certain", type=float, default=None)
    parser.add_argument("--uncertain", type=float, default=None)
    parser.add_argument("--confirm", type=float, default=None)
    parser.add_argument("--floor", type=float, default=None)
    parser.add_argument("--wait", default=None, help="for model: runs, a log to wait for")
    parser.add_argument("--markdown", action="store_true", help="tables as eval_safety.py")
    parser.add_argument("--scan", action="store_true", help="a grid of thresholds, totals only")
    args = parser.parse_args(argv)

    import logging

    logging.disable(logging.WARNING)
    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    from rasa.core.agent import Agent

    from bot.rasa_ext.nlu import crisis as crisis_module
    from bot.rasa_ext.patches.graph_runner import sequential_runner

    with sequential_runner():
        agent = Agent.load(args.model)
    # The prediction graph's NLU components, in pipeline order, up to the crisis detector:
    # run them on all messages in batches (much cheaper than one parse per message).
    nodes = agent.processor.graph_runner._instantiated_nodes
    names = [n for n in agent.processor.graph_runner._graph_schema.nodes
             if re.fullmatch(r"run_.*\D\d+", n) and "polic" not in n.lower()]
    names.sort(key=lambda n: int(re.search(r"(\d+)$", n).group(1)))
    pipeline, provided = [], {}
    detector = None
    for name in names:
        node = nodes[name]
        if node._component is None:
            node._load_component()
        if isinstance(node._component, crisis_module.CrisisDetector):
            detector = node._component
            break
        pipeline.append(node)
        for kw, source in node._inputs.items():
            if kw != "messages" and source not in provided:
                provided[source] = nodes[source]()[1]  # a provider node (e.g. the spaCy model)
    from rasa.shared.nlu.training_data.message import Message

    blind = REPO / "tests" / "data" / "blind"
    items = []  # (set, kind, label, text, message)
    for name in args.sets.split(","):
        for kind in ("crisis", "negatives"):
            for label, text in read_set(blind / f"safety_{name}_{kind}.tsv"):
                items.append((name, kind, label, text, Message(data={"text": text})))
    for start in range(0, len(items), 128):
        batch = [item[4] for item in items[start:start + 128]]
        for node in pipeline:
            inputs = [(source, batch if kw == "messages" else provided[source])
                      for kw, source in node._inputs.items()]
            batch = node(*inputs)[1]
        print(f"featurized {start + len(batch)}", file=sys.stderr, flush=True)
    captured = {"detector": detector}
    detector = captured["detector"]
    kept = detector.arrays
    for run in args.runs.split(";"):
        print(f"\n# run: {run}", flush=True)
        global SPLIT
        SPLIT = "nosplit" not in run
        if run == "keep":
            detector.arrays = kept
        elif run.startswith("model:"):  # the detector of another trained model (same pipeline)
            detector.arrays = arrays_of(run.removeprefix("model:"), args.wait)
        else:
            detector.arrays = train_arrays(args.C or float(detector.component_config["C"]))
        experiment(args, detector, items)
    return 0


def experiment(args, detector, items) -> None:
    config = detector.component_config
    detector.certain_threshold = float(config["certain_threshold"])
    detector.uncertain_threshold = float(config["uncertain_threshold"])
    detector.confirm_threshold = float(config["confirm_threshold"])
    detector.pattern_floor = float(config["pattern_floor"])
    for attr, value in (("certain_threshold", args.certain), ("uncertain_threshold", args.uncertain),
                        ("confirm_threshold", args.confirm), ("pattern_floor", args.floor)):
        if value is not None:
            setattr(detector, attr, value)

    memo: dict[tuple[str, int], object] = {}

    for name in ("_doc", "match", "probabilities"):  # fresh caches for this run's arrays
        vars(detector).pop(name, None)

    def cached(name, fn):
        def wrapper(first, *rest):
            key = (name, id(first))
            if key not in memo:
                memo[key] = fn(first, *rest)
            return memo[key]
        return wrapper

    detector._doc = cached("doc", detector._doc)
    detector.match = cached("match", detector.match)
    detector.probabilities = cached("p", detector.probabilities)
    results: dict[tuple[str, str], dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for name, kind, label, text, message in items:
        verdict = detector.assess(message)
        results[(name, kind)][label].append((verdict["tier"], text, verdict))
    if args.markdown:
        sys.path.insert(0, str(REPO / "scripts"))
        from eval_safety import crisis_table, negatives_table

        for (name, kind), by_label in sorted(results.items()):
            table = crisis_table if kind == "crisis" else negatives_table
            print(f"\n### set {name.upper()} {kind}\n")
            print("\n".join(table(by_label)[0]))
    for (name, kind), by_label in sorted(results.items()):
        print(f"\n## set {name} {kind}")
        tot = [0, 0, 0]
        for label in sorted(by_label):
            rows = by_label[label]
            c = sum(t == "certain" for t, _, _ in rows)
            u = sum(t == "uncertain" for t, _, _ in rows)
            tot = [tot[0] + len(rows), tot[1] + c, tot[2] + u]
            if kind == "crisis":
                print(f"{label:28s} {len(rows):4d} recall {100 * (c + u) / len(rows):5.1f}  "
                      f"certain {100 * c / len(rows):5.1f}")
            else:
                print(f"{label:28s} {len(rows):4d} alarms {100 * c / len(rows):5.1f}  "
                      f"checks {100 * u / len(rows):5.1f}")
        n, c, u = tot
        if kind == "crisis":
            print(f"{'ALL':28s} {n:4d} recall {100 * (c + u) / n:5.1f}  certain {100 * c / n:5.1f}")
        else:
            print(f"{'ALL':28s} {n:4d} alarms {100 * c / n:5.1f}  checks {100 * u / n:5.1f}")
        if args.misses:
            for label in sorted(by_label):
                for tier, text, verdict in by_label[label]:
                    bad = tier == "none" if kind == "crisis" else tier != "none"
                    weak = kind == "crisis" and tier == "uncertain"
                    if bad or weak:
                        print(f"  {'MISS' if bad else 'unc '} {label} {tier} p={verdict['p']} "
                              f"{verdict['layer']}:{verdict['pattern']} | {text}")
    if args.scan:
        print("certain uncertain confirm | recall certain | alarms checks   (all sets together)")
        for certain in (0.4, 0.5, 0.6):
            for uncertain in (0.06, 0.08, 0.1, 0.12, 0.15, 0.2):
                for confirm in (0.3, 0.4):
                    detector.certain_threshold, detector.uncertain_threshold = certain, uncertain
                    detector.confirm_threshold = confirm
                    n = [0, 0, 0, 0, 0, 0]
                    for name, kind, label, text, message in items:
                        tier = detector.assess(message)["tier"]
                        if kind == "crisis":
                            n[0] += 1
                            n[1] += tier != "none"
                            n[2] += tier == "certain"
                        else:
                            n[3] += 1
                            n[4] += tier == "certain"
                            n[5] += tier == "uncertain"
                    print(f"{certain:.2f} {uncertain:.2f} {confirm:.2f} | {100 * n[1] / n[0]:5.1f} "
                          f"{100 * n[2] / n[0]:5.1f} | {100 * n[4] / n[3]:5.1f} {100 * n[5] / n[3]:5.1f}")


if __name__ == "__main__":
    sys.exit(main())
