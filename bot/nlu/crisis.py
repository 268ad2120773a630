"""CrisisDetector: the NLU component that makes sure a crisis message is read as a crisis.

Placed after DIETClassifier and before FallbackClassifier in config.yml. Two layers, either is
enough: (1) the deterministic spaCy Matcher patterns in ``crisis_patterns``; (2) the learned
``crisis_*`` intents, taken when one is DIET's top intent with confidence >= ``top_threshold``
(or, if ``ranking_threshold`` is set, anywhere in the ranking at or above it). On a crisis the message's intent becomes ``crisis_<category>`` with
confidence 1.0 and a ``crisis`` property (category, layer, pattern id; never the text) is
added to the parse data for the policy and the action.
"""

from __future__ import annotations

import logging
from typing import Any

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (
    INTENT,
    INTENT_NAME_KEY,
    INTENT_RANKING_KEY,
    PREDICTED_CONFIDENCE_KEY,
    TEXT,
)
from rasa.shared.nlu.training_data.message import Message

from bot.nlu.base import ConfigOnlyComponent, set_certain_intent
from bot.nlu.crisis_patterns import best_match, build_matcher, match_labels

logger = logging.getLogger(__name__)

CRISIS_PREFIX = "crisis_"
CRISIS_KEY = "crisis"
SPACY_DOC_KEY = "text_spacy_doc"  # where SpacyNLP puts the Doc (rasa.nlu.constants.SPACY_DOCS)


def crisis_intent(category: str) -> str:
    """The intent name for a crisis category."""
    return CRISIS_PREFIX + category


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False
)
class CrisisDetector(ConfigOnlyComponent, IntentClassifier):
    """Turn any message that a crisis pattern or a crisis intent flags into a crisis intent."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        """Threshold chosen by measurement on tests/data/safety_set.yml (docs/safety.md)."""
        # Measured: a top crisis intent at >= 0.8 keeps false alarms under 10% with the
        # matcher; lower values, or any crisis intent in the ranking, raised them to 37-58%.
        return {"top_threshold": 0.8, "ranking_threshold": None, "spacy_model": None}

    @classmethod
    def required_components(cls) -> list[type]:
        """It reads the intent a classifier before it predicted."""
        return [IntentClassifier]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.top_threshold = float(config.get("top_threshold", 0.8))
        ranking = config.get("ranking_threshold")
        self.ranking_threshold = None if ranking is None else float(ranking)
        self._matchers: dict[int, Any] = {}
        self._nlp: Any = None


    def _own_nlp(self) -> Any:
        """A tokenizer with lemmas, for pipelines that put no spaCy Doc on the message."""
        if self._nlp is None:
            import spacy

            if self.component_config.get("spacy_model"):
                self._nlp = spacy.load(self.component_config["spacy_model"])
            else:
                self._nlp = spacy.blank("en")
                try:
                    self._nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
                    self._nlp.initialize()
                except (ValueError, OSError, ImportError):  # no lookup tables: LOWER/NORM patterns still work
                    logger.warning("crisis detector: no lemmatizer tables, lemma patterns off")
                    self._nlp = spacy.blank("en")
        return self._nlp

    def _doc(self, message: Message) -> Any:
        doc = message.get(SPACY_DOC_KEY)
        if doc is None:
            doc = self._own_nlp()((message.get(TEXT) or "").lower())
        return doc

    def match(self, doc: Any) -> tuple[tuple[str, str] | None, bool]:
        """(category, pattern id) of the strongest crisis pattern in ``doc``, and minor age."""
        matcher = self._matchers.get(id(doc.vocab))
        if matcher is None:
            # patterns are stored as hashes in the vocab's StringStore: one matcher per vocab
            matcher = self._matchers[id(doc.vocab)] = build_matcher(doc.vocab)
        labels = match_labels(matcher, doc)
        return best_match(labels), any(label.startswith("age:") for label in labels)

    def _model_crisis(self, message: Message) -> tuple[str, float] | None:
        """The crisis intent DIET put on top or ranked at/above the threshold."""
        top = message.get(INTENT) or {}
        name = top.get(INTENT_NAME_KEY) or ""
        top_confidence = float(top.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
        if name.startswith(CRISIS_PREFIX) and top_confidence >= self.top_threshold:
            return name, top_confidence
        if self.ranking_threshold is None:
            return None
        for entry in message.get(INTENT_RANKING_KEY) or []:
            entry_name = entry.get(INTENT_NAME_KEY) or ""
            confidence = float(entry.get(PREDICTED_CONFIDENCE_KEY) or 0.0)
            if entry_name.startswith(CRISIS_PREFIX) and confidence >= self.ranking_threshold:
                return entry_name, confidence
        return None

    @staticmethod
    def _demote_weak_crisis(message: Message) -> None:
        """A crisis intent on top that neither layer confirmed gives way to the next intent.

        DIET puts crisis intents on top of ordinary emotional talk ("my boss is stressing me
        out") with low confidence; left alone, that was a false alarm in a quarter of the
        near-miss set. Every crisis message in the safety set is caught by the patterns or
        by a confident model, so demoting the weak ones costs no measured recall. The next
        intent then faces FallbackClassifier's threshold like any other.
        """
        top = message.get(INTENT) or {}
        if not str(top.get(INTENT_NAME_KEY, "")).startswith(CRISIS_PREFIX):
            return
        rest = [e for e in message.get(INTENT_RANKING_KEY) or []
                if not str(e.get(INTENT_NAME_KEY, "")).startswith(CRISIS_PREFIX)]
        if rest:
            message.set(INTENT, dict(rest[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, rest, add_to_output=True)

    def process(self, messages: list[Message]) -> list[Message]:
        """Mark crisis messages; leave every other message exactly as it was."""
        for message in messages:
            if not message.get(TEXT):
                continue
            matched, minor = self.match(self._doc(message))
            model = self._model_crisis(message)
            if matched is not None:
                intent, layer, pattern = crisis_intent(matched[0]), "matcher", matched[1]
            elif model is not None:
                intent, layer, pattern = model[0], "model", None
            else:
                self._demote_weak_crisis(message)
                continue
            previous = message.get(INTENT) or {}
            info = {
                "category": intent[len(CRISIS_PREFIX):],
                "layer": layer,
                "pattern": pattern,
                "model_intent": previous.get(INTENT_NAME_KEY),
                "model_confidence": previous.get(PREDICTED_CONFIDENCE_KEY),
                "minor": minor,
            }
            # Everything else goes to 0: FallbackClassifier can never turn it into a fallback.
            set_certain_intent(message, intent)
            message.set(CRISIS_KEY, info, add_to_output=True)
            logger.info("crisis detected: category=%s layer=%s pattern=%s",
                        info["category"], layer, pattern)
        return messages
