"""The between-sessions domain, rules and NLU data are consistent with the rest of the assistant.

These checks keep the forms safe as other files change: every crisis intent, "stop" and every
IPT topic question must interrupt every free-text answer, and every topic question must have
a rule that answers it inside each form and then resumes the form.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import between_sessions as bs

REPO = Path(__file__).resolve().parent.parent
FORMS = {"homework_form": "data/rules/homework.yml", "checkin_form": "data/rules/checkin.yml"}


def _load(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


@pytest.fixture(scope="module")
def domain() -> dict:
    """All domain files merged (intents, slots, responses)."""
    merged: dict = {"intents": [], "slots": {}, "responses": {}, "forms": {}}
    for path in sorted((REPO / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text()) or {}
        merged["intents"] += [i if isinstance(i, str) else next(iter(i))
                              for i in part.get("intents", [])]
        for key in ("slots", "responses", "forms"):
            merged[key].update(part.get(key) or {})
    return merged


def _topics(domain: dict) -> set[str]:
    """IPT topic questions: ask_* intents answered by their own utter_ask_* response."""
    return {i for i in domain["intents"]
            if bs.is_topic_intent(i) and f"utter_{i}" in domain["responses"]}


def _text_mappings(domain: dict):
    """Every from_text mapping of a slot that one of our forms asks for."""
    for form in FORMS:
        for slot in domain["forms"][form]["required_slots"]:
            for mapping in domain["slots"][slot]["mappings"]:
                if mapping["type"] == "from_text":
                    yield form, slot, mapping


def test_free_text_never_takes_a_crisis_a_stop_or_an_ipt_question(domain):
    must_interrupt = set(bs.CRISIS_INTENTS) | {"stop_form", "ask_homework_assigned"}
    must_interrupt |= _topics(domain)
    mappings = list(_text_mappings(domain))
    assert len(mappings) >= 7
    for form, slot, mapping in mappings:
        missing = must_interrupt - set(mapping.get("not_intent", []))
        assert not missing, f"{slot} would swallow {sorted(missing)}"
        assert mapping["conditions"] == [{"active_loop": form, "requested_slot": slot}]


def test_crisis_intents_exist_in_the_domain(domain):
    assert set(bs.CRISIS_INTENTS) <= set(domain["intents"])


@pytest.mark.parametrize("form", sorted(FORMS))
def test_every_ipt_question_is_answered_inside_each_form_and_the_form_resumes(domain, form):
    rules = _load(FORMS[form])["rules"]
    answered = {}
    for rule in rules:
        if rule.get("condition") == [{"active_loop": form}] and len(rule["steps"]) == 4:
            intent, answer, back, loop = rule["steps"]
            if back == {"action": form} and loop == {"active_loop": form}:
                answered[intent["intent"]] = answer["action"]
    for topic in _topics(domain):
        assert answered.get(topic) == f"utter_{topic}", f"{topic} is not answered in {form}"


def test_own_homework_and_ipt_homework_examples_do_not_overlap():
    ours = {}
    for path in ("data/nlu/homework.yml", "data/nlu/checkin.yml"):
        for block in _load(path)["nlu"]:
            ours[block["intent"]] = {e[2:].strip().lower()
                                     for e in block["examples"].splitlines() if e.strip()}
    theirs = set()
    for path in (REPO / "data" / "nlu").glob("*.yml"):
        if path.name in ("homework.yml", "checkin.yml"):
            continue
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            if "examples" in block:
                theirs |= {e[2:].strip().lower()
                           for e in block["examples"].splitlines() if e.strip()}
    for intent, examples in ours.items():
        assert not examples & theirs, f"{intent} repeats {sorted(examples & theirs)}"
    # The client's own homework is always spoken of in the first person ("my", "I", "we").
    first_person = {"my", "i", "me", "we", "i'd"}
    for example in ours["ask_homework_assigned"]:
        assert first_person & set(example.replace("?", " ").split()), example


def test_our_answers_are_short():
    for path in ("domain/homework.yml", "domain/checkin.yml"):
        for name, variants in _load(path)["responses"].items():
            for variant in variants:
                assert len(variant["text"].split()) <= 80, name


def test_the_checkin_reply_does_not_depend_on_the_score():
    responses = _load("domain/checkin.yml")["responses"]
    saved = responses["utter_checkin_saved"]
    assert len(saved) == 1 and "{" not in saved[0]["text"] and "condition" not in saved[0]
