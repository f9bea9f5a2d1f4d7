# Everything runs against the development instance under .dev/ (see dev/setup.sh).
SHELL := /bin/bash
.DEFAULT_GOAL := help
NETBOX := dev/netbox
# Tests use Redis databases of their own, so a running demo's worker never picks up a test's jobs.
PYTEST := source dev/env.sh && REDIS_TASKS_DB=6 REDIS_CACHING_DB=7 .venv/bin/python -m pytest
# make test runs the suite in parallel processes (pytest-xdist), each with a test database and Redis databases of its
# own (dev/configuration.py). Most tests wait on the simulator's rate limit, not on a core: more workers than cores.
# At most 5: two Redis databases each from 6 on, and Redis has 16.
TEST_WORKERS ?= 3

.PHONY: help setup test test-dist dist soak lint demo bench clean

help:
	@echo "make setup  - build or update the development environment (.venv, databases, NetBox instance)"
	@echo "make test   - setup as needed, then the test suite, ruff and a missing-migration check"
	@echo "make dist   - build the sdist and wheel into dist/ and check them with twine"
	@echo "make test-dist - install the built wheel with NetBox into a new virtualenv, migrate, serve, sync"
	@echo "make demo   - NetBox with the plugin at http://127.0.0.1:8000 and its RQ worker, until Ctrl-C"
	@echo "make soak   - the reliability tests with many more randomized examples, crash trials and retry waits"
	@echo "make bench  - sync simulator organizations of growing size and print API calls, queries, writes, time"
	@echo "make lint   - ruff"
	@echo "make clean  - drop the development databases and git-ignored state"

setup:
	@dev/setup.sh

test: setup
	@.venv/bin/ruff check .
	@$(NETBOX) makemigrations netbox_meraki --check --dry-run
	@$(PYTEST) -n $(TEST_WORKERS) --durations=20 $(PYTEST_ARGS)

dist: setup
	@rm -rf dist
	@.venv/bin/python -m build --quiet --outdir dist . >/dev/null
	@.venv/bin/twine check --strict dist/*
	@ls dist

# The wheel as users install it (tests/dist): NetBox from the package index beside it, nothing of this checkout.
test-dist: dist
	@export NETBOX_MERAKI_WHEEL="$$(ls $(CURDIR)/dist/*.whl)" && $(PYTEST) tests/dist $(PYTEST_ARGS)

# The reliability suite at length: NETBOX_MERAKI_SOAK=1 raises Hypothesis examples and crash trials (see
# tests/reliability/conftest.py); NETBOX_MERAKI_SEED=<n> replays a randomized run.
soak: setup
	@export NETBOX_MERAKI_SOAK=1 && $(PYTEST) tests/reliability $(PYTEST_ARGS)

lint:
	@.venv/bin/ruff check .

demo: setup
	@dev/demo.sh

bench: setup
	@dev/bench.sh

clean:
	@dev/clean.sh
