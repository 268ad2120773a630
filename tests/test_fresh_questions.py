"""The honest benchmark's questions (scripts/fresh_questions.py): never the same text twice."""

from __future__ import annotations

import random
import statistics

from scripts import load
from scripts.fresh_questions import FreshQuestions, blind_questions, words_key


def test_no_text_repeats_in_ten_thousand_draws():
    supply = FreshQuestions(seed=7)
    texts = [supply.next() for _ in range(10_000)]
    assert len({words_key(t) for t in texts}) == 10_000
    assert len(supply) == 10_000


def test_messages_are_of_realistic_length_and_come_from_the_blind_sets():
    questions = blind_questions()
    assert len(questions) > 900
    supply = FreshQuestions(seed=3)
    texts = [supply.next() for _ in range(2_000)]
    # the blind first messages have a median of about 50 characters; lead-ins add some
    assert 45 <= statistics.median(len(t) for t in texts) <= 120
    lowered = {q.lower().rstrip("?.! ") for q in questions}
    assert all(any(q in t.lower() for q in lowered) for t in texts[:200])


def test_words_key_ignores_case_punctuation_and_spacing():
    assert words_key("Hi,  what IS ipt?") == words_key("hi what is ipt")


def test_load_fresh_mix_shares_one_supply_across_levels():
    rng = random.Random(1)
    first = load.scenario("fresh", False, rng)
    second = load.scenario("fresh", False, rng)
    assert first[0] == second[0] == "fresh"
    assert 3 <= len(first[1]) <= 5
    keys = [words_key(t) for t in first[1] + second[1]]
    assert len(set(keys)) == len(keys)
    assert load.fresh_questions() is load.fresh_questions()
