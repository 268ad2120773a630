"""The sentence encoder through onnxruntime (bot/rasa_ext/nlu/minilm_onnx.py) gives what NumPy gives."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from rasa.nlu.constants import TOKENS_NAMES
from rasa.nlu.tokenizers.tokenizer import Token
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from bot.rasa_ext.nlu import encoder, minilm, minilm_onnx
from bot.rasa_ext.nlu.sentence_featurizer import SentenceEncoderFeaturizer
from scripts.fresh_questions import FreshQuestions, blind_questions


@pytest.fixture(scope="module")
def numpy_encoder() -> minilm.MiniLM:
    return minilm.MiniLM()


@pytest.fixture(scope="module")
def onnx_encoder() -> minilm_onnx.OnnxMiniLM:
    return minilm_onnx.shared(quantize=False)


@pytest.fixture(scope="module")
def sentences() -> list[str]:
    """Every fourth blind-set question (about 230, 3-156 characters) and 40 longer new
    wordings (scripts/compare_encoders.py compares the whole model's answers on all of them)."""
    supply = FreshQuestions(seed=21)
    return blind_questions()[::4] + [supply.next() for _ in range(40)]


def test_the_default_encoder_is_onnxruntime_and_numpy_stays_selectable():
    assert encoder.backend({}) == "onnx"
    assert encoder.backend({"IPT_ENCODER": "numpy"}) == "numpy"
    assert encoder.backend({"IPT_ENCODER": "ONNX-int8"}) == "onnx-int8"
    with pytest.raises(ValueError):
        encoder.backend({"IPT_ENCODER": "torch"})
    assert isinstance(encoder.shared(), minilm_onnx.OnnxMiniLM)


def test_sentence_embeddings_equal_numpys_on_hundreds_of_sentences(numpy_encoder, onnx_encoder,
                                                                    sentences):
    expected = numpy_encoder.encode(sentences)
    got = onnx_encoder.encode(sentences)
    cosine = (expected * got).sum(1)
    assert cosine.min() > 0.9999
    assert np.abs(expected - got).max() < 1e-4


def test_token_states_equal_numpys_one_message_at_a_time(numpy_encoder, onnx_encoder,
                                                         sentences):
    # the message path: one message per call, no padding
    for text in sentences[::25]:
        ids = numpy_encoder.tokenizer.ids(text)
        expected, mask = numpy_encoder.forward([ids])
        got, got_mask = onnx_encoder.forward([ids])
        assert got.shape == expected.shape
        assert np.array_equal(mask, got_mask)
        assert np.abs(expected - got).max() < 1e-3


def test_padding_in_a_batch_does_not_change_a_message(onnx_encoder):
    alone = onnx_encoder.encode(["how long does IPT last"])
    together = onnx_encoder.encode(["hi", "how long does IPT last", "a much longer one " * 9])
    assert np.allclose(alone[0], together[1], atol=1e-5)


def _message(text: str) -> Message:
    message = Message({TEXT: text})
    tokens, start = [], 0
    for word in text.split():
        start = text.index(word, start)
        tokens.append(Token(word, start))
        start += len(word)
    message.set(TOKENS_NAMES[TEXT], tokens)
    return message


def test_the_featurizer_gives_the_same_features_with_either_encoder(monkeypatch, sentences):
    def features(backend: str) -> list[tuple[np.ndarray, np.ndarray]]:
        monkeypatch.setenv("IPT_ENCODER", backend)
        encoder.shared.cache_clear()
        featurizer = SentenceEncoderFeaturizer(SentenceEncoderFeaturizer.get_default_config(),
                                               "encoder")
        messages = featurizer.process([_message(t) for t in sentences[::10]])
        out = []
        for m in messages:
            seq, sent = m.get_dense_features(TEXT)
            out.append((seq.features, sent.features))
        return out

    try:
        for (seq_np, sent_np), (seq_ox, sent_ox) in zip(features("numpy"), features("onnx")):
            assert seq_np.shape == seq_ox.shape
            assert np.abs(seq_np - seq_ox).max() < 1e-3
            assert float(sent_np[0] @ sent_ox[0]) > 0.9999
    finally:
        encoder.shared.cache_clear()


def test_int8_weights_stay_within_their_measured_tolerance(numpy_encoder, sentences):
    # Opt-in only (IPT_ENCODER=onnx-int8): about twice as fast again, but not within the
    # 0.99 cosine everywhere (docs/benchmarks.md), so not the default.
    sample = sentences
    expected = numpy_encoder.encode(sample)
    got = minilm_onnx.shared(quantize=True).encode(sample)
    cosine = (expected * got).sum(1)
    assert cosine.mean() > 0.99
    assert cosine.min() > 0.93


def test_the_graph_is_built_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("IPT_ENCODER_DIR", str(tmp_path))
    path = minilm_onnx.ensure_graph(quantize=False)
    assert path.parent == tmp_path and path.suffix == ".onnx"
    mtime = path.stat().st_mtime_ns
    assert minilm_onnx.ensure_graph(quantize=False) == path
    assert path.stat().st_mtime_ns == mtime
    assert not list(tmp_path.glob("*.tmp"))
