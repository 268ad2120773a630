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

from bot.clinic import crisis_categories as cc
from bot.rasa_ext.policies.crisis import CrisisPolicy

DOMAIN = Domain.from_yaml(f"""
version: "3.1"
intents: [greet, affirm, deny, nlu_fallback, ask_phases, just_venting, safety_check,
          {", ".join(cc.INTENTS)}]
slots:
  hw_note:
    type: text
    mappings: [{{type: from_text}}]
forms:
  homework_form:
    required_slots: [hw_note]
actions: [action_crisis_resources]
responses:
  utter_greet: [{{text: hi}}]
  utter_ask_hw_note: [{{text: "what did you do"}}]
{"".join(f"  {c.utter}: [{{text: s}}]{chr(10)}" for c in cc.CATEGORIES)}
  utter_ask_safe: [{{text: "safe"}}]
  utter_safety_check: [{{text: "are you safe right now?"}}]
  utter_crisis_safe_now: [{{text: good}}]
  utter_crisis_not_safe: [{{text: call}}]
  utter_crisis_still_here: [{{text: here}}]
  utter_crisis_venting: [{{text: ok}}]
""")


def crisis_reply(category: str) -> list[str]:
    """The whole crisis reply: resources first, the category's text, then "are you safe?"."""
    return ["action_crisis_resources", f"utter_crisis_{category}", "action_deactivate_loop",
            "utter_ask_safe", "action_listen"]


SAFETY_CHECK = ["action_crisis_resources", "action_deactivate_loop", "utter_safety_check",
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


@pytest.mark.parametrize("category", cc.NAMES)
def test_a_crisis_intent_gets_the_whole_crisis_sequence_resources_first(policy, category):
    t = tracker(user(f"crisis_{category}"))
    assert run_turn(policy, t) == crisis_reply(category)


def test_an_uncertain_signal_gets_the_safety_check_with_the_resources(policy):
    t = tracker(user("safety_check", crisis={"tier": "uncertain", "category": "suicide"}))
    assert run_turn(policy, t) == SAFETY_CHECK


def test_an_uncertain_verdict_under_another_intent_still_gets_the_check(policy):
    t = tracker(user("ask_phases", crisis={"tier": "uncertain", "category": "self_harm"}))
    assert run_turn(policy, t) == SAFETY_CHECK


def test_the_crisis_wins_inside_an_active_form(policy):
    t = tracker(ActionExecuted("homework_form"), ActiveLoop("homework_form"),
                SlotSet("requested_slot", "hw_note"), ActionExecuted("action_listen"),
                user("crisis_suicide"))
    prediction = policy.predict_action_probabilities(t, DOMAIN)
    assert prediction.is_no_user_prediction  # or RulePolicy's loop prediction would outrank it
    assert run_turn(policy, t) == crisis_reply("suicide")
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
    assert DOMAIN.action_names_or_texts[best.max_confidence_index] == "action_crisis_resources"


def test_a_fallback_cannot_hide_a_crisis_the_detector_saw(policy):
    t = tracker(user("nlu_fallback", crisis={"category": "medical", "tier": "certain"}))
    assert run_turn(policy, t) == crisis_reply("medical")


def test_slots_a_form_filled_from_the_crisis_message_are_emptied(policy):
    t = tracker(ActiveLoop("homework_form"), SlotSet("requested_slot", "hw_note"),
                ActionExecuted("action_listen"), user("crisis_suicide", "i want to die"),
                SlotSet("hw_note", "i want to die"))
    prediction = policy.predict_action_probabilities(t, DOMAIN)
    assert SlotSet("hw_note", None) in prediction.optional_events
    assert not prediction.events  # applied only if the crisis wins


def test_a_failed_resources_action_does_not_stop_the_sequence(policy):
    # Rasa logs ActionExecuted even when the action server is down, with no other events.
    t = tracker(user("crisis_self_harm"), ActionExecuted("action_crisis_resources"))
    assert predicted(policy, t) == "utter_crisis_self_harm"


@pytest.mark.parametrize("intent", ["greet", "affirm", "deny", "nlu_fallback"])
def test_other_messages_get_no_prediction(policy, intent):
    assert predicted(policy, tracker(user(intent))) is None


def test_not_safe_after_the_question_gets_the_resources_again(policy):
    t = tracker(*after_crisis(), user("deny"))
    assert run_turn(policy, t) == ["utter_crisis_not_safe", "action_crisis_resources",
                                   "action_listen"]


def test_safe_after_the_question_gets_a_calm_reply(policy):
    t = tracker(*after_crisis(), user("affirm"))
    assert run_turn(policy, t) == ["utter_crisis_safe_now", "action_listen"]


def test_after_the_crisis_the_conversation_goes_on(policy):
    t = tracker(*after_crisis(), user("ask_phases", "what are the phases of ipt"))
    assert predicted(policy, t) is None


def after_crisis(category: str = "suicide") -> list:
    return [user(f"crisis_{category}"), *[ActionExecuted(a) for a in crisis_reply(category)]]


@pytest.mark.parametrize("text", ["...", "idk", "hello?", "still here", ""])
def test_in_safety_mode_breaking_the_silence_gets_the_resources_again(policy, text):
    t = tracker(*after_crisis(), user("greet", text))
    assert run_turn(policy, t) == ["utter_crisis_still_here", "action_crisis_resources",
                                   "action_listen"]


def test_in_safety_mode_a_message_not_understood_gets_the_resources_not_a_fallback(policy):
    t = tracker(*after_crisis(), user("nlu_fallback", "asdf qwerty zxcv"))
    assert run_turn(policy, t)[:2] == ["utter_crisis_still_here", "action_crisis_resources"]


def test_in_safety_mode_just_venting_is_met_kindly_and_the_talk_goes_on(policy):
    t = tracker(*after_crisis(), user("just_venting", "i'm fine, just venting"))
    assert run_turn(policy, t) == ["utter_crisis_venting", "action_listen"]
    t.update(user("ask_phases", "what are the phases of ipt"))
    assert predicted(policy, t) is None


def test_no_a_few_turns_later_still_gets_the_emergency_route(policy):
    t = tracker(*after_crisis(), user("ask_phases", "what are the phases"),
                ActionExecuted("utter_phases"), ActionExecuted("action_listen"), user("deny", "no"))
    assert run_turn(policy, t)[:2] == ["utter_crisis_not_safe", "action_crisis_resources"]


def test_safety_mode_ends_after_a_few_turns(policy):
    events = after_crisis()
    for _ in range(3):
        events += [user("ask_phases", "what are the phases"), ActionExecuted("utter_phases"),
                   ActionExecuted("action_listen")]
    t = tracker(*events, user("nlu_fallback", "..."))
    assert predicted(policy, t) is None


def test_an_uncertain_check_also_starts_safety_mode(policy):
    t = tracker(user("safety_check", crisis={"tier": "uncertain"}),
                *[ActionExecuted(a) for a in SAFETY_CHECK], user("affirm", "yes"))
    assert run_turn(policy, t) == ["utter_crisis_safe_now", "action_listen"]


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


def test_inside_a_form_a_faint_learned_signal_lets_the_form_take_the_answer(policy):
    t = tracker(ActionExecuted("homework_form"), ActiveLoop("homework_form"),
                SlotSet("requested_slot", "hw_note"), ActionExecuted("action_listen"),
                user("safety_check", "phoned my brother after the outage",
                     crisis={"tier": "uncertain", "layer": "model", "p": 0.2}))
    assert predicted(policy, t) is None


@pytest.mark.parametrize("crisis", [{"tier": "uncertain", "layer": "model", "p": 0.45},
                                    {"tier": "uncertain", "layer": "pattern", "p": 0.05}])
def test_inside_a_form_a_clear_signal_still_gets_the_check(policy, crisis):
    t = tracker(ActionExecuted("homework_form"), ActiveLoop("homework_form"),
                SlotSet("requested_slot", "hw_note"), ActionExecuted("action_listen"),
                user("safety_check", "everything is pointless", crisis=crisis))
    assert run_turn(policy, t) == SAFETY_CHECK
