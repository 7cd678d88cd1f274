# The one task runner. `make dev` and `make test` bootstrap .venv themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: dev test lint format bench clean openapi

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

dev: $(STAMP)
	$(BIN)/mc2cm dev

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) .mc2cm .pytest_cache .mypy_cache .ruff_cache .hypothesis

# Regenerate the committed OpenAPI documents after changing an API (a test checks for drift).
openapi: $(STAMP)
	$(BIN)/python -m shared.openapi services.profiles_api.app:create_app docs/openapi/profiles.json
	$(BIN)/python -m shared.openapi services.dialogue_api.app:create_app docs/openapi/dialogue.json

# Benchmarks print figures against a raw baseline measured in the same run (see bench/).
bench: $(STAMP)
	$(BIN)/python -m bench.import_vs_copy --rows 100000
	$(BIN)/python -m bench.aggregate_latency --writes 20
