"""Pick OpenBLAS's AVX2 kernels where the CPU has them and nobody chose otherwise.

NumPy 1.23's OpenBLAS (0.3.20) chooses its matrix kernels by the CPU's model number, and
does not know newer server CPUs: on this project's machines (Xeon with AVX-512) it falls
back to its Prescott kernels, from 2004, which use SSE3 only. The sentence encoder
(bot/rasa_ext/nlu/minilm.py) is a few dozen small matrix products per message, and with the
Haswell (AVX2 + FMA) kernels it takes about a third less time; the AVX-512 kernels were
no faster for these sizes (docs/benchmarks.md). OpenBLAS reads ``OPENBLAS_CORETYPE``
once, when NumPy is first imported, so :func:`choose_kernels` must run before that.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping
from pathlib import Path

KERNELS = "Haswell"
NEEDS = frozenset({"avx2", "fma"})


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The first CPU's feature flags (empty where /proc/cpuinfo does not exist)."""
    try:
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("flags"):
                return frozenset(line.partition(":")[2].split())
    except OSError:
        pass
    return frozenset()


def choose_kernels(environ: MutableMapping[str, str] = os.environ,
                   flags: frozenset[str] | None = None) -> str | None:
    """Set OPENBLAS_CORETYPE to the AVX2 kernels if unset and the CPU has AVX2 and FMA."""
    if environ.get("OPENBLAS_CORETYPE"):
        return environ["OPENBLAS_CORETYPE"]
    if NEEDS <= (cpu_flags() if flags is None else flags):
        environ["OPENBLAS_CORETYPE"] = KERNELS
        return KERNELS
    return None
