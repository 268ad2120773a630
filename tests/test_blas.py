"""OpenBLAS kernel choice (bot/launch/blas.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bot.launch import blas


def test_the_avx2_kernels_are_chosen_only_where_the_cpu_has_avx2_and_fma():
    env: dict[str, str] = {}
    assert blas.choose_kernels(env, frozenset({"sse3", "avx2", "fma"})) == "Haswell"
    assert env == {"OPENBLAS_CORETYPE": "Haswell"}
    env = {}
    assert blas.choose_kernels(env, frozenset({"sse3", "avx"})) is None
    assert env == {}


def test_a_choice_already_made_is_kept():
    env = {"OPENBLAS_CORETYPE": "Zen"}
    assert blas.choose_kernels(env, frozenset({"avx2", "fma"})) == "Zen"
    assert env == {"OPENBLAS_CORETYPE": "Zen"}


def test_the_cpu_flags_are_read_from_cpuinfo(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu sse3 avx2 fma\n\nprocessor\t: 1\n")
    assert blas.cpu_flags(info) == frozenset({"fpu", "sse3", "avx2", "fma"})
    assert blas.cpu_flags(tmp_path / "missing") == frozenset()


@pytest.mark.skipif(not blas.NEEDS <= blas.cpu_flags(), reason="this CPU has no AVX2 + FMA")
def test_numpy_loaded_afterwards_uses_the_chosen_kernels():
    code = ("import os; os.environ.pop('OPENBLAS_CORETYPE', None)\n"
            "from bot.launch.blas import choose_kernels; choose_kernels()\n"
            "import numpy, threadpoolctl\n"
            "print([i['architecture'] for i in threadpoolctl.threadpool_info()"
            " if i['internal_api'] == 'openblas'][0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "Haswell"
