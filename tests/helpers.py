"""Helpers for the test suite: free ports, processes on loopback, waiting for health."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
MODEL = REPO / "models" / "ipt.tar.gz"
# The internet-facing processes' own environment (Python 3.11, requirements-edge.txt), which
# `make setup` creates and the launcher uses; the suite starts the web server with it too.
EDGE_VENV_PYTHON = REPO / ".venv-edge" / "bin" / "python"
EDGE_PYTHON = str(EDGE_VENV_PYTHON) if EDGE_VENV_PYTHON.exists() else sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 90.0, proc: subprocess.Popen | None = None) -> None:
    """Wait until ``url`` answers 200, or fail with the process's exit code."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def start(cmd: list[str], log: Path, env: dict | None = None) -> subprocess.Popen:
    """Start ``cmd`` from the repo root, its output in ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env or {})}
    return subprocess.Popen(
        cmd, cwd=REPO, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=full_env,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def endpoints_yml(action_url: str, tracker_store: bool = False) -> str:
    """An endpoints.yml for test servers: the action server with the shared-secret header
    (expanded by Rasa from IPT_ACTION_SECRET, as in the real endpoints.yml) and optionally
    our tracker store on IPT_DATABASE_URL."""
    text = (
        f'action_endpoint:\n  url: "{action_url}"\n'
        "  headers:\n    X-IPT-Action-Secret: ${IPT_ACTION_SECRET}\n"
    )
    if tracker_store:
        text += "tracker_store:\n  type: bot.rasa_ext.tracker_store.IPTTrackerStore\n"
    return text


def bot_texts(replies: list[dict]) -> list[str]:
    return [r.get("text", "") for r in replies if r.get("text")]


def next_clock_change(zone, after, forward: bool = True):
    """The first instant (UTC) after ``after`` at which ``zone`` (a ZoneInfo) moves its clocks
    forward (``forward``) or back."""
    from datetime import timedelta

    hour = after.replace(minute=0, second=0, microsecond=0)
    offset = hour.astimezone(zone).utcoffset()
    for _ in range(24 * 400):
        hour += timedelta(hours=1)
        new = hour.astimezone(zone).utcoffset()
        if new != offset and (new > offset) == forward:
            return hour
        offset = new
    raise AssertionError(f"{zone} changes its clocks no way within 400 days of {after}")


# Reading level: the Flesch-Kincaid grade (Kincaid et al., 1975), with a vowel-group syllable
# counter (textstat is not a dependency; its counter gives grades within about half a grade
# of this one on our texts).
_VOWEL_GROUP = re.compile(r"[aeiouy]+")
_SENTENCE_END = re.compile(r"[.!?]+(?=\s|$)|\n\s*\n")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def count_syllables(word: str) -> int:
    """Syllables in an English word, by vowel groups with the usual silent-e corrections."""
    w = re.sub(r"[^a-z]", "", word.lower())
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:[^laeiouy]es|[^laeiouy]ed|[^laeiouy]e)$", lambda m: m.group(0)[0], w)
    w = re.sub(r"^y", "", w)
    return max(1, len(_VOWEL_GROUP.findall(w)))


def flesch_kincaid_grade(text: str) -> float:
    """US school grade needed to read ``text``: 0.39 words/sentence + 11.8 syllables/word - 15.59."""
    text = re.sub(r"\{[^}]*\}", "", text)  # template slots such as {emergency}
    words = _WORD.findall(text)
    if not words:
        return 0.0
    sentences = max(1, len([s for s in _SENTENCE_END.split(text) if s and _WORD.search(s)]))
    syllables = sum(count_syllables(w) for w in words)
    return 0.39 * len(words) / sentences + 11.8 * syllables / len(words) - 15.59
