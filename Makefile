# caltrace: `make run` starts the service in demo mode (`caltrace serve --demo`: SQLite registry with the demo lab in
# the data directory, the virtual lab attached, a login for every role printed) on http://$(HOST):$(PORT)/;
# `make test` runs the whole suite.
# Both set up everything first (Debian packages the tests need, .venv, locked dependencies).
.PHONY: run test setup system lint bench lock clean
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.caltrace-installed
HOST ?= 127.0.0.1
PORT ?= 8000

run: setup
	$(BIN)/caltrace serve --demo --host $(HOST) --port $(PORT)

test: setup system
	bash scripts/test.sh

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock scripts/bootstrap.sh
	bash scripts/bootstrap.sh
	touch $(STAMP)

system:
	bash scripts/system-packages.sh

lint: setup
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy drivers acquisition uncertainty certificates api lab simulators registry && $(BIN)/lint-imports

bench: setup
	$(BIN)/python benchmarks/acquisition_rate.py
	$(BIN)/python benchmarks/modbus_rate.py
	$(BIN)/python benchmarks/uncertainty.py
	$(BIN)/python benchmarks/store.py
	$(BIN)/python benchmarks/registry_import.py
	$(BIN)/python benchmarks/certificates.py

# Regenerate the lock file after changing dependencies in pyproject.toml.
lock: setup
	$(BIN)/uv pip compile --quiet --python-version 3.11 --extra dev pyproject.toml -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
