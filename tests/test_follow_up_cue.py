"""FollowUpCue: a short message pointing back at the last answer is marked, never a crisis."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_ext.nlu.follow_up_cue import FollowUpCue


def _run(text: str, intent: str = "ask_duration", crisis: str | None = None) -> Message:
    message = Message({TEXT: text})
    message.set(INTENT, {"name": intent, "confidence": 0.6})
    message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 0.6},
                                     {"name": "ask_phases", "confidence": 0.3}])
    if crisis:
        message.set("crisis", {"tier": crisis})
    return FollowUpCue({}).process([message])[0]


def _cue(message: Message) -> str | None:
    return next((e["value"] for e in message.get(ENTITIES) or []
                 if e["entity"] == "context_ref"), None)


def test_how_long_does_that_take_keeps_its_intent_and_gets_the_entity():
    parsed = _run("how long does that take?")
    assert parsed.get(INTENT)["name"] == "ask_duration"
    assert _cue(parsed) == "that"


def test_the_second_one_is_read_as_a_follow_up():
    parsed = _run("and what about the second one?", intent="ask_phases")
    assert parsed.get(INTENT) == {"name": "tell_me_more", "confidence": 1.0}
    assert _cue(parsed) == "ordinal:2"


@pytest.mark.parametrize("text", ["how long does IPT take?", "what is the first session like",
                                  "what are the phases", ""])
def test_a_question_that_stands_on_its_own_is_left_alone(text):
    parsed = _run(text)
    assert parsed.get(INTENT)["name"] == "ask_duration"
    assert _cue(parsed) is None


@pytest.mark.parametrize("intent,crisis", [("crisis_suicide", None), ("ask_duration", "certain"),
                                           ("ask_duration", "uncertain"),
                                           ("ask_medication", None)])
def test_a_crisis_or_a_medicine_question_is_never_touched(intent, crisis):
    parsed = _run("the last one", intent=intent, crisis=crisis)
    assert parsed.get(INTENT)["name"] == intent
    assert _cue(parsed) is None


def test_it_runs_after_the_crisis_and_medication_detectors_and_before_the_fallback():
    import yaml

    from tests.helpers import REPO

    names = [c["name"] for c in yaml.safe_load((REPO / "config.yml").read_text())["pipeline"]]
    cue = names.index("bot.rasa_ext.nlu.follow_up_cue.FollowUpCue")
    assert names.index("bot.rasa_ext.nlu.crisis.CrisisDetector") < cue
    assert names.index("bot.rasa_ext.nlu.medication_detector.MedicationDetector") < cue
    assert cue < names.index("FallbackClassifier")
