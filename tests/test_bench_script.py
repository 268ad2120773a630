"""`make bench`'s own arithmetic (scripts/bench.py): the table's ratios, processor time."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from scripts import bench


def _row(name: str, n: int, rate: float, p95: float) -> dict:
    return {"row": name, "concurrency": n, "msg_per_s": rate, "p50_ms": p95 / 2,
            "p95_ms": p95, "p99_ms": p95, "messages": int(rate * 20), "errors": 0,
            "load_before": "1.00/1.00/1.00", "cpu_ms_per_msg": 12.5}


def test_ratios_are_to_rasa_init_at_the_same_level():
    text = bench.table([_row("init", 10, 20.0, 800.0), _row("fresh:onnx", 10, 60.0, 200.0),
                        _row("init", 1, 10.0, 100.0), _row("fresh:onnx", 1, 15.0, 50.0)],
                       [1, 10])
    lines = text.splitlines()
    assert lines[2].startswith("| `rasa init`")
    fresh = [line for line in lines if "| 10 | 60.0 |" in line]
    assert fresh and "3.00 (p95 0.25)" in fresh[0]
    assert any("| 1 | 15.0 | 1.50 (p95 0.50)" in line for line in lines)
    assert "every message worded anew" in text and "encoder onnx" in text


def test_tree_cpu_counts_children():
    busy = ("import time\nt=time.process_time()\n"
            "while time.process_time() - t < 0.3: pass\ntime.sleep(5)")
    child = subprocess.Popen([sys.executable, "-c", busy])
    try:
        deadline = time.monotonic() + 30
        while bench.tree_cpu(child.pid) < 0.25:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert bench.tree_cpu(os.getpid()) >= bench.tree_cpu(child.pid) >= 0.25
    finally:
        child.kill()
        child.wait()
