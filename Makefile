# caltrace: `make run` seeds the demo lab into the data directory and starts the virtual lab on its fixed ports
# (CALTRACE_LAB_PORT, default 4100); `make test` runs the whole suite.
# Both set up everything first (Debian packages the tests need, .venv, locked dependencies).
.PHONY: run test setup system lint bench lock clean
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.caltrace-installed

run: setup
	$(BIN)/caltrace db upgrade
	$(BIN)/caltrace db seed-demo
	$(BIN)/caltrace simulate --stream

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
