"""Which sentence encoder runs, and the one shared per process.

Kept apart from the two encoders (``minilm``: NumPy, ``minilm_onnx``: onnxruntime) so that
each of them imports only what it needs and neither imports the other back.
"""

from __future__ import annotations

from functools import lru_cache

from bot.rasa_ext.nlu import minilm, minilm_onnx


def backend(environ: dict[str, str] | None = None) -> str:
    """Which encoder runs: ``IPT_ENCODER`` (onnx, numpy or onnx-int8), else onnx when
    onnxruntime is installed, else numpy. All give the same token states (onnx to within
    float rounding; onnx-int8, quantised weights, within the tolerance in docs/benchmarks.md)."""
    choice = minilm.requested(environ)
    if choice.startswith("onnx") and not minilm_onnx.available():
        return "numpy"
    return choice


@lru_cache(maxsize=1)
def shared() -> minilm.MiniLM:
    """One encoder per process (about 90 MB of weights): onnxruntime's run of the graph
    (minilm_onnx, about a third of NumPy's processor time per message) when it is installed,
    else the NumPy forward pass (minilm)."""
    which = backend()
    if which.startswith("onnx"):
        return minilm_onnx.shared(quantize=which == "onnx-int8")
    return minilm.MiniLM()
