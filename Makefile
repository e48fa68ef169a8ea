# 小安 — two commands do everything: `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
RASA := $(BIN)/rasa
STAMP := $(VENV)/.installed
PYTHON310 := $(shell scripts/find_python310.sh)
export PYTHONHASHSEED := 0
export TF_CPP_MIN_LOG_LEVEL := 2
export SQLALCHEMY_SILENCE_UBER_WARNING := 1

.PHONY: install train run shell interactive test test-nlu test-stories validate pytest lint clean

install: $(STAMP)

$(STAMP): requirements.txt
	@test -n "$(PYTHON310)" || { echo "Python 3.10 not found (PATH or pyenv). Rasa 3.6 needs Python < 3.11." >&2; exit 1; }
	@test -x $(BIN)/python || $(PYTHON310) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==24.2"
	$(BIN)/pip install --quiet -r requirements.txt
	@mkdir -p var results models
	@touch $(STAMP)

# Rasa's fingerprinting decides: nothing changed -> the existing model is kept.
train: install
	$(RASA) train --quiet --augmentation 0

run: train
	@scripts/run.sh

shell: train
	$(RASA) shell --endpoints endpoints.yml

interactive: train
	$(RASA) interactive --endpoints endpoints.yml

validate: install
	$(RASA) data validate --fail-on-warnings

pytest: install
	$(BIN)/pytest -q tests

test-nlu: train
	$(RASA) test nlu --nlu tests/nlu --out results/nlu
	$(BIN)/python scripts/check_nlu.py results/nlu --intent-f1 0.93 --entity-f1 0.90

test-stories: train
	@scripts/test_stories.sh

test: install
	$(MAKE) validate
	$(MAKE) train
	$(MAKE) pytest
	$(MAKE) test-nlu
	$(MAKE) test-stories

lint: install
	$(BIN)/ruff check actions xiaoan tests scripts

clean:
	rm -rf results var/*.db
