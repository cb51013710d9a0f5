# Quick start: `make run` and `make test`. Everything else bootstraps itself into .venv.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST := $(PY) -m pytest

.PHONY: run test lint format migrate seed clean faults bench fuzz cluster

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

# The API (PORT, 8000) beside the mock gateway (MOCK_GATEWAY_PORT, 8100), which the API then
# talks to; Ctrl-C or SIGTERM stops both. scripts/run-dev.sh prints the addresses in use.
run: seed
	@bash scripts/run-dev.sh "$(PY)"

# Two instances of two workers behind HAProxy (deploy/haproxy.cfg) on PORT (8000), the mock
# gateway on MOCK_GATEWAY_PORT (8100), over PostgreSQL and Redis; Ctrl-C stops everything.
# HAProxy is installed from Debian's packages when missing. See docs/deploy.md.
CLUSTER_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/lingpao_cluster
CLUSTER_REDIS_URL ?= redis://127.0.0.1:6379/13
cluster: $(STAMP)
	@command -v haproxy >/dev/null || apt-get install -y -q haproxy || { apt-get update -q && apt-get install -y -q haproxy; }
	@DATABASE_URL=$(CLUSTER_DATABASE_URL) REDIS_URL=$(CLUSTER_REDIS_URL) bash scripts/run-cluster.sh "$(PY)"

# The integration, fault and scale-out suites run in a process of their own: tortoise keeps
# per-dialect state that must not carry over from the SQLite suites into PostgreSQL. The
# scale-out suite (tests/cluster: HAProxy, Redis Sentinel, Redis Cluster) needs haproxy;
# without it those tests are skipped and say so.
# The ops console's browser tests need Debian's chromium; without it they are skipped, and
# said so here as well as in pytest's summary.
test: $(STAMP)
	@command -v chromium >/dev/null || echo "NOTE: chromium not installed: the ops console's browser tests (tests/e2e/test_ops_console.py) will be SKIPPED; apt-get install chromium"
	@command -v haproxy >/dev/null || echo "NOTE: haproxy not installed: the scale-out tests (tests/cluster) will be SKIPPED; apt-get install haproxy"
	$(PYTEST) --ignore=tests/integration --ignore=tests/faults --ignore=tests/cluster tests
	$(PYTEST) tests/integration tests/faults tests/cluster

# Every scenario against Lingpao (one worker, then two) and a bare Sanic app, in one run;
# writes bench/results/latest.{json,md}. Needs PostgreSQL and Redis (BENCH_DATABASE_URL,
# BENCH_REDIS_URL) and wrk, which it installs from Debian's packages when missing.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/test
BENCH_REDIS_URL ?= redis://127.0.0.1:6379/14
bench: $(STAMP)
	@command -v wrk >/dev/null || apt-get install -y -q wrk
	BENCH_DATABASE_URL=$(BENCH_DATABASE_URL) BENCH_REDIS_URL=$(BENCH_REDIS_URL) $(PY) -m bench.run

# Schemathesis at length against the served OpenAPI document (make test runs 10 examples
# per operation; this runs CONTRACT_EXAMPLES). Needs PostgreSQL and Redis, as CI has them.
CONTRACT_EXAMPLES ?= 200
fuzz: $(STAMP)
	TEST_DATABASE_URL=$${TEST_DATABASE_URL:-$(BENCH_DATABASE_URL)} TEST_REDIS_URL=$${TEST_REDIS_URL:-redis://127.0.0.1:6379/15} \
	CONTRACT_EXAMPLES=$(CONTRACT_EXAMPLES) $(PYTEST) tests/integration/test_contract_fuzz.py

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
