"""The between-sessions domain, rules and NLU data are consistent with the rest of the assistant.

These checks keep the forms safe as other files change: every crisis intent, "stop" and every
IPT topic question must interrupt every free-text answer, and every topic question must have
the ``utter_<intent>`` response the forms' validation action answers it with (the action
itself is tested in tests/test_between_sessions_actions.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import yaml

from actions.form_common import TOPIC_ANSWERED
from bot import domain_files
from bot.clinic import between_sessions as bs

REPO = Path(__file__).resolve().parent.parent
FORMS = {"homework_form": "data/rules/homework.yml", "checkin_form": "data/rules/checkin.yml"}


def _load(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


@pytest.fixture(scope="module")
def domain() -> dict:
    """The whole domain, merged as Rasa merges it (intents, slots, responses)."""
    return domain_files.merged()


def _topics(domain: dict) -> set[str]:
    """IPT topic questions: the ask_* intents a form answers itself, by utter_<intent>."""
    return {i for i in domain["intents"]
            if bs.is_topic_intent(i) and i not in bs.REQUESTS_IN_FORMS}


def _form_slots(domain: dict):
    """(form, slot, mapping types) for every slot one of our forms asks for."""
    for form in FORMS:
        for slot in domain["forms"][form]["required_slots"]:
            yield form, slot, {m["type"] for m in domain["slots"][slot]["mappings"]}


def _extract(form: str, slot: str, intent: str, text: str) -> dict:
    from rasa_sdk import Tracker

    from actions.checkin import ValidateCheckinForm
    from actions.homework import ValidateHomeworkForm

    validator = {"homework_form": ValidateHomeworkForm, "checkin_form": ValidateCheckinForm}[form]()
    tracker = Tracker("tg-1", {"requested_slot": slot}, {"intent": {"name": intent}, "text": text},
                      [], False, None, {"name": form}, "action_listen")
    return asyncio.run(getattr(validator, f"extract_{slot}")(None, tracker, {}))


def test_free_text_never_takes_a_crisis_a_stop_or_an_ipt_question(domain):
    # No from_text mapping: Rasa would take the text before our action could look at it. The
    # form's validation action fills free text itself (bot.clinic.between_sessions.classify_answer),
    # so no list of intents to leave out has to be kept in step with the domain.
    interrupting = [(intent, "i want to end it all") for intent in bs.CRISIS_INTENTS]
    interrupting += [("stop_form", "stop"), ("ask_homework_assigned", "what homework do I have?")]
    interrupting += [(topic, f"can you explain {topic.removeprefix('ask_')}?")
                     for topic in sorted(_topics(domain))]
    slots = list(_form_slots(domain))
    assert len(slots) >= 9
    for form, slot, types in slots:
        assert "from_text" not in types, slot
        for intent, text in interrupting:
            assert _extract(form, slot, intent, text) == {}, (slot, intent)
        answer = ("affirm", "yes") if slot in ("hw_confirmed", "ci_worked_on_homework") \
            else ("nlu_fallback", "I phoned my sister on Sunday")
        assert _extract(form, slot, *answer), (slot, answer)


def test_crisis_intents_exist_in_the_domain(domain):
    assert set(bs.CRISIS_INTENTS) <= set(domain["intents"])


def test_every_ipt_question_has_the_answer_the_forms_give_it(domain):
    topics = _topics(domain)
    assert len(topics) >= 30 and "ask_role_disputes" in topics
    missing = sorted(t for t in topics if f"utter_{t}" not in domain["responses"])
    assert not missing, f"no utter_<intent> response for {missing}"


def test_the_forms_answer_slot_steers_nothing(domain):
    # Set on every topic answered mid-form; it must not change what the policies predict.
    slot = domain["slots"][TOPIC_ANSWERED]
    assert slot["influence_conversation"] is False
    assert slot["mappings"] == [{"type": "custom"}]
    for form in FORMS:
        assert TOPIC_ANSWERED not in domain["forms"][form]["required_slots"]
        assert "validate_" + form in domain["actions"]


@pytest.mark.parametrize("form", sorted(FORMS))
def test_topic_questions_need_no_rule_per_topic_inside_the_forms(domain, form):
    # The validation action answers them; one rule per topic and form made RulePolicy slow.
    topics = _topics(domain)
    for rule in _load(FORMS[form])["rules"]:
        intents = {step.get("intent") for step in rule["steps"]}
        assert not intents & topics, rule["rule"]


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
    for name, variants in _load("domain.yml")["responses"].items():
        for variant in variants:
            assert len(variant["text"].split()) <= 80, name


def test_the_checkin_reply_does_not_depend_on_the_score():
    responses = _load("domain.yml")["responses"]
    saved = responses["utter_checkin_saved"]
    assert len(saved) == 1 and "{" not in saved[0]["text"] and "condition" not in saved[0]
