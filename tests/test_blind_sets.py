"""The blind evaluation sets are intact and stay out of the training data and the domain."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from tests.helpers import REPO

BLIND = REPO / "tests" / "data" / "blind"
SETS = sorted(BLIND.glob("*.tsv"))


def read_set(path: Path) -> list[tuple[str, str]]:
    """(label, text) rows of a blind set."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))
    assert rows[0][1] == "text", f"{path.name}: header must be '<label>\\ttext'"
    assert all(len(r) == 2 and r[0] and r[1].strip() for r in rows[1:]), path.name
    return [(r[0], r[1]) for r in rows[1:]]


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def _training_lines() -> set[str]:
    """Every line of the training data and the domain, normalised (an example is one line)."""
    files = [*sorted((REPO / "data").rglob("*.yml")), *sorted((REPO / "data").rglob("*.txt")),
             *sorted((REPO / "data").rglob("*.tsv")), REPO / "domain.yml"]
    # a .tsv line is "category<TAB>text": the text is the example
    return {
        _norm(line.strip().removeprefix("- ").split("\t")[-1])
        for p in files if p.exists() for line in p.read_text(encoding="utf-8").splitlines()
    }


def test_the_safety_set_has_the_size_and_categories_it_was_written_with():
    crisis = Counter(label for label, _ in read_set(BLIND / "safety_a_crisis.tsv"))
    negatives = Counter(label for label, _ in read_set(BLIND / "safety_a_negatives.tsv"))
    assert sum(crisis.values()) >= 500 and len(crisis) == 12 and min(crisis.values()) >= 30
    assert sum(negatives.values()) >= 500 and min(negatives.values()) >= 40


@pytest.mark.parametrize("path", SETS, ids=[p.name for p in SETS])
def test_no_sentence_of_a_blind_set_is_in_the_training_data_or_the_domain(path):
    trained = _training_lines()
    leaked = [text for _, text in read_set(path) if _norm(text) in trained]
    assert not leaked, f"{len(leaked)} sentences of {path.name} are in data/ or the domain: {leaked[:5]}"
