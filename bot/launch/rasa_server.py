"""Rasa's own command line (`rasa run ...`) without JAX, with a plain-loop graph runner.

usage: python -m bot.launch.rasa_server run -m models/ipt.tar.gz [any `rasa run` option]

TensorFlow 2.12 imports JAX (a declared dependency) for a TFLite helper Rasa never calls;
that costs about 100 MiB resident per Rasa server and most of a second at start-up
(docs/benchmarks.md: memory). TensorFlow falls back cleanly when the import fails, so this
launcher makes it fail, then hands over to Rasa's ``main`` with the same arguments.
It also makes Rasa run the model's graph without dask (bot/rasa_ext/patches/graph_runner.py), check the
action server's answers with a validator built once (bot/rasa_ext/patches/action_validation.py), and picks
OpenBLAS's AVX2 kernels where the CPU has them (bot/launch/blas.py).

The HTTP API's token never travels on the command line, where any local user can read it
(``ps``, /proc/<pid>/cmdline): with ``--enable-api`` this launcher adds ``--auth-token`` to
Rasa's arguments inside the process, from ``RASA_TOKEN`` (else var/secrets/rasa_token).
"""

from __future__ import annotations

import os
import sys


def main() -> None:
    from bot.launch.blas import choose_kernels

    choose_kernels()  # before NumPy is imported (bot/launch/blas.py)
    # A None entry makes `import jax` raise ImportError, which TensorFlow handles.
    sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
    from rasa.__main__ import main as rasa_main

    from bot.rasa_ext import tracker_store
    from bot.rasa_ext.patches import action_validation, graph_runner, nlu_thread

    graph_runner.install()
    tracker_store.install()  # tell the user when their conversation can't be saved
    action_validation.install()
    if os.environ.get("IPT_NLU_THREAD", "1") != "0":
        nlu_thread.install()

    sys.argv[:] = with_token(sys.argv)
    sys.argv[0] = "rasa"
    rasa_main()


def with_token(argv: list[str]) -> list[str]:
    """``argv`` with the API token added when the API is on (argv in /proc stays as started)."""
    if "--enable-api" not in argv or any(a.startswith("--auth-token") for a in argv):
        return list(argv)
    from bot import settings

    # one argument, "--auth-token=<token>": a generated token may begin with "-", which
    # argparse would take for an option of its own ("expected one argument")
    return [*argv, f"--auth-token={settings.rasa_token()}"]


if __name__ == "__main__":
    main()
