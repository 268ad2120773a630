"""What our NLU components share: building from config alone, and setting a certain intent."""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
)
from rasa.shared.nlu.training_data.message import Message


class ConfigOnlyComponent(GraphComponent):
    """A graph component made from its configuration: nothing trained, nothing stored."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.component_config = config

    @classmethod
    def create(cls, config: dict[str, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> ConfigOnlyComponent:
        return cls(config)


def set_certain_intent(message: Message, intent: str) -> None:
    """Make ``intent`` the message's intent at confidence 1.0 and every other one 0.

    With the others at 0, FallbackClassifier's ambiguity check (top two within its margin)
    can never replace the intent with nlu_fallback.
    """
    top = {INTENT_NAME_KEY: intent, PREDICTED_CONFIDENCE_KEY: 1.0}
    ranking = [dict(top)] + [
        {**entry, PREDICTED_CONFIDENCE_KEY: 0.0}
        for entry in message.get(INTENT_RANKING_KEY) or []
        if entry.get(INTENT_NAME_KEY) != intent
    ]
    message.set(INTENT, top, add_to_output=True)
    message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
