# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint fix bench bench-smoke clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found; set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python setup.py
	$(BIN)/python -m pip install --quiet -e '.[test,postgres]'
	@touch $(STAMP)

## demo: a throwaway gateway with a sample property on http://127.0.0.1:8080
demo: $(STAMP)
	$(BIN)/immoshare demo --port $${PORT:-8080}

## test: every test, against the real server, litmus, Chromium, PostgreSQL, Redis;
## one pytest-xdist worker per core (at most TEST_WORKERS_MAX), the 25 slowest listed last
TEST_WORKERS ?= auto
TEST_WORKERS_MAX ?= 4
test: $(STAMP)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --maxprocesses=$(TEST_WORKERS_MAX) \
		--dist loadgroup --durations=25 --durations-min=0 $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check gateway dav_provider webui tests bench
	$(BIN)/ruff format --check gateway dav_provider webui tests bench

fix: $(STAMP)
	$(BIN)/ruff check --fix gateway dav_provider webui tests bench
	$(BIN)/ruff format gateway dav_provider webui tests bench

## bench: immoshare beside copyparty, stock WsgiDAV and nginx (5 rounds, about 30 minutes)
bench: $(STAMP)
	$(BIN)/python -m bench

bench-smoke: $(STAMP)
	$(BIN)/python -m bench --smoke

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
