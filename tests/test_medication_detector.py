"""MedicationDetector: a drug name makes a message a medication question, never over a crisis."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_ext.nlu.medication_detector import MedicationDetector, names_a_medicine


def _run(text: str, intent: str = "ask_grief", confidence: float = 0.6) -> Message:
    message = Message({TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": confidence})
    message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": confidence},
                                     {"name": "ask_phases", "confidence": 0.3}])
    return MedicationDetector({}).process([message])[0]


@pytest.mark.parametrize("text", [
    "can i drink on mirtazapine",
    "Is SERTRALINE ok with ipt?",
    "switching from citalopram to escitalopram",
    "my setraline makes me sleepy",          # misspelt
    "venlafaxine withdrawal",
    "bupropion vs fluoxetine",
    "are antidepressants addictive",
    "can i take st john's wort",
    "ssris and therapy",
    "is prozac stronger than zoloft",
])
def test_a_named_medicine_is_a_medication_question(text):
    assert names_a_medicine(text)
    parsed = _run(text)
    assert parsed.get(INTENT) == {"name": "ask_medication", "confidence": 1.0}
    assert all(r["confidence"] == 0.0 for r in parsed.get(INTENT_RANKING_KEY)[1:])


@pytest.mark.parametrize("text", [
    "what is interpersonal psychotherapy",
    "my relationship with my sister",
    "the committee meeting went badly",
    "i feel depressed and lonely",
    "what are the phases",
    "I'm sensitive to criticism",
    "",
])
def test_everyday_ipt_talk_is_left_alone(text):
    assert not names_a_medicine(text)
    assert _run(text).get(INTENT)["name"] == "ask_grief"


@pytest.mark.parametrize("intent", ["crisis_medical", "crisis_suicide"])
def test_a_crisis_is_never_replaced(intent):
    parsed = _run("i took all my sertraline at once", intent=intent, confidence=1.0)
    assert parsed.get(INTENT)["name"] == intent


def test_it_runs_after_the_crisis_detector_and_before_the_fallback():
    import yaml

    from tests.helpers import REPO

    names = [c["name"] for c in yaml.safe_load((REPO / "config.yml").read_text())["pipeline"]]
    med = names.index("bot.rasa_ext.nlu.medication_detector.MedicationDetector")
    assert names.index("bot.rasa_ext.nlu.crisis.CrisisDetector") < med < names.index("FallbackClassifier")
