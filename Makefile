# Two entry points (see README): `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export FLASK_APP := wsgi

.PHONY: run test test-miniprogram lint bench bench-quick install install-dev clean

# `make run` installs what production needs; `make test` adds the test and lint tools.
$(BIN)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -r requirements.txt
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed requirements-dev.txt
	$(BIN)/python -m pip install -q -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed

install-dev: $(BIN)/.installed-dev

run: install
	mkdir -p instance
	PAYMENT_SANDBOX=1 $(BIN)/flask db upgrade
	PAYMENT_SANDBOX=1 $(BIN)/flask demo seed --if-empty
	@# The gateway simulator runs beside the app and stops with it (Ctrl-C, exit or kill).
	PAYMENT_SANDBOX=1 $(BIN)/flask sandbox serve --port 5001 & pid=$$!; \
	trap 'kill $$pid 2>/dev/null' EXIT INT TERM; \
	PAYMENT_SANDBOX=1 $(BIN)/flask run --host 127.0.0.1 --port 5000

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The whole suite on SQLite; again on PostgreSQL when TEST_DATABASE_URL is set. Each run is spread over
# TEST_WORKERS processes (pytest-xdist), each on a database of its own (tests/conftest.py); tests whose
# fixtures are dear to build (the browser's demo city, the gunicorn cluster) keep to one worker (loadgroup).
# `make test TEST_WORKERS=0` runs serially.
TEST_WORKERS ?= 3
PYTEST := $(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

# Tests marked many_connections (a production-sized pool, forty threads) run alone after the rest: beside
# other workers they exceed PostgreSQL's max_connections.
test: lint
	env -u TEST_DATABASE_URL $(PYTEST) -m "not many_connections"
	env -u TEST_DATABASE_URL $(BIN)/python -m pytest -m many_connections
	@if [ -n "$$TEST_DATABASE_URL" ]; then \
		echo "== again on $${TEST_DATABASE_URL%%@*}@…"; \
		$(PYTEST) -m "not many_connections" && $(BIN)/python -m pytest -m many_connections; \
	fi
	$(MAKE) test-miniprogram

# The mini-program's journeys (miniprogram/tests) against a backend the run starts. Without node the
# target says so and skips; CI sets MINIPROGRAM_REQUIRED=1, so there a missing node is a failure.
test-miniprogram: install-dev
	@if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then \
		if [ -n "$$MINIPROGRAM_REQUIRED" ]; then echo "node and npm are required for the mini-program tests"; exit 1; fi; \
		echo "== node/npm not found: skipping the mini-program journeys (miniprogram/tests)"; \
	else \
		cd miniprogram && npm ci --no-audit --no-fund --loglevel=error && npx jest --runInBand; \
	fi

# The city at scale over HTTP (PostgreSQL, Redis, gunicorn, wrk; see README). Not part of `make test`.
bench: install-dev
	$(BIN)/python -m bench

bench-quick: install-dev
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
