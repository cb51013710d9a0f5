# Quick start: `make run` and `make test`. Everything else bootstraps itself into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST := $(PY) -m pytest

.PHONY: run test lint format migrate seed clean faults

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Lingpao needs Python 3.11 or newer")'
	@test -x $(PY) || $(PYTHON) -m venv $(VENV) || { echo "could not create $(VENV): install the venv module (Debian: apt-get install python3-venv)"; exit 1; }
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

migrate: $(STAMP)
	$(PY) -m server migrate

seed: migrate
	$(PY) -m server seed-demo

# The API on :8000 beside the mock gateway on :8100; Ctrl-C or SIGTERM stops both.
run: seed
	@bash scripts/run-dev.sh "$(PY)"

# The integration and fault suites run in a process of their own: tortoise keeps
# per-dialect state that must not carry over from the SQLite suites into PostgreSQL.
test: $(STAMP)
	$(PYTEST) --ignore=tests/integration --ignore=tests/faults tests
	$(PYTEST) tests/integration tests/faults

# The fault suite alone (real PostgreSQL and Redis; see tests/faults/conftest.py).
faults: $(STAMP)
	$(PYTEST) tests/faults

# Style, formatting and types; CI runs it before the tests.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
