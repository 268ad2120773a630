"""Unit tests for our NLU components: the sentence encoder, the classifier, the code detector."""

from __future__ import annotations

import numpy as np
import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.clinic.store import codes
from bot.rasa_ext.nlu import encoder as encoders
from bot.rasa_ext.nlu import minilm
from bot.rasa_ext.nlu.code_detector import CodeDetector


@pytest.fixture(scope="module")
def encoder() -> minilm.MiniLM:
    return encoders.shared()


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
    from bot.rasa_ext.nlu.sentence_featurizer import SentenceEncoderFeaturizer

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


def _message_with_features(rng: np.random.Generator, widths: tuple[int, ...]) -> Message:
    """A message carrying sparse sentence blocks, a sparse sequence block and dense features."""
    import scipy.sparse as sp
    from rasa.shared.nlu.training_data.features import Features

    message = Message({TEXT: "some text"})
    for i, width in enumerate(widths):
        counts = sp.random(1, width, density=0.2, random_state=int(rng.integers(1 << 30)),
                           data_rvs=lambda n: rng.integers(1, 4, n).astype(float))
        message.add_features(Features(counts.tocoo(), "sentence", TEXT, f"counts{i}"))
        message.add_features(Features(sp.coo_matrix(rng.random((3, width))), "sequence",
                                      TEXT, f"counts{i}"))
    message.add_features(Features(rng.standard_normal((1, 8)), "sentence", TEXT, "enc"))
    message.add_features(Features(rng.standard_normal((3, 8)), "sequence", TEXT, "enc"))
    return message


def test_the_classifier_scores_one_message_as_the_matrix_path_does():
    """The per-message fast path and the training-time matrices give the same probabilities."""
    from bot.rasa_ext.nlu.linear_classifier import LinearIntentClassifier

    rng = np.random.default_rng(7)
    widths = (5, 40, 60)
    width = sum(widths) + 8
    classes = np.array([f"intent_{i}" for i in range(6)])
    arrays = {"idf": rng.random(sum(widths)) + 1.0,
              "coef": rng.standard_normal((6, width)).astype(np.float32),
              "intercept": rng.standard_normal(6).astype(np.float32), "classes": classes}
    classifier = LinearIntentClassifier({"ranking_length": 0}, None, None, arrays)
    messages = [_message_with_features(rng, widths) for _ in range(5)]
    fast = classifier._scores(messages)
    x = classifier._matrix(messages, arrays["idf"])
    slow = np.asarray(x @ arrays["coef"].T) + arrays["intercept"]
    assert fast.shape == (5, 6)
    assert np.allclose(fast, slow, atol=1e-5)
    classifier.process(messages)
    best = classes[np.argmax(slow, axis=1)]
    assert [m.get(INTENT)["name"] for m in messages] == list(best)
    assert len(messages[0].get(INTENT_RANKING_KEY)) == 6


def test_the_classifier_refuses_features_unlike_its_training():
    from bot.rasa_ext.nlu.linear_classifier import LinearIntentClassifier

    rng = np.random.default_rng(3)
    arrays = {"idf": np.ones(50), "coef": np.zeros((2, 58), dtype=np.float32),
              "intercept": np.zeros(2, dtype=np.float32), "classes": np.array(["a", "b"])}
    classifier = LinearIntentClassifier({}, None, None, arrays)
    with pytest.raises(ValueError, match="differ from training"):
        classifier.process([_message_with_features(rng, (10, 30))])
