"""Unit tests for our NLU components: the offline sentence encoder and the code detector."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.nlu import minilm
from bot.nlu.code_detector import CodeDetector
from bot.store import codes


@pytest.fixture(scope="module")
def encoder() -> minilm.MiniLM:
    return minilm.shared()


def test_the_tokenizer_splits_like_bert_uncased(encoder):
    vocab = {i: t for t, i in encoder.tokenizer.vocab.items()}
    pieces = [vocab[i] for i in encoder.tokenizer.ids("Héllo, UNAFFABLE world!")]
    assert pieces == ["hello", ",", "una", "##ffa", "##ble", "world", "!"]
    assert encoder.tokenizer.ids("\x00\x07") == []


def test_the_encoder_reproduces_the_published_similarities(encoder):
    # sentence-transformers' semantic search example for all-MiniLM-L6-v2 publishes these
    # scores for the query "A man is eating pasta."; a wrong forward pass cannot match them.
    query = encoder.encode(["A man is eating pasta."])[0]
    corpus = encoder.encode([
        "A man is eating food.",
        "A man is eating a piece of bread.",
        "A man is riding a horse.",
        "A man is riding a white horse on an enclosed ground.",
    ])
    assert np.allclose(corpus @ query, [0.7035, 0.5272, 0.1889, 0.1047], atol=2e-3)
    assert np.allclose(np.linalg.norm(corpus, axis=1), 1.0, atol=1e-5)


def test_batching_and_padding_do_not_change_an_embedding(encoder):
    alone = encoder.encode(["how long does IPT last"])
    together = encoder.encode(["hi", "how long does IPT last", "a much longer message " * 5])
    assert np.allclose(alone[0], together[1], atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_questions(encoder):
    a, b, c = encoder.encode([
        "how many sessions will I need",
        "how long does the therapy take",
        "how do I bake bread",
    ])
    assert a @ b > a @ c + 0.2


def _parsed(text: str) -> Message:
    message = Message({TEXT: text})
    message.set(INTENT, {"name": "nlu_fallback", "confidence": 0.2})
    message.set(INTENT_RANKING_KEY, [{"name": "greet", "confidence": 0.2}])
    return CodeDetector({}).process([message])[0]


@pytest.mark.parametrize("text", ["K7QF-2MXD", " k7qf 2mxd ", "K7QF2MXD.", "k7qf-2mxd!"])
def test_a_bare_code_is_read_as_linking(text):
    message = _parsed(text)
    assert message.get(INTENT) == {"name": "link_account", "confidence": 1.0}
    assert message.get(INTENT_RANKING_KEY)[0]["name"] == "link_account"
    assert all(r["confidence"] == 0.0 for r in message.get(INTENT_RANKING_KEY)[1:])


@pytest.mark.parametrize("text", [
    "hello there", "ABCDEFGH", "12345678", "K7QF-2MXD please link me", "K0QF-2MXD", "",
])
def test_other_messages_are_left_alone(text):
    assert _parsed(text).get(INTENT)["name"] == "nlu_fallback"


def test_every_generated_code_is_detected():
    assert all(CodeDetector.is_bare_code(codes.generate()) for _ in range(200))


def _featurized(featurizer, text: str):
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    message = Message({TEXT: text})
    WhitespaceTokenizer(WhitespaceTokenizer.get_default_config()).process([message])
    featurizer.process([message])
    sequence, sentence = message.get_dense_features(TEXT)
    return sequence.features, sentence.features


def test_the_featurizer_gives_token_and_sentence_features_and_caches_short_messages(encoder):
    from bot.nlu.sentence_featurizer import SentenceEncoderFeaturizer

    config = {**SentenceEncoderFeaturizer.get_default_config(), "alias": "enc"}
    featurizer = SentenceEncoderFeaturizer(config, "enc")
    sequence, sentence = _featurized(featurizer, "how long does IPT last")
    assert sequence.shape == (5, 384) and sentence.shape == (1, 384)
    assert np.allclose(sentence[0], encoder.encode(["how long does IPT last"])[0], atol=1e-5)
    assert len(featurizer._cache) == 1
    again_sequence, again_sentence = _featurized(featurizer, "how long does IPT last")
    assert np.array_equal(again_sentence, sentence) and np.array_equal(again_sequence, sequence)
    _featurized(featurizer, "a long message " * 5)  # 15 tokens: not kept
    assert len(featurizer._cache) == 1
