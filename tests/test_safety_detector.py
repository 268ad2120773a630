"""CrisisDetector without the trained model: the patterns alone, and the tiers with a stub model."""

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
        pytest.fail(f"{SPACY_MODEL} is missing: run `make setup` (python -m bot.launch.spacy_model)")
    return spacy.load(SPACY_MODEL)


# The safety set was written when there were five categories: the finer ones now split them.
SAME = {"suicide": {"suicide", "plan"}, "medical": {"medical", "overdose"}}


@lru_cache(maxsize=1)
def detector():
    from bot.rasa_ext.nlu.crisis import CrisisDetector

    return CrisisDetector(CrisisDetector.get_default_config())


def stub(p_crisis: float, category: str = "suicide"):
    """A detector whose learned layer says P(crisis) = ``p_crisis`` for every message."""
    import math

    import numpy as np

    from bot.rasa_ext.nlu.crisis import HASH_FEATURES, CrisisDetector

    width = 384 + 2 * HASH_FEATURES
    arrays = {"coef": np.zeros((2, width), dtype=np.float32),
              "intercept": np.array([0.0, math.log(p_crisis / (1 - p_crisis))], np.float32),
              "classes": np.array(["none", category])}
    return CrisisDetector(CrisisDetector.get_default_config(), arrays=arrays)


def message(text: str, intent: str = "greet", confidence: float = 0.9, ranking=None):
    """A message as the classifier and SpacyNLP leave it (SpacyNLP lower-cases the text it
    parses), with a sentence embedding as the featurizer would add."""
    import numpy as np
    from rasa.shared.nlu.training_data.features import Features
    from rasa.shared.nlu.training_data.message import Message

    ranking = ranking or [{"name": intent, "confidence": confidence}]
    msg = Message(data={"text": text, "text_spacy_doc": nlp()(text.lower()),
                        "intent": {"name": intent, "confidence": confidence},
                        "intent_ranking": ranking})
    msg.add_features(Features(np.full((1, 384), 0.05, np.float32), "sentence", "text", "enc"))
    return msg


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
             if detect(text).get("intent")["name"].removeprefix("crisis_")
             not in SAME.get(cat, {cat})]
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
    assert info["category"] == "suicide" and info["layer"] == "pattern" and info["pattern"]
    assert info["tier"] == "certain"
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


def test_a_pattern_the_model_does_not_rule_out_is_certain():
    out = stub(0.45).process([message("i want to die")])[0]
    assert out.get("intent")["name"] == "crisis_suicide"
    assert out.get("crisis")["tier"] == "certain"


def test_an_unmistakable_pattern_is_certain_whatever_the_model_says():
    text = "quick question about the phases, also i am planning to kill myself this weekend"
    out = stub(0.001).process([message(text, intent="ask_phases")])[0]
    assert out.get("intent")["name"] == "crisis_suicide"
    assert out.get("crisis")["pattern"] == "kill_self"


def test_a_pattern_the_model_all_but_rules_out_is_only_a_check():
    out = stub(0.05).process([message("i want to die")])[0]
    assert out.get("intent") == {"name": "safety_check", "confidence": 1.0}
    assert out.get("crisis")["tier"] == "uncertain" and out.get("crisis")["layer"] == "pattern"


def test_a_pattern_the_model_rules_out_is_nothing():
    out = stub(0.001).process([message("i want to die of boredom", intent="greet")])[0]
    assert out.get("intent") == {"name": "greet", "confidence": 0.9}
    assert out.get("crisis") is None


def test_the_model_alone_when_sure_is_certain_with_its_category():
    out = stub(0.95, "plan").process([message("made my arrangements for the weekend")])[0]
    assert out.get("intent")["name"] == "crisis_plan"
    assert out.get("crisis")["layer"] == "model"


def test_the_model_alone_when_unsure_asks_whether_the_person_is_safe():
    out = stub(0.2).process([message("everything is grey and heavy")])[0]
    assert out.get("intent")["name"] == "safety_check"
    assert out.get("crisis")["category"] == "suicide"


def test_a_top_crisis_intent_the_detector_does_not_confirm_gives_way():
    ranking = [{"name": "crisis_suicide", "confidence": 0.5}, {"name": "greet", "confidence": 0.4}]
    out = stub(0.001).process([message("hello there", intent="crisis_suicide",
                                       confidence=0.5, ranking=ranking)])[0]
    assert out.get("intent") == {"name": "greet", "confidence": 0.4}
    assert out.get("crisis") is None


@pytest.mark.parametrize("text, category", [
    ("i want to k1ll mys3lf", "suicide"), ("su1c1dal again", "suicide"), ("k m s", "suicide"),
    ("thinking about unaliving myself", "suicide"), ("s.u.i.c.i.d.e", "suicide"),
    ("i want to diiiiie", "suicide"), ("i took all my 💊", "overdose"),
])
def test_hidden_and_bent_crisis_words_are_found(text, category):
    out = detector().process([message(text)])[0]
    assert out.get("intent")["name"] == f"crisis_{category}", text


@pytest.mark.parametrize("text, category", [
    ("ya no quiero vivir, tengo todo listo", "suicide"),
    ("je veux mourir ce soir", "suicide"),
    ("mein Mann schlägt mich jeden Tag", "abuse"),
    ("я больше не хочу жить", "suicide"),
    ("我不想活了", "suicide"),
    ("artık yaşamak istemiyorum", "suicide"),
])
def test_a_crisis_in_another_language_is_a_crisis(text, category):
    out = detector().process([message(text)])[0]
    assert out.get("intent")["name"] == f"crisis_{category}", text
    assert out.get("crisis")["language"] != "en"


def test_another_language_without_a_crisis_gets_the_other_language_intent():
    out = detector().process([message("hola, ¿mi cita del jueves es por la mañana o por la tarde?")])[0]
    assert out.get("intent") == {"name": "other_language", "confidence": 1.0}
    assert out.get("crisis")["tier"] == "none" and out.get("crisis")["language"] == "es"


def test_a_leetspeak_crisis_is_never_read_as_an_enrolment_code():
    from bot.rasa_ext.nlu.code_detector import CodeDetector

    # the classifier read this as link_account once: it looks like a code to it
    out = detector().process([message("i want to k1ll mys3lf", intent="link_account")])[0]
    out = CodeDetector(CodeDetector.get_default_config()).process([out])[0]
    assert out.get("intent")["name"] == "crisis_suicide"


def test_without_a_spacy_doc_the_detector_tokenises_itself():
    from rasa.shared.nlu.training_data.message import Message

    msg = Message(data={"text": "I Took All My Pills", "intent": {"name": "greet", "confidence": 1}})
    out = detector().process([msg])[0]
    assert out.get("intent")["name"] == "crisis_overdose"


def test_an_overdose_outranks_the_suicidal_words_that_come_with_it():
    assert detect("i want to die so i took all my pills").get("intent")["name"] == "crisis_overdose"


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
    print(f"crisis detector (patterns): {min(timings):.2f} ms per message (best of 5)")
    assert min(timings) < 3.0


def test_a_message_is_scored_by_sentence_and_by_clause():
    from bot.rasa_ext.nlu.crisis import sentence_spans

    text = "Can we move my session to Thursday? Also I took all my tablets, but whatever"
    assert [text[a:b] for a, b in sentence_spans(text)] == [
        "Can we move my session to Thursday?", "Also I took all my tablets", "but whatever"]
    assert sentence_spans("just one") == [(0, 8)]


@pytest.mark.parametrize("text", ["nothing", "not really", "8", "fine"])
def test_a_short_form_answer_is_not_judged_by_the_learned_layer(text):
    out = stub(0.9).process([message(text, intent="deny")])[0]
    assert out.get("intent") == {"name": "deny", "confidence": 0.9}
    assert out.get("crisis") is None


def test_a_short_message_with_an_unmistakable_word_is_still_a_crisis():
    assert stub(0.001).process([message("kms")])[0].get("intent")["name"] == "crisis_suicide"


@pytest.mark.parametrize("text, category", [
    # "what sort of" once matched "sort ... my? will" and got the crisis reply (session 5)
    ("what sort of things will we do during sessions to make progress", None),
    ("what sort of people will benefit from IPT", None),
    ("I sorted out my will yesterday", "plan"),
    ("sorting out my affairs so nobody has to", "plan"),
    ("I wrote my will and a note", "plan"),
])
def test_sorting_a_will_is_a_plan_but_what_sort_of_is_a_question(text, category):
    from bot.rasa_ext.nlu.crisis_patterns import best_match, build_matcher, match_labels

    found = best_match(match_labels(build_matcher(nlp().vocab), nlp()(text)))
    assert (found[0] if found else None) == category, (text, found)
