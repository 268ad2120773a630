"""Questions worded anew, never the same text twice in a run (for the honest benchmark).

The wordings come from the blind question sets (tests/data/blind/questions_a.tsv and
questions_b.tsv: first messages written by people who never saw this repository, 3-156
characters, median 49). Each message is one of them with a lead-in, a sign-off and small
variations of case and punctuation, drawn at random; a text whose words (lower case, without
punctuation) were already sent in this run is drawn again, so no message repeats and no
cache (the sentence encoder's keeps messages of up to 8 tokens) can serve it.

These sentences are only ever sent to a running assistant: never put them in training data
(tests/test_blind_sets.py checks data/ and the domain).
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BLIND = REPO / "tests" / "data" / "blind"

# Everyday openings and endings, none of them about harm, medicines or any topic of their
# own (a lead-in must not change what the question is about).
LEAD_INS = [
    "", "", "", "hi,", "hello!", "hey there,", "good morning.", "good evening,",
    "quick question:", "sorry to bother you,", "ok so", "um,", "I was wondering,",
    "can I ask something?", "my friend asked me this:", "one more thing,",
    "before my appointment,", "I'm new here.", "so", "hello again,", "another question:",
    "hi, hope you're well.", "apologies if this is obvious,", "right,", "just checking,",
    "excuse the typing,", "a question from my partner:", "hiya", "hi there :)", "well,",
]
SIGN_OFFS = [
    "", "", "", "thanks", "thank you!", "cheers", "please", "just curious",
    "if you know", "thx", "many thanks.", "thanks in advance", "ty", "no rush",
    "appreciate it", "sorry for all the questions", "in simple words please",
    "(asking for myself)", "thanks a lot", "x",
]


def blind_questions() -> list[str]:
    texts = []
    for name in ("questions_a.tsv", "questions_b.tsv"):
        with (BLIND / name).open(encoding="utf-8", newline="") as f:
            texts += [row["text"].strip() for row in csv.DictReader(f, delimiter="\t")
                      if row.get("text", "").strip()]
    return texts


def words_key(text: str) -> str:
    """What a cache could key on: the words, lower case, punctuation and spacing ignored."""
    return " ".join(re.findall(r"\w+", text.lower()))


class FreshQuestions:
    """An endless supply of distinct questions; ``next()`` never returns the same words twice."""

    def __init__(self, seed: int = 1, questions: list[str] | None = None) -> None:
        self.rng = random.Random(seed)
        self.questions = questions or blind_questions()
        self.seen: set[str] = set()

    def _variant(self, question: str) -> str:
        rng = self.rng
        q = question
        roll = rng.random()
        if roll < 0.25:
            q = q.lower()
        elif roll < 0.35 and q[:1].islower():
            q = q[:1].upper() + q[1:]
        if rng.random() < 0.3:
            q = q.rstrip("?.! ")
        elif rng.random() < 0.1 and q[-1:].isalnum():
            q += "?"
        lead, sign = rng.choice(LEAD_INS), rng.choice(SIGN_OFFS)
        return " ".join(part for part in (lead, q, sign) if part)

    def next(self) -> str:
        for _ in range(1000):
            text = self._variant(self.rng.choice(self.questions))
            key = words_key(text)
            if key not in self.seen:
                self.seen.add(key)
                return text
        raise RuntimeError("no new wording found in 1,000 draws")

    def __len__(self) -> int:
        return len(self.seen)
