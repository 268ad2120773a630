"""The same sentence encoder (all-MiniLM-L6-v2) through onnxruntime, with int8 weights.

Why: for a message worded anew the encoder was the largest cost of a reply (docs/benchmarks.md:
about 15-20 ms of NumPy matrix products, and NumPy's per-operation overhead on sequences of
10-40 word pieces). onnxruntime runs the whole 6-layer graph in one call, fuses layer
normalisation and GELU, and multiplies with 8-bit integer weights (dynamically quantised: the
activations are quantised per call, the weights once, per output column).

Where the graph comes from: built here, offline, from the same safetensors weights the NumPy
encoder (bot/rasa_ext/nlu/minilm.py) reads, with onnx's helper API (no PyTorch, nothing downloaded),
then saved under var/encoder/ keyed by a hash of the weights and of this builder, and loaded
from there afterwards (``python -m bot.rasa_ext.nlu.minilm_onnx`` builds it ahead of time; `make setup`
does). The graph ends at the last layer's token states: pooling and normalisation stay in
NumPy (bot.rasa_ext.nlu.minilm.MiniLM.pool), so both encoders give the same outputs to the same code.

Accuracy: tests/test_minilm_onnx.py checks the sentence embeddings against the NumPy encoder
(cosine above 0.99 on every sentence of the blind question sets); docs/benchmarks.md has the
figures and the held-out accuracy with it.

Quantisation scheme: weights symmetric int8 per output column. On CPUs without VNNI (AVX2
only, like the project's EPYC machines) onnxruntime multiplies uint8 activations by int8
weights with an instruction that can saturate 16-bit sums; ``reduce_range`` (7-bit weights,
the remedy onnxruntime's own quantiser uses) avoids that, and is the default.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

from bot import settings
from bot.rasa_ext.nlu import minilm

BUILDER_VERSION = "1"
CACHE_DIR = settings.REPO / "var" / "encoder"
OPSET = 17  # LayerNormalization


def available() -> bool:
    """Whether onnxruntime (to run) is importable; onnx (to build) is checked when building."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def _weights(folder: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    weights = load_file(str(folder / "model.safetensors"))
    return {k.removeprefix("bert."): v.astype(np.float32) for k, v in weights.items()}


def _quantize(w: np.ndarray, reduce_range: bool) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-column int8 of ``w`` (in, out): (int8 weights, float scales per column)."""
    qmax = 63.0 if reduce_range else 127.0
    scale = np.abs(w).max(axis=0) / qmax
    scale = np.where(scale == 0, 1.0, scale).astype(np.float32)
    q = np.clip(np.round(w / scale), -qmax, qmax).astype(np.int8)
    return q, scale


def build(folder: Path, quantize: bool = True, reduce_range: bool = True,
          parts: frozenset[str] = frozenset({"qkv", "o", "i", "f"})):
    """The encoder as an onnx ModelProto: (input_ids int64, attention_mask float) -> states."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    config = json.loads((folder / "config.json").read_text())
    heads = int(config["num_attention_heads"])
    layers = int(config["num_hidden_layers"])
    dim = int(config["hidden_size"])
    eps = float(config.get("layer_norm_eps", 1e-12))
    size = dim // heads
    w = _weights(folder)
    inits: list = []
    nodes: list = []

    def const(name: str, value: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(op: str, inputs: list[str], out: str, domain: str = "", **attrs) -> str:
        nodes.append(helper.make_node(op, inputs, [out], name=out, domain=domain or None,
                                      **attrs))
        return out

    def linear(x: str, weight: np.ndarray, bias: np.ndarray, name: str) -> str:
        """x @ weight + bias; weight is (in, out)."""
        if quantize and name.rpartition(".")[2] in parts:
            q, scale = _quantize(weight, reduce_range)
            return node("DynamicQuantizeMatMul",
                        [x, const(name + ".wq", q), const(name + ".scale", scale),
                         const(name + ".zp", np.zeros_like(q[0])), const(name + ".b", bias)],
                        name, domain="com.microsoft")
        return node("Add", [node("MatMul", [x, const(name + ".w", weight)], name + ".mm"),
                            const(name + ".b", bias)], name)

    def layer_norm(x: str, prefix: str, name: str) -> str:
        return node("LayerNormalization", [x, const(name + ".g", w[prefix + ".weight"]),
                                           const(name + ".beta", w[prefix + ".bias"])],
                    name, axis=-1, epsilon=eps)

    # embeddings: words + positions + token type 0, layer norm
    emb = node("Gather", [const("word", w["embeddings.word_embeddings.weight"]), "input_ids"],
               "emb.words")
    length = node("Shape", ["input_ids"], "emb.len", start=1, end=2)
    positions = node("Slice", [const("pos", w["embeddings.position_embeddings.weight"]),
                               const("zero1", np.array([0], np.int64)), length,
                               const("axis0", np.array([0], np.int64))], "emb.pos")
    h = node("Add", [node("Add", [emb, positions], "emb.sum"),
                     const("type0", w["embeddings.token_type_embeddings.weight"][0])], "emb.all")
    h = layer_norm(h, "embeddings.LayerNorm", "emb.ln")
    # padding: -1e9 added to the scores of padded keys, shape (batch, 1, 1, length)
    bias = node("Mul", [node("Sub", [const("one", np.array(1.0, np.float32)), "attention_mask"],
                             "mask.inv"), const("neg", np.array(-1e9, np.float32))], "mask.neg")
    bias = node("Unsqueeze", [bias, const("axes12", np.array([1, 2], np.int64))], "mask.bias")
    split_heads = const("heads", np.array([0, 0, heads, size], np.int64))
    merge_heads = const("merge", np.array([0, 0, dim], np.int64))
    thirds = const("thirds", np.array([dim, dim, dim], np.int64))
    scale = 1.0 / np.sqrt(size)
    for i in range(layers):
        p = f"encoder.layer.{i}."
        n = f"l{i}"
        # one product for query, key and value; the 1/sqrt(head size) folded into the query
        qkv_w = np.concatenate([w[p + f"attention.self.{x}.weight"].T for x in
                                ("query", "key", "value")], axis=1)
        qkv_b = np.concatenate([w[p + f"attention.self.{x}.bias"] for x in
                                ("query", "key", "value")])
        qkv_w[:, :dim] *= scale
        qkv_b[:dim] *= scale
        qkv = linear(h, qkv_w, qkv_b, n + ".qkv")
        nodes.append(helper.make_node("Split", [qkv, thirds], [n + ".q", n + ".k", n + ".v"],
                                      name=n + ".split", axis=2))
        q = node("Transpose", [node("Reshape", [n + ".q", split_heads], n + ".q4")], n + ".qt",
                 perm=[0, 2, 1, 3])
        k = node("Transpose", [node("Reshape", [n + ".k", split_heads], n + ".k4")], n + ".kt",
                 perm=[0, 2, 3, 1])
        v = node("Transpose", [node("Reshape", [n + ".v", split_heads], n + ".v4")], n + ".vt",
                 perm=[0, 2, 1, 3])
        scores = node("Add", [node("MatMul", [q, k], n + ".qk"), bias], n + ".scores")
        probs = node("Softmax", [scores], n + ".probs", axis=-1)
        context = node("Reshape", [node("Transpose", [node("MatMul", [probs, v], n + ".ctx4")],
                                        n + ".ctxt", perm=[0, 2, 1, 3]), merge_heads], n + ".ctx")
        attn = linear(context, w[p + "attention.output.dense.weight"].T,
                      w[p + "attention.output.dense.bias"], n + ".o")
        h = layer_norm(node("Add", [attn, h], n + ".res1"), p + "attention.output.LayerNorm",
                       n + ".ln1")
        inner = node("Gelu", [linear(h, w[p + "intermediate.dense.weight"].T,
                                     w[p + "intermediate.dense.bias"], n + ".i")],
                     n + ".gelu", domain="com.microsoft")
        out = linear(inner, w[p + "output.dense.weight"].T, w[p + "output.dense.bias"], n + ".f")
        h = layer_norm(node("Add", [out, h], n + ".res2"), p + "output.LayerNorm", n + ".ln2")
    nodes.append(helper.make_node("Identity", [h], ["hidden"], name="hidden"))
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "length"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.FLOAT, ["batch", "length"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "length", dim])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET),
                                                    helper.make_opsetid("com.microsoft", 1)],
                              producer_name="ipt-companion bot.rasa_ext.nlu.minilm_onnx")
    model.ir_version = 8  # what onnxruntime 1.18 reads
    onnx.checker.check_model(model)
    return model


def variant(quantize: bool = True, reduce_range: bool = True) -> str:
    return "int8r" if quantize and reduce_range else "int8" if quantize else "fp32"


def graph_path(folder: Path, quantize: bool = True, reduce_range: bool = True) -> Path:
    """Where the graph for these weights, this builder and this variant is kept."""
    digest = hashlib.sha256()
    digest.update(BUILDER_VERSION.encode())
    with (folder / "model.safetensors").open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    name = f"minilm-l6-{variant(quantize, reduce_range)}-{digest.hexdigest()[:16]}.onnx"
    return Path(os.environ.get("IPT_ENCODER_DIR") or CACHE_DIR) / name


def ensure_graph(folder: Path | None = None, quantize: bool = True,
                 reduce_range: bool = True) -> Path:
    """The graph's file, built first if it is not there yet (a few seconds, once)."""
    folder = folder or minilm.model_dir()
    path = graph_path(folder, quantize, reduce_range)
    if path.exists():
        return path
    model = build(folder, quantize, reduce_range)
    path.parent.mkdir(parents=True, exist_ok=True)
    # written aside and renamed: a process starting meanwhile never reads half a file
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".tmp", delete=False) as f:
        f.write(model.SerializeToString())
    os.replace(f.name, path)
    return path


class OnnxMiniLM(minilm.MiniLM):
    """MiniLM's interface (tokenizer, forward, pool, encode) with the graph run by onnxruntime."""

    def __init__(self, folder: Path | None = None, quantize: bool = True,
                 reduce_range: bool = True, threads: int = 1) -> None:
        import onnxruntime as ort

        folder = folder or minilm.model_dir()
        config = json.loads((folder / "config.json").read_text())
        self.dim = int(config["hidden_size"])
        self.tokenizer = minilm.WordPiece(folder / "vocab.txt")
        self.variant = variant(quantize, reduce_range)
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # One thread: the two cores are shared with Rasa's event loop and the other servers,
        # and a message's 20-40 word pieces are too little work to split.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.log_severity_level = 3
        self.session = ort.InferenceSession(
            str(ensure_graph(folder, quantize, reduce_range)), options,
            providers=["CPUExecutionProvider"])

    def forward(self, batch: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        """Hidden states (batch, length, dim) and the mask (batch, length) for id lists."""
        batch = [[self.tokenizer.cls] + ids[: minilm.MAX_TOKENS - 2] + [self.tokenizer.sep]
                 for ids in batch]
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        [hidden] = self.session.run(["hidden"], {"input_ids": ids, "attention_mask": mask})
        return hidden, mask


@lru_cache(maxsize=4)
def shared(quantize: bool = True, reduce_range: bool = True) -> OnnxMiniLM:
    return OnnxMiniLM(quantize=quantize, reduce_range=reduce_range)


def main(argv: list[str] | None = None) -> int:
    """Build the graph ahead of time (`make setup`), so no process builds it on first use."""
    if not available():
        print("onnxruntime is not installed: the NumPy encoder will be used", file=sys.stderr)
        return 0
    # the graph the configured encoder (IPT_ENCODER, default onnx: float weights) runs
    path = ensure_graph(quantize=minilm.requested() == "onnx-int8")
    print(f"sentence encoder graph: {path} ({path.stat().st_size / 2**20:.0f} MiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
