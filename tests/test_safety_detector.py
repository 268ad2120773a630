"""The deterministic crisis layer alone: spaCy pipeline + CrisisDetector, no trained model."""

from __future__ import annotations

import time
from functools import lru_cache

import pytest
import yaml

from tests.helpers import REPO

SPACY_MODEL = REPO / "var" / "spacy" / "en_ipt"
SAFETY_SET = yaml.safe_load((REPO / "tests" / "data" / "safety_set.yml").read_text())
CRISIS = [(cat, text) for cat, texts in SAFETY_SET["crisis"].items() for text in texts]
NOT_CRISIS = SAFETY_SET["not_crisis"]
MAX_FALSE_ALARM_RATE = 0.10


@lru_cache(maxsize=1)
def nlp():
    import spacy

    if not SPACY_MODEL.exists():
        pytest.fail(f"{SPACY_MODEL} is missing: run `make setup` (python -m bot.spacy_model)")
    return spacy.load(SPACY_MODEL)


@lru_cache(maxsize=1)
def detector():
    from bot.nlu.crisis import CrisisDetector

    return CrisisDetector(CrisisDetector.get_default_config())


def message(text: str, intent: str = "greet", confidence: float = 0.9, ranking=None):
    """A message as DIET and SpacyNLP leave it (SpacyNLP lower-cases the text it parses)."""
    from rasa.shared.nlu.training_data.message import Message

    ranking = ranking or [{"name": intent, "confidence": confidence}]
    return Message(data={"text": text, "text_spacy_doc": nlp()(text.lower()),
                         "intent": {"name": intent, "confidence": confidence},
                         "intent_ranking": ranking})


def detect(text: str, **kwargs):
    return detector().process([message(text, **kwargs)])[0]


def test_safety_set_is_as_large_as_the_issue_asks():
    assert len(CRISIS) >= 80
    assert len(NOT_CRISIS) >= 80
    assert set(SAFETY_SET["crisis"]) == {"suicide", "self_harm", "harm_others", "abuse", "medical"}
    assert not {t.lower() for _, t in CRISIS} & {t.lower() for t in NOT_CRISIS}


def test_the_matcher_alone_catches_every_crisis_message():
    missed = [(cat, text) for cat, text in CRISIS
              if not detect(text).get("intent")["name"].startswith("crisis_")]
    assert not missed, f"missed {len(missed)} of {len(CRISIS)}: {missed}"


def test_the_matcher_mostly_names_the_right_category():
    wrong = [(cat, text, detect(text).get("intent")["name"]) for cat, text in CRISIS
             if detect(text).get("intent")["name"] != f"crisis_{cat}"]
    assert len(wrong) / len(CRISIS) <= 0.05, wrong


def test_the_matchers_false_alarm_rate_is_under_ten_percent():
    alarms = [t for t in NOT_CRISIS if detect(t).get("intent")["name"].startswith("crisis_")]
    rate = len(alarms) / len(NOT_CRISIS)
    print(f"matcher false alarms: {len(alarms)}/{len(NOT_CRISIS)} = {rate:.1%}: {alarms}")
    assert rate < MAX_FALSE_ALARM_RATE, alarms


def test_a_crisis_gets_confidence_one_and_the_layer_and_category_but_never_the_text():
    text = "honestly i just want to die"
    out = detect(text, intent="ask_phases", confidence=0.97)
    assert out.get("intent") == {"name": "crisis_suicide", "confidence": 1.0}
    info = out.get("crisis")
    assert info["category"] == "suicide" and info["layer"] == "matcher" and info["pattern"]
    assert info["model_intent"] == "ask_phases"
    assert text not in repr(info)
    assert "crisis" in out.as_dict(only_output_properties=True)


def test_the_fallback_classifier_cannot_undo_a_crisis():
    from rasa.nlu.classifiers.fallback_classifier import FallbackClassifier

    ranking = [{"name": "greet", "confidence": 0.97}, {"name": "thank", "confidence": 0.02}]
    out = detect("kms", intent="greet", confidence=0.97, ranking=ranking)
    fallback = FallbackClassifier({"threshold": 0.45, "ambiguity_threshold": 0.05})
    out = fallback.process([out])[0]
    assert out.get("intent")["name"] == "crisis_suicide"
    assert out.get("intent_ranking")[0] == {"name": "crisis_suicide", "confidence": 1.0}


def test_a_crisis_intent_ranked_above_a_configured_ranking_threshold_is_taken():
    from bot.nlu.crisis import CrisisDetector

    ranking = [{"name": "ask_grief", "confidence": 0.80},
               {"name": "crisis_abuse", "confidence": 0.06}]
    wide = CrisisDetector({**CrisisDetector.get_default_config(), "ranking_threshold": 0.05})
    msg = message("things at home are bad lately", intent="ask_grief", confidence=0.8,
                  ranking=ranking)
    out = wide.process([msg])[0]
    assert out.get("intent")["name"] == "crisis_abuse"
    assert out.get("crisis")["layer"] == "model"


def test_by_default_a_crisis_intent_lower_in_the_ranking_is_left_alone():
    ranking = [{"name": "ask_grief", "confidence": 0.80},
               {"name": "crisis_abuse", "confidence": 0.19}]
    out = detect("things at home are bad lately", intent="ask_grief", confidence=0.80,
                 ranking=ranking)
    assert out.get("intent") == {"name": "ask_grief", "confidence": 0.80}
    assert out.get("intent_ranking") == ranking
    assert out.get("crisis") is None


def test_a_top_crisis_intent_is_kept_with_confidence_one():
    out = detect("i feel so empty", intent="crisis_suicide", confidence=0.85)
    assert out.get("intent") == {"name": "crisis_suicide", "confidence": 1.0}
    assert out.get("crisis")["layer"] == "model"


def test_a_weak_top_crisis_intent_alone_is_not_taken():
    out = detect("i feel so empty", intent="crisis_suicide", confidence=0.5)
    assert out.get("intent") == {"name": "crisis_suicide", "confidence": 0.5}
    assert out.get("crisis") is None


def test_without_a_spacy_doc_the_detector_tokenises_itself():
    from rasa.shared.nlu.training_data.message import Message

    msg = Message(data={"text": "I Took All My Pills", "intent": {"name": "greet", "confidence": 1}})
    out = detector().process([msg])[0]
    assert out.get("intent")["name"] == "crisis_medical"


def test_an_overdose_outranks_the_suicidal_words_that_come_with_it():
    assert detect("i want to die so i took all my pills").get("intent")["name"] == "crisis_medical"


def test_someone_under_18_is_noticed_for_the_young_peoples_lines():
    assert detect("im 14 and my dad hits me").get("crisis")["minor"] is True
    assert detect("my dad hits me").get("crisis")["minor"] is False


@pytest.mark.parametrize("text", ["hello", "what are the phases of ipt", ""])
def test_other_messages_pass_through_unchanged(text):
    out = detect(text, intent="greet", confidence=0.9) if text else detector().process(
        [message(text)])[0]
    assert out.get("intent") == {"name": "greet", "confidence": 0.9}
    assert out.get("crisis") is None


def test_the_detector_is_fast():
    msgs = [message(t) for _, t in CRISIS] + [message(t) for t in NOT_CRISIS]
    detector().process(msgs[:5])  # build the matcher first
    timings = []
    for _ in range(5):  # best of five: the machine is shared, we want the detector's own cost
        start = time.perf_counter()
        for m in msgs:
            detector().process([m])
        timings.append((time.perf_counter() - start) * 1000 / len(msgs))
    print(f"crisis detector: {min(timings):.2f} ms per message (best of 5)")
    assert min(timings) < 2.0
