# The one task runner. `make dev` and `make test` bootstrap .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint format bench bench-quick clean openapi lock

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

dev: $(STAMP)
	$(BIN)/mc2cm dev

# Two test processes (pytest-xdist; `TEST_PROCESSES=1` for one, `auto` for a core each), each
# with its own databases. A new order each run (pytest-randomly): `make test
# ARGS=--randomly-seed=N` replays the order of the seed a run printed in its header.
TEST_PROCESSES ?= 2
test: $(STAMP)
	$(BIN)/pytest -n $(TEST_PROCESSES) $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .mc2cm .pytest_cache .mypy_cache .ruff_cache .hypothesis .import_linter_cache

# Regenerate the committed OpenAPI documents after changing an API (a test checks for drift).
openapi: $(STAMP)
	$(BIN)/python -m shared.openapi services.profiles_api.app:create_app docs/openapi/profiles.json
	$(BIN)/python -m shared.openapi services.dialogue_api.app:create_app docs/openapi/dialogue.json

# Benchmarks: one table of figures, each against a raw baseline measured in the same run
# (bench/__main__.py; about 15 minutes, `bench-quick` about 2). `ARGS="--only P1,P3"`,
# `ARGS="--markdown bench.md"`. `python -m bench.aggregate_latency` measures write-to-aggregate
# latency on its own.
bench: $(STAMP)
	$(BIN)/python -m bench $(ARGS)

bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick $(ARGS)

# The image's dependencies (`project.dependencies`, no extras, and the build backend), pinned
# with hashes for Python 3.11 on Linux x86_64 and aarch64; the Dockerfile installs them with
# --require-hashes. Pins already in the file are kept: `make lock ARGS=--upgrade` moves them to
# the newest releases (tests/deploy/test_lock.py checks the file covers pyproject.toml).
lock: $(STAMP)
	$(BIN)/uv pip compile pyproject.toml deploy/build-requirements.in --universal \
		--python-version 3.11 --generate-hashes --custom-compile-command "make lock" --quiet \
		$(ARGS) -o deploy/requirements.lock
