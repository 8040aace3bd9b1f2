# consoleme-assets: `make dev` (sandbox + Dagster UI) and `make test` (everything the tests need, then pytest).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed
UV_VERSION := 0.13.8
export DAGSTER_HOME ?= $(CURDIR)/.dagster_home

.PHONY: install dev test redis-server e2e-system-deps check clean

# The venv is rebuilt when the pins change. constraints.txt pins every transitive package. uv installs them
# (the same set pip resolves, in ~17 s instead of ~45 s on the 2-core machine); pip stays in the venv for
# `pip check`. --compile-bytecode as pip does: with PYTHONDONTWRITEBYTECODE set (as on CI) a venv without
# .pyc files recompiles Dagster in every process, which made the test run 50% slower.
$(INSTALLED): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -c constraints.txt -e '.[sandbox,test]'
	@touch $@

install: $(INSTALLED)

# Tests run against Debian's real redis-server; install it when missing (CI runs as root).
redis-server:
	@command -v redis-server >/dev/null || { \
	  echo "installing redis-server from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

# The end-to-end tests (consoleme_assets_tests/e2e_tests) drive the UI in Debian's Chromium and run the
# production profile against a throwaway PostgreSQL cluster: install both when missing (CI runs as root).
e2e-system-deps:
	@missing=""; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	[ -z "$$missing" ] || { \
	  echo "installing$$missing from Debian's packages"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; }

check: install
	$(BIN)/pip check
	$(BIN)/python -c "import consoleme_assets.definitions as d; import dagster_aws.s3; print('import ok:', sorted(k.to_user_string() for k in d.defs.resolve_all_asset_keys()))"

# The tests start their own redis-server and moto server on free loopback ports (one pair per xdist worker);
# the e2e tests (marker e2e; `-m 'not e2e'` skips them) also start the sandbox, PostgreSQL and `dagster dev`.
# Two pytest sessions run side by side: the e2e tests on two workers (so at most two `dagster dev` stacks run
# at once: four at once drove a 2-core machine to load 50) and the unit and integration tests on two more,
# stealing work. The e2e tests spend much of their time waiting on Dagster's daemons (a 30 s backfill loop,
# sensor ticks, a stopped daemon), which the other session fills. The e2e session's output goes to
# .artifacts/e2e-pytest.log and is printed when both are done. Prints the wall time of the whole target
# (install and checks included), pass or fail.
TEST_STARTED := $(shell date +%s)
PYTEST_WORKERS ?= 2
E2E_WORKERS ?= 2
E2E_LOG := .artifacts/e2e-pytest.log
test: install redis-server e2e-system-deps check
	@rc=0; $(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports --no-cache || rc=1; \
	if [ $$rc = 0 ]; then \
	  mkdir -p $(dir $(E2E_LOG)); \
	  $(BIN)/pytest -q -n $(E2E_WORKERS) --dist worksteal -m e2e > $(E2E_LOG) 2>&1 & e2e=$$!; \
	  trap 'kill -INT $$e2e 2>/dev/null; wait $$e2e' INT TERM; \
	  echo "unit and integration tests (the e2e tests run alongside: $(E2E_LOG))"; \
	  $(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist worksteal -m 'not e2e' || rc=$$?; \
	  echo "unit and integration tests done at $$(( $$(date +%s) - $(TEST_STARTED) )) s; waiting for the e2e tests"; \
	  wait $$e2e || rc=$$?; \
	  echo "--- e2e tests ($(E2E_LOG)) ---"; cat $(E2E_LOG); \
	fi; \
	echo "make test: $$(( $$(date +%s) - $(TEST_STARTED) )) s wall"; exit $$rc

# Sandbox (seeded moto org + Redis) in the background, then the Dagster UI on 127.0.0.1:3000. The terminal shows
# warnings, alerts and a summary line per dataset refreshed (dagster.yaml's python_log_level); every event is in
# the UI. `dagster dev` runs in $(DAGSTER_HOME), where make put this dagster.yaml (run from the repository it
# warns that the repository's copy "will not be used"), and without Dagster's notice that `dg dev` supersedes it:
# `dg` needs a dg project layout, and `dagster dev` serves this workspace as it is. (A PYTHONWARNINGS message
# must match the warning's start, literally; single quotes keep the shell off its backticks.)
DEV_WARNINGS := ignore:Function `dev_command` is superseded
dev: install
	@mkdir -p "$(DAGSTER_HOME)" && cp dagster.yaml "$(DAGSTER_HOME)/dagster.yaml"
	@rm -f .sandbox/env; \
	$(BIN)/python -m consoleme_assets.sandbox --env-file .sandbox/env & sandbox=$$!; \
	trap 'kill -TERM $$sandbox 2>/dev/null; wait $$sandbox' EXIT; \
	for _ in $$(seq 1 240); do \
	  [ -f .sandbox/env ] && break; \
	  kill -0 $$sandbox 2>/dev/null || { echo "sandbox failed to start" >&2; exit 1; }; \
	  sleep 0.25; \
	done; \
	source .sandbox/env && cd "$(DAGSTER_HOME)" && PYTHONWARNINGS='$(DEV_WARNINGS)' \
	  "$(CURDIR)/$(BIN)/dagster" dev --log-level warning -h 127.0.0.1 -p 3000 -w "$(CURDIR)/workspace.yaml"

clean:
	rm -rf $(VENV) .dagster_home .sandbox .pytest_cache
