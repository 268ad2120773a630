"""CodeDetector: a message that is nothing but an enrolment code is read as ``link_account``.

The clinic gives a client a code such as ``K7QF-2MXD``; many people just paste it. A random
code has no words for DIET to go on, so the classifier's guess on a bare code is unreliable
(a third of random codes fell back in our tests). The code format is exact (bot.clinic.store.codes:
eight characters without 0/O/1/I/L, at least one digit and one letter), so a deterministic
check is both cheaper and right every time.

Placed after CrisisDetector in config.yml: a message the crisis detector marked (leetspeak
such as "k1ll mys3lf" looks code-like) is never turned into ``link_account``.
It never reads or logs the code itself; the action checks it against the store.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.clinic.store.codes import normalise
from bot.rasa_ext.nlu.base import ConfigOnlyComponent, set_certain_intent

LINK_INTENT = "link_account"


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class CodeDetector(ConfigOnlyComponent, IntentClassifier):
    """Set ``link_account`` (confidence 1.0) on messages that are exactly one enrolment code."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"intent": LINK_INTENT}

    @classmethod
    def required_components(cls) -> list[type]:
        return [IntentClassifier]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.intent = config.get("intent", LINK_INTENT)

    @staticmethod
    def is_bare_code(text: str | None) -> bool:
        """True when the whole message, trimmed of spaces and end punctuation, is a code."""
        stripped = (text or "").strip().strip(".!,;:'\"")
        return len(stripped) <= 12 and normalise(stripped) is not None

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            crisis = (message.get("crisis") or {}).get("tier") in ("certain", "uncertain")
            if crisis or not self.is_bare_code(message.get(TEXT)):
                continue
            set_certain_intent(message, self.intent)
        return messages
