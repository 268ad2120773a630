"""CrisisPolicy on hand-built trackers: the crisis sequence wins over forms, rules, fallbacks."""

from __future__ import annotations

import pytest
from rasa.core.constants import RULE_POLICY_PRIORITY
from rasa.core.policies.ensemble import DefaultPolicyPredictionEnsemble
from rasa.core.policies.policy import PolicyPrediction
from rasa.engine.graph import ExecutionContext, GraphSchema
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, ActiveLoop, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.policies.crisis import CrisisPolicy

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [greet, affirm, deny, nlu_fallback, crisis_suicide, crisis_self_harm,
          crisis_harm_others, crisis_abuse, crisis_medical]
slots:
  hw_note:
    type: text
    mappings: [{type: from_text}]
forms:
  homework_form:
    required_slots: [hw_note]
actions: [action_crisis_resources]
responses:
  utter_greet: [{text: hi}]
  utter_ask_hw_note: [{text: "what did you do"}]
  utter_crisis_suicide: [{text: s}]
  utter_crisis_self_harm: [{text: s}]
  utter_crisis_harm_others: [{text: s}]
  utter_crisis_abuse: [{text: s}]
  utter_crisis_medical: [{text: s}]
  utter_ask_safe: [{text: "safe"}]
  utter_crisis_safe_now: [{text: good}]
  utter_crisis_not_safe: [{text: call}]
""")
CRISIS_SEQUENCE = ["action_deactivate_loop", "action_crisis_resources", "utter_ask_safe",
                   "action_listen"]


@pytest.fixture
def policy(tmp_path) -> CrisisPolicy:
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    resource = Resource("crisis_policy")
    trained = CrisisPolicy.create(CrisisPolicy.get_default_config(), storage, resource, context)
    trained.train([], DOMAIN)
    return CrisisPolicy.load(CrisisPolicy.get_default_config(), storage, resource, context)


def user(intent: str, text: str = "...", **parse) -> UserUttered:
    return UserUttered(text, {"name": intent, "confidence": 1.0},
                       parse_data={"intent": {"name": intent, "confidence": 1.0}, **parse})


def tracker(*events) -> DialogueStateTracker:
    return DialogueStateTracker.from_events("s1", [ActionExecuted("action_listen"), *events],
                                            slots=DOMAIN.slots)


def predicted(policy: CrisisPolicy, t: DialogueStateTracker) -> str | None:
    prediction = policy.predict_action_probabilities(t, DOMAIN)
    if max(prediction.probabilities) == 0:
        return None
    assert prediction.max_confidence == 1.0
    return DOMAIN.action_names_or_texts[prediction.max_confidence_index]


def run_turn(policy: CrisisPolicy, t: DialogueStateTracker) -> list[str]:
    """Predict and 'run' actions until the policy has nothing more to add."""
    actions = []
    for _ in range(10):
        action = predicted(policy, t)
        if action is None:
            break
        actions.append(action)
        t.update(ActionExecuted(action))
        if action == "action_listen":
            break
    return actions


@pytest.mark.parametrize("category", ["suicide", "self_harm", "harm_others", "abuse", "medical"])
def test_a_crisis_intent_gets_the_whole_crisis_sequence(policy, category):
    t = tracker(user(f"crisis_{category}"))
    assert run_turn(policy, t) == [f"utter_crisis_{category}", *CRISIS_SEQUENCE]


def test_the_crisis_wins_inside_an_active_form(policy):
    t = tracker(ActionExecuted("homework_form"), ActiveLoop("homework_form"),
                SlotSet("requested_slot", "hw_note"), ActionExecuted("action_listen"),
                user("crisis_suicide"))
    prediction = policy.predict_action_probabilities(t, DOMAIN)
    assert prediction.is_no_user_prediction  # or RulePolicy's loop prediction would outrank it
    assert run_turn(policy, t) == ["utter_crisis_suicide", *CRISIS_SEQUENCE]
    assert t.active_loop_name is None or t.active_loop_name == "homework_form"


def test_the_ensemble_picks_the_crisis_over_rule_policys_form_prediction(policy):
    t = tracker(ActionExecuted("homework_form"), ActiveLoop("homework_form"),
                ActionExecuted("action_listen"), user("crisis_abuse"))
    ours = policy.predict_action_probabilities(t, DOMAIN)
    form = [0.0] * DOMAIN.num_actions
    form[DOMAIN.index_for_action("homework_form")] = 1.0
    rule = PolicyPrediction(form, "RulePolicy", policy_priority=RULE_POLICY_PRIORITY,
                            is_no_user_prediction=True)
    best = DefaultPolicyPredictionEnsemble._pick_best_policy([rule, ours])
    assert DOMAIN.action_names_or_texts[best.max_confidence_index] == "utter_crisis_abuse"


def test_a_fallback_cannot_hide_a_crisis_the_detector_saw(policy):
    t = tracker(user("nlu_fallback", crisis={"category": "medical", "layer": "matcher"}))
    assert run_turn(policy, t)[0] == "utter_crisis_medical"


def test_slots_a_form_filled_from_the_crisis_message_are_emptied(policy):
    t = tracker(ActiveLoop("homework_form"), SlotSet("requested_slot", "hw_note"),
                ActionExecuted("action_listen"), user("crisis_suicide", "i want to die"),
                SlotSet("hw_note", "i want to die"))
    prediction = policy.predict_action_probabilities(t, DOMAIN)
    assert SlotSet("hw_note", None) in prediction.optional_events
    assert not prediction.events  # applied only if the crisis wins


def test_a_failed_resources_action_does_not_stop_the_sequence(policy):
    # Rasa logs ActionExecuted even when the action server is down, with no other events.
    t = tracker(user("crisis_self_harm"), ActionExecuted("utter_crisis_self_harm"),
                ActionExecuted("action_deactivate_loop"), ActionExecuted("action_crisis_resources"))
    assert predicted(policy, t) == "utter_ask_safe"


@pytest.mark.parametrize("intent", ["greet", "affirm", "deny", "nlu_fallback"])
def test_other_messages_get_no_prediction(policy, intent):
    assert predicted(policy, tracker(user(intent))) is None


def test_not_safe_after_the_question_gets_the_resources_again(policy):
    t = tracker(user("crisis_suicide"), *[ActionExecuted(a) for a in
                ["utter_crisis_suicide", *CRISIS_SEQUENCE]], user("deny"))
    assert run_turn(policy, t) == ["utter_crisis_not_safe", "action_crisis_resources",
                                   "action_listen"]


def test_safe_after_the_question_gets_a_calm_reply(policy):
    t = tracker(user("crisis_suicide"), *[ActionExecuted(a) for a in
                ["utter_crisis_suicide", *CRISIS_SEQUENCE]], user("affirm"))
    assert run_turn(policy, t) == ["utter_crisis_safe_now", "action_listen"]


def test_after_the_crisis_the_conversation_goes_on(policy):
    t = tracker(user("crisis_suicide"), *[ActionExecuted(a) for a in
                ["utter_crisis_suicide", *CRISIS_SEQUENCE]], user("greet"))
    assert predicted(policy, t) is None


def test_training_fails_when_the_domain_lacks_the_crisis_responses(tmp_path):
    storage = LocalModelStorage(tmp_path)
    context = ExecutionContext(GraphSchema({}), "test")
    bare = Domain.from_yaml('version: "3.1"\nintents: [greet]\n')
    policy = CrisisPolicy.create(CrisisPolicy.get_default_config(), storage,
                                 Resource("p"), context)
    with pytest.raises(ValueError, match="utter_crisis_suicide"):
        policy.train([], bare)


def test_priority_is_above_rule_policy():
    assert CrisisPolicy.get_default_config()["priority"] > RULE_POLICY_PRIORITY
