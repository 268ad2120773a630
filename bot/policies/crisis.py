"""CrisisPolicy: after a crisis message, the crisis response comes first, whatever else is going on.

It predicts, with confidence 1.0 and a priority above RulePolicy's, the fixed sequence
``utter_crisis_<category>`` (static text: help is given even if the action server is down)
-> ``action_deactivate_loop`` -> ``action_crisis_resources`` -> ``utter_ask_safe`` -> listen.
Its predictions are marked "no user prediction", like RulePolicy's active-loop predictions:
the ensemble lets those overrule every other kind, so without the mark an active form would
win over a crisis. When the person answers "are you safe?" with yes or no, it also picks the
reply. Otherwise it predicts nothing and the other policies decide.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.core.constants import POLICY_PRIORITY, RULE_POLICY_PRIORITY
from rasa.core.policies.policy import Policy, PolicyPrediction, SupportedData
from rasa.engine.graph import ExecutionContext
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.constants import ACTION_DEACTIVATE_LOOP_NAME, ACTION_LISTEN_NAME
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker

logger = logging.getLogger(__name__)

CRISIS_PREFIX = "crisis_"
CRISIS_KEY = "crisis"
RESOURCES_ACTION = "action_crisis_resources"
ASK_SAFE = "utter_ask_safe"
SAFE_REPLIES = {
    "affirm": ["utter_crisis_safe_now", ACTION_LISTEN_NAME],
    "deny": ["utter_crisis_not_safe", RESOURCES_ACTION, ACTION_LISTEN_NAME],
}


def crisis_category(tracker: DialogueStateTracker) -> str | None:
    """The crisis category of the latest user message, or None when it is not a crisis."""
    message = tracker.latest_message
    if message is None:
        return None
    intent = (message.intent or {}).get("name") or ""
    if intent.startswith(CRISIS_PREFIX):
        return intent[len(CRISIS_PREFIX):]
    # The detector also leaves its verdict in the parse data: if anything later in the
    # pipeline replaced the intent (e.g. a fallback), the crisis still wins.
    info = (message.parse_data or {}).get(CRISIS_KEY) or {}
    return info.get("category")


def crisis_sequence(category: str, domain_actions: set[str]) -> list[str]:
    """The actions that answer a crisis of ``category``, in order."""
    utter = f"utter_crisis_{category}"
    if utter not in domain_actions:
        utter = "utter_crisis_suicide"  # the most general text; never skip the static help
    return [utter, ACTION_DEACTIVATE_LOOP_NAME, RESOURCES_ACTION, ASK_SAFE, ACTION_LISTEN_NAME]


def _since_last_user(tracker: DialogueStateTracker) -> tuple[int, list[Event]]:
    events = list(tracker.events)
    for i in range(len(events) - 1, -1, -1):
        if isinstance(events[i], UserUttered):
            return i, events[i + 1:]
    return -1, events


def _next_in(sequence: list[str], after: list[Event]) -> str | None:
    """The first action of ``sequence`` not yet run since the user spoke."""
    position = 0
    for event in after:
        if (isinstance(event, ActionExecuted) and position < len(sequence)
                and event.action_name == sequence[position]):
            position += 1
    return sequence[position] if position < len(sequence) else None


def next_crisis_action(tracker: DialogueStateTracker, domain_actions: set[str]) -> str | None:
    """The next action of the crisis response, or None when there is nothing to add."""
    index, after = _since_last_user(tracker)
    category = crisis_category(tracker)
    if category is not None:
        return _next_in(crisis_sequence(category, domain_actions), after)
    # After "are you safe right now?", a plain yes or no gets its own reply.
    intent = ((tracker.latest_message and tracker.latest_message.intent) or {}).get("name")
    if intent not in SAFE_REPLIES:
        return None
    bot_actions_before = [
        e.action_name for e in list(tracker.events)[:max(index, 0)]
        if isinstance(e, ActionExecuted) and e.action_name != ACTION_LISTEN_NAME
    ]
    if bot_actions_before and bot_actions_before[-1] == ASK_SAFE:
        return _next_in(SAFE_REPLIES[intent], after)
    return None


def revert_slots_set_by_crisis_message(tracker: DialogueStateTracker) -> list[Event]:
    """Undo slots filled from the crisis message (a form's from_text must not keep it)."""
    index, after = _since_last_user(tracker)
    if index < 0:
        return []
    before = list(tracker.events)[:index]
    reverts: list[Event] = []
    for event in after:
        if isinstance(event, SlotSet):
            previous = None
            for old in reversed(before):
                if isinstance(old, SlotSet) and old.key == event.key:
                    previous = old.value
                    break
            if previous != event.value:
                reverts.append(SlotSet(event.key, previous))
    return reverts


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True
)
class CrisisPolicy(Policy):
    """Predict the crisis response after a crisis message, over forms, rules and fallbacks."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Priority one above RulePolicy, so a tie at confidence 1.0 goes to the crisis."""
        return {POLICY_PRIORITY: RULE_POLICY_PRIORITY + 1}

    @staticmethod
    def supported_data() -> SupportedData:
        """It learns nothing; accept any data so Rasa does not warn."""
        return SupportedData.ML_AND_RULE_DATA

    def __init__(
        self,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
        featurizer: Any = None,
    ) -> None:
        super().__init__(config, model_storage, resource, execution_context, featurizer)

    def train(
        self, training_trackers: list[TrackerWithCachedStates], domain: Domain, **kwargs: Any
    ) -> Resource:
        """Nothing to learn: the sequence is fixed. Check the domain has what it needs."""
        missing = [name for name in ("utter_crisis_suicide", RESOURCES_ACTION, ASK_SAFE)
                   if name not in domain.action_names_or_texts]
        if missing:
            raise ValueError(f"CrisisPolicy needs these in the domain: {', '.join(missing)}")
        with self._model_storage.write_to(self._resource) as path:
            (path / "crisis_policy.txt").write_text("fixed crisis sequence\n")
        return self._resource

    def predict_action_probabilities(
        self,
        tracker: DialogueStateTracker,
        domain: Domain,
        rule_only_data: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """Predict the next crisis action with confidence 1.0, or nothing."""
        probabilities = self._default_predictions(domain)
        action = next_crisis_action(tracker, set(domain.action_names_or_texts))
        if action is None:
            return self._prediction(probabilities)
        probabilities[domain.index_for_action(action)] = 1.0
        events: list[Event] = []
        if action.startswith("utter_crisis_") and crisis_category(tracker) is not None:
            events = revert_slots_set_by_crisis_message(tracker)
        logger.debug("crisis policy predicts %s", action)
        # optional_events: applied only when this prediction wins the ensemble.
        return self._prediction(probabilities, optional_events=events, is_no_user_prediction=True)
