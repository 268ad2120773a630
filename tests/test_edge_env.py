"""The internet-facing processes run in their own environment: Python 3.11, current libraries,
no Rasa (requirements-edge.txt, docs/security.md).

- the edge lock is exact and hash-checked, and no pin in it matches a known advisory
  (security/advisories.txt; the check does find today's Rasa-side aiohttp 3.9.5);
- the web server and the Telegram service import without Rasa (or anything of the Rasa side);
- .venv-edge, as `make setup` builds it, is Python 3.11 with exactly the lock installed;
- the launcher starts the web server and Telegram with that interpreter, the rest with Rasa's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from bot.launch import run
from tests.helpers import EDGE_VENV_PYTHON, REPO

EDGE_LOCK = REPO / "requirements-edge.txt"
_spec = importlib.util.spec_from_file_location("check_advisories",
                                               REPO / "scripts" / "check_advisories.py")
advisories = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(advisories)

# Modules the edge processes run; none of the Rasa side's packages may be imported by them.
# The Telegram service keeps its update journal in the store (SQLAlchemy, the same version as
# the Rasa side's), so the store's packages are allowed there; the web server needs none.
EDGE_MODULES = ["bot.services.web.server", "bot.services.telegram.__main__",
                "bot.services.telegram.app", "bot.services.telegram.webhook",
                "bot.clinic.edge_help", "bot.clinic.config", "bot.limits",
                "bot.services.worker.__main__", "bot.services.worker.loop"]
RASA_SIDE = ["rasa", "rasa_sdk", "sanic", "tensorflow", "spacy", "numpy", "socketio"]


def test_the_edge_lock_is_exact_and_hash_checked():
    text = EDGE_LOCK.read_text()
    requirements = re.findall(r"^([A-Za-z0-9][\w.-]*)(\S*) \\\n((?:\s+--hash=\S+ ?\\?\n)+)",
                              text, re.MULTILINE)
    names = {name.lower() for name, _, _ in requirements}
    assert len(requirements) == len(re.findall(r"^[A-Za-z0-9]", text, re.MULTILINE))
    assert all(spec.startswith("==") for _, spec, _ in requirements)
    assert "--find-links" not in text  # nothing from this machine's local wheels
    assert not names & {"rasa", "rasa-sdk", "sanic", "tensorflow", "spacy"}
    # every direct requirement of requirements-edge.in is locked at the version asked for
    wanted = re.findall(r"^([A-Za-z0-9][\w.-]*)==(\S+)", (REPO / "requirements-edge.in")
                        .read_text(), re.MULTILINE)
    pins = advisories.pins(EDGE_LOCK)
    assert wanted and all(pins[advisories.canonical(n)] == v for n, v in wanted)


def test_the_edge_lock_has_a_fixed_aiohttp_and_no_pin_with_a_known_advisory():
    from packaging.version import Version

    pins = advisories.pins(EDGE_LOCK)
    assert Version(pins["aiohttp"]) >= Version("3.10.11")  # CVE-2024-52303, CVE-2024-52304
    assert advisories.findings(EDGE_LOCK) == []


def test_the_advisory_check_finds_the_old_aiohttp(tmp_path):
    """The check works: Rasa's aiohttp 3.9.5, which the web server ran on, is flagged."""
    lock = tmp_path / "old.txt"
    lock.write_text("aiohttp==3.9.5 \\\n    --hash=sha256:00\nh11==0.14.0\nidna==3.20\n")
    found = "\n".join(advisories.findings(lock))
    assert "aiohttp==3.9.5 CVE-2024-52303" in found and "h11==0.14.0 CVE-2025-43859" in found
    assert "idna" not in found
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "check_advisories.py"),
                           str(lock)], capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "CVE-2024-52303" in done.stdout


# Run in a fresh interpreter: Rasa's packages cannot be found (a finder in front of all
# others refuses them), then the edge modules are imported and every module loaded listed.
_BLOCK_AND_IMPORT = """
import importlib, json, sys
BLOCKED = set(json.loads(sys.argv[1]))
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ImportError(f"the edge must not import {name}")
sys.meta_path.insert(0, Block())
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)
from bot.services.web.server import Settings, create_app
create_app(Settings(rasa_url="http://127.0.0.1:9", origins=frozenset(), secret=b"s" * 32))
print(json.dumps(sorted(sys.modules)))
"""


def _import_edge(python: str) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    done = subprocess.run([python, "-c", _BLOCK_AND_IMPORT, json.dumps(RASA_SIDE),
                           json.dumps(EDGE_MODULES)], cwd=REPO, env=env, capture_output=True,
                          text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


def test_the_edge_modules_import_without_rasa():
    loaded = _import_edge(sys.executable)
    assert not [m for m in loaded if m.split(".")[0] in RASA_SIDE]
    assert "bot.services.web.server" in loaded and "telegram" in loaded


@pytest.fixture(scope="module")
def edge_python() -> str:
    if not EDGE_VENV_PYTHON.exists():
        if os.environ.get("CI"):
            pytest.fail(".venv-edge is missing: `make test` creates it (make setup)")
        pytest.skip(".venv-edge is missing: `make setup` creates it")
    return str(EDGE_VENV_PYTHON)


def test_the_edge_environment_is_python_311_with_exactly_the_edge_lock(edge_python):
    probe = subprocess.run(
        [edge_python, "-c", ("import sys, json, importlib.metadata as m; print(json.dumps("
         "[list(sys.version_info[:2]), {d.metadata['Name']: d.version for d in m.distributions()}"
         "]))")], capture_output=True, text=True, check=True, timeout=60)
    version, installed = json.loads(probe.stdout)
    assert version == [3, 11]
    installed = {advisories.canonical(k): v for k, v in installed.items()}
    installed.pop("pip", None)
    assert installed == advisories.pins(EDGE_LOCK)


def test_the_edge_environment_runs_the_edge_without_rasa(edge_python):
    loaded = _import_edge(edge_python)
    assert not [m for m in loaded if m.split(".")[0] in RASA_SIDE]
    done = subprocess.run([edge_python, "-c", "import rasa"], capture_output=True, text=True,
                          check=False, cwd="/")
    assert done.returncode != 0 and "No module named 'rasa'" in done.stderr


def test_the_launcher_starts_web_telegram_and_the_worker_with_the_edge_python(tmp_path):
    edge = str(tmp_path / "edge-python")
    env = {run.EDGE_ENV: edge, "TELEGRAM_BOT_TOKEN": "1:x", "IPT_WEB_PORT": "1"}
    services = {s.name: s for s in run.plan("models/ipt.tar.gz", env)}
    assert services["web"].cmd[:3] == [edge, "-m", "bot.services.web"]
    assert services["telegram"].cmd[:3] == [edge, "-m", "bot.services.telegram"]
    assert services["worker"].cmd[:3] == [edge, "-m", "bot.services.worker"]
    for name in ("actions", "rasa"):  # the Rasa side
        assert services[name].cmd[0] == run.PY
    # a named interpreter that is not there: refused, before anything starts
    assert run.check_edge(env, list(services.values())) is False
    # without a name, .venv-edge's when it exists
    assert run.edge_python({}) == (str(run.EDGE_VENV_PY) if run.EDGE_VENV_PY.exists()
                                   else run.PY)


def test_make_run_names_the_edge_interpreter():
    done = subprocess.run(["make", "-n", "-B", "run", "run-scaled"], cwd=REPO,
                          capture_output=True, text=True, check=True, timeout=60)
    launches = [line for line in done.stdout.splitlines() if " -m bot.launch.run " in line
                or " -m bot.launch.scaled " in line]
    assert len(launches) == 2
    assert all(f"{run.EDGE_ENV}={REPO}/.venv-edge/bin/python " in line for line in launches)
