"""FollowUpCue: marks a short message that leans on what was just said.

"how long does that take?", "and the second one?", "what about the last one?" only make sense
after a topic answer. The classifier reads the words ("how long" -> ask_duration) but cannot
see the conversation; this component marks the message with the entity ``context_ref`` so
that the dialogue (data/rules/chitchat.yml) hands it to action_follow_up, which answers in the
context of the last topic (bot/clinic/topics.py). The intent is left alone, except for a bare pointer
to an item of a list ("the second one"), which names no topic at all and is read as
``tell_me_more`` with the ordinal as the entity value.

Placed after CrisisDetector, the medication detector and before FallbackClassifier: a message
with a risk signal, or one naming a medicine, is never touched.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_NAME_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.clinic.topics import CONTEXT_ENTITY, context_cue
from bot.rasa_ext.nlu.base import ConfigOnlyComponent, set_certain_intent

NOT_TOUCHED = {"ask_medication", "link_account", "safety_check", "other_language"}


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class FollowUpCue(ConfigOnlyComponent, IntentClassifier):
    """Add the ``context_ref`` entity to short messages that refer back ("that", "the second")."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {}

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            crisis = (message.get("crisis") or {}).get("tier") in ("certain", "uncertain")
            intent = (message.get(INTENT) or {}).get(INTENT_NAME_KEY) or ""
            if crisis or intent.startswith("crisis_") or intent in NOT_TOUCHED:
                continue
            cue = context_cue(message.get(TEXT))
            if cue is None:
                continue
            if cue.startswith("ordinal:"):
                set_certain_intent(message, "tell_me_more")
            entities = list(message.get(ENTITIES) or [])
            entities.append({"entity": CONTEXT_ENTITY, "value": cue, "start": 0,
                             "end": len(message.get(TEXT) or ""), "confidence_entity": 1.0,
                             "extractor": type(self).__name__})
            message.set(ENTITIES, entities, add_to_output=True)
        return messages
