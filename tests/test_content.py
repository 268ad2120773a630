"""The topic answers: every topic is trained, answered briefly, and leads on by buttons."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.domain_utils import domain, nlu_examples, rules_text
from tests.helpers import REPO

TOPIC_INTENTS = [i for i in domain()["intents"] if i.startswith("ask_")
                 and i not in {"ask_example", "ask_capabilities", "ask_homework_assigned", "ask_privacy"}]
TRAINING = nlu_examples(REPO / "data" / "nlu")
HELD_OUT = nlu_examples(REPO / "tests" / "data")
MAX_WORDS = 80


def test_there_are_at_least_the_issue_topics():
    assert len(TOPIC_INTENTS) >= 29, TOPIC_INTENTS


@pytest.mark.parametrize("intent", TOPIC_INTENTS)
def test_topic_has_enough_varied_training_examples(intent):
    examples = TRAINING.get(intent, [])
    assert len(examples) >= 12, f"{intent}: {len(examples)} examples"
    assert len({e.lower() for e in examples}) == len(examples), f"{intent} repeats an example"


@pytest.mark.parametrize("intent", TOPIC_INTENTS)
def test_topic_answer_is_short_and_leads_on(intent):
    responses = domain()["responses"]
    name = f"utter_{intent}"
    assert name in responses, f"no {name}"
    for variant in responses[name]:
        words = len(re.findall(r"\S+", variant.get("text", "")))
        assert 0 < words <= MAX_WORDS, f"{name} has {words} words"
        if intent not in {"ask_medication", "ask_diagnosis"}:
            assert variant.get("buttons"), f"{name} ends without buttons to the next topics"


def test_every_button_leads_to_an_intent_the_assistant_knows():
    intents = set(domain()["intents"])
    for name, variants in domain()["responses"].items():
        for variant in variants:
            for button in variant.get("buttons", []) or []:
                payload = button["payload"]
                assert payload.startswith("/"), f"{name}: {payload}"
                assert payload[1:].split("{")[0] in intents, f"{name}: unknown {payload}"


@pytest.mark.parametrize("intent", TOPIC_INTENTS)
def test_every_topic_has_a_rule(intent):
    assert re.search(rf"intent:\s*{intent}\s*$", rules_text(), re.MULTILINE), f"no rule for {intent}"


def test_held_out_examples_are_not_training_examples():
    for intent, examples in HELD_OUT.items():
        train = {e.lower() for e in TRAINING.get(intent, [])}
        leaked = [e for e in examples if e.lower() in train]
        assert not leaked, f"{intent}: {leaked}"


@pytest.mark.parametrize("intent", TOPIC_INTENTS)
def test_held_out_set_has_five_phrasings_per_topic(intent):
    assert len(HELD_OUT.get(intent, [])) >= 5, intent


def test_no_passage_repeats_a_seed_document():
    tool = REPO.parent / "shared" / "tools" / "seedcopy.py"
    if not tool.exists():
        pytest.skip("../shared/tools/seedcopy.py is not beside this checkout")
    result = subprocess.run([sys.executable, str(tool), str(REPO)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]


def test_rasa_data_validate_is_clean():
    """No errors, and no warning but "response not used in a story or rule".

    Those warnings are expected: actions send those responses by name (follow-ups,
    form prompts, crisis resources), and form-only intents fill slots through slot
    mappings, which Rasa's validator does not look at. EXTERNAL_ intents are triggered
    from outside (the reminder worker), never typed, so they have no NLU examples; the crisis
    detector sets `safety_check` and `other_language` itself (bot/clinic/crisis_categories.py).
    Every other warning fails.
    """
    result = subprocess.run(
        [str(REPO / ".venv" / "bin" / "rasa"), "data", "validate"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    warnings = [ln for ln in output.splitlines() if "UserWarning" in ln]
    unexpected = [ln for ln in warnings
                  if not re.search(r"The (utterance|intent) '\w+' is not used in any story or rule", ln)
                  # Intents only the reminder worker triggers (trigger_intent) have no examples.
                  and not re.search(r"The intent '(EXTERNAL_\w+|safety_check|other_language)' is "
                                    r"listed in the domain file, but is not found in the NLU "
                                    r"training data", ln)]
    assert not unexpected, "\n".join(unexpected[:20])


def test_the_medication_answer_routes_every_medicine_question_safely():
    """No advice; prescriber or pharmacist before any change; the urgent line first."""
    text = " ".join(domain()["responses"]["utter_ask_medication"][0]["text"].lower().split())
    assert "can't give advice" in text
    assert "prescriber" in text and "pharmacist" in text
    assert "double dose" in text and "very unwell" in text
    assert "urgent care" in text and "emergency number first" in text
    more = domain()["responses"]["utter_more_medication"][0]["text"].lower()
    assert "together" in more and "on its own" in more and "whether medicine" in more


def test_the_diagnosis_answer_is_warm_says_who_assesses_and_what_it_can_do():
    text = " ".join(domain()["responses"]["utter_ask_diagnosis"][0]["text"].lower().split())
    assert text.startswith("it makes sense")
    assert all(who in text for who in ("gp", "psychologist", "psychiatrist"))
    assert "someone you care about" in text and "emergency number" in text
    assert "what i can do" in text


def test_features_are_explained_before_linking_is_asked_for():
    text = " ".join(domain()["responses"]["utter_ask_features"][0]["text"].lower().split())
    assert text.index("homework log") < text.index("check-in") < text.index("code")


def test_feelings_shared_when_not_linked_get_no_enrolled_only_buttons():
    variant = domain()["responses"]["utter_share_update_unlinked"][0]
    payloads = {b["payload"] for b in variant["buttons"]}
    assert not payloads & {"/start_checkin", "/log_homework"}
    assert "checking in" not in variant["text"].lower()
    assert "emergency number" in variant["text"].lower()
