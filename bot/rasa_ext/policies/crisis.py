"""CrisisPolicy: after a crisis message, the crisis response comes first, whatever else is going on.

It predicts, with confidence 1.0 and a priority above RulePolicy's, a fixed sequence:

- certain crisis (``crisis_<category>``): ``action_crisis_resources`` (the emergency number
  and the crisis lines, first) -> ``utter_crisis_<category>`` (static text that also names
  the emergency number, so help is given even if the action server is down) ->
  ``action_deactivate_loop`` -> ``utter_ask_safe`` -> listen;
- uncertain (``safety_check``): ``action_crisis_resources`` -> ``action_deactivate_loop`` ->
  ``utter_safety_check`` ("are you safe right now?") -> listen.

Its predictions are marked "no user prediction", like RulePolicy's active-loop predictions:
the ensemble lets those overrule every other kind, so without the mark an active form would
win over a crisis.

**Safety mode**: for ``SAFETY_TURNS`` user messages after a crisis reply, it also answers the
replies that need it: yes to "are you safe?" (glad you're safe), no (the emergency route and
the resources again), a silence-breaking or unclear message ("...", "idk", a fallback: still
here, and the resources again) and "I'm fine, just venting" (met kindly, conversation goes
on). Anything else, and everything after those turns, goes to the other policies.
"""

from __future__ import annotations

import logging
import re
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

from bot.clinic import crisis_categories as cc

logger = logging.getLogger(__name__)

CRISIS_PREFIX = cc.CRISIS_PREFIX
CRISIS_KEY = "crisis"
RESOURCES_ACTION = "action_crisis_resources"
ASK_SAFE = "utter_ask_safe"
SAFETY_CHECK = "utter_safety_check"
SAFETY_TURNS = 3
IN_FORM_CHECK_P = 0.3
CRISIS_REPLIES = {c.utter for c in cc.CATEGORIES} | {SAFETY_CHECK}
ASKED_SAFE = {ASK_SAFE, SAFETY_CHECK}
SAFE_REPLIES = {
    "affirm": ["utter_crisis_safe_now", ACTION_LISTEN_NAME],
    "deny": ["utter_crisis_not_safe", RESOURCES_ACTION, ACTION_LISTEN_NAME],
}
SAFETY_MODE_REPLIES = {
    "deny": ["utter_crisis_not_safe", RESOURCES_ACTION, ACTION_LISTEN_NAME],
    "just_venting": ["utter_crisis_venting", ACTION_LISTEN_NAME],
    "silence": ["utter_crisis_still_here", RESOURCES_ACTION, ACTION_LISTEN_NAME],
}
# Messages that break a silence without saying anything the assistant can answer.
SILENCE = re.compile(
    r"^\W*(|\.+|\?+|idk|i dunno|dunno|i don'?t know|hm+|um+|uh+|ok|okay|k|hello|hello\?|hi|hey|"
    r"are you there|you there|still here|i'?m still here|whatever|nothing|maybe|not really|"
    r"i can'?t|can'?t|please|help|help me)\W*$", re.IGNORECASE)
UNCLEAR_INTENTS = {"nlu_fallback", "out_of_scope"}


def crisis_category(tracker: DialogueStateTracker) -> str | None:
    """The crisis category of the latest user message when it is a certain crisis."""
    message = tracker.latest_message
    if message is None:
        return None
    intent = (message.intent or {}).get("name") or ""
    category = cc.category_of_intent(intent)
    if category is not None:
        return category
    if intent.startswith(CRISIS_PREFIX):
        return intent[len(CRISIS_PREFIX):]
    # The detector also leaves its verdict in the parse data: if anything later in the
    # pipeline replaced the intent (e.g. a fallback), a certain crisis still wins.
    info = (message.parse_data or {}).get(CRISIS_KEY) or {}
    return info.get("category") if info.get("tier", cc.CERTAIN) == cc.CERTAIN else None


def is_safety_check(tracker: DialogueStateTracker) -> bool:
    """True when the latest user message is an uncertain-tier risk signal to act on.

    Inside a form, the answers are ordinary activity ("phoned my brother after the outage"):
    there a signal of the learned layer alone must reach ``IN_FORM_CHECK_P`` before the form
    is left for the check; below it the form takes the answer. Patterns always count.
    """
    message = tracker.latest_message
    if message is None:
        return False
    info = (message.parse_data or {}).get(CRISIS_KEY) or {}
    intent = (message.intent or {}).get("name") or ""
    if intent != cc.SAFETY_CHECK_INTENT and info.get("tier") != cc.UNCERTAIN:
        return False
    faint = info.get("layer") == "model" and float(info.get("p") or 0.0) < IN_FORM_CHECK_P
    return not (tracker.active_loop_name and faint)


def crisis_sequence(category: str, domain_actions: set[str]) -> list[str]:
    """The actions that answer a certain crisis of ``category``, in order."""
    utter = f"utter_crisis_{category}"
    if utter not in domain_actions:
        utter = f"utter_crisis_{cc.GENERAL}"  # the most general text; never skip the static help
    return [RESOURCES_ACTION, utter, ACTION_DEACTIVATE_LOOP_NAME, ASK_SAFE, ACTION_LISTEN_NAME]


def check_sequence() -> list[str]:
    """The actions that answer an uncertain risk signal."""
    return [RESOURCES_ACTION, ACTION_DEACTIVATE_LOOP_NAME, SAFETY_CHECK, ACTION_LISTEN_NAME]


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


def safety_mode(tracker: DialogueStateTracker, index: int) -> tuple[bool, str | None]:
    """(in safety mode, the bot's last action before the latest user message).

    In safety mode when a crisis reply was given at most ``SAFETY_TURNS`` user messages ago.
    """
    events = list(tracker.events)[:max(index, 0)]
    last_bot = None
    users = 1  # the latest message itself
    for event in reversed(events):
        if isinstance(event, ActionExecuted) and event.action_name not in (
                ACTION_LISTEN_NAME, ACTION_DEACTIVATE_LOOP_NAME):
            last_bot = last_bot or event.action_name
            if event.action_name in CRISIS_REPLIES:
                return users <= SAFETY_TURNS, last_bot
        elif isinstance(event, UserUttered):
            users += 1
            if users > SAFETY_TURNS:
                return False, last_bot
    return False, last_bot


def follow_up_kind(tracker: DialogueStateTracker) -> str | None:
    """What kind of reply the latest message is in safety mode, by its intent and text."""
    message = tracker.latest_message
    intent = ((message and message.intent) or {}).get("name")
    if intent in SAFETY_MODE_REPLIES:
        return intent
    text = (message.text if message else "") or ""
    if intent in UNCLEAR_INTENTS or SILENCE.match(text.strip()):
        return "silence"
    return None


def next_crisis_action(tracker: DialogueStateTracker, domain_actions: set[str]) -> str | None:
    """The next action of the crisis response, or None when there is nothing to add."""
    index, after = _since_last_user(tracker)
    category = crisis_category(tracker)
    if category is not None:
        return _next_in(crisis_sequence(category, domain_actions), after)
    if is_safety_check(tracker):
        return _next_in(check_sequence(), after)
    active, last_bot = safety_mode(tracker, index)
    if not active:
        return None
    intent = ((tracker.latest_message and tracker.latest_message.intent) or {}).get("name")
    # Right after "are you safe right now?", a plain yes or no gets its own reply.
    if last_bot in ASKED_SAFE and intent in SAFE_REPLIES:
        return _next_in(SAFE_REPLIES[intent], after)
    kind = follow_up_kind(tracker)
    if kind is None:
        return None
    sequence = [a for a in SAFETY_MODE_REPLIES[kind] if a in domain_actions or a in (
        RESOURCES_ACTION, ACTION_LISTEN_NAME)]
    return _next_in(sequence, after)


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
        missing = [name for name in (f"utter_crisis_{cc.GENERAL}", RESOURCES_ACTION, ASK_SAFE,
                                     SAFETY_CHECK)
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
        # the first action of a crisis reply undoes what the crisis message filled in a form
        if action == RESOURCES_ACTION and (crisis_category(tracker) is not None
                                           or is_safety_check(tracker)):
            events = revert_slots_set_by_crisis_message(tracker)
        logger.debug("crisis policy predicts %s", action)
        # optional_events: applied only when this prediction wins the ensemble.
        return self._prediction(probabilities, optional_events=events, is_no_user_prediction=True)
