# Two commands do everything on a fresh machine:
#   make demo   create the environment and plan the embedded demo commune
#   make test   create the environment and run the test suite
PYTHON ?= python3
VENV ?= .venv
BIN = $(VENV)/bin
STAMP = $(VENV)/.installed-stamp

.PHONY: demo test bench env clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

env: $(STAMP)

demo: $(STAMP)
	$(BIN)/pollplan demo --out out/demo-plan
	$(BIN)/pollplan check data/demo out/demo-plan

test: $(STAMP)
	@bash .ci/chromium.sh >/dev/null 2>&1 || echo "Chromium could not be installed: the dashboard browser tests will be skipped"
	@url=$$(bash .ci/postgres.sh 2>/dev/null) || url=""; \
	if [ -z "$$url" ]; then echo "PostgreSQL could not be started: the PostgreSQL store tests will be skipped"; fi; \
	POLLPLAN_TEST_PG_URL="$$url" $(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/pip install --quiet -e ".[dev,bench]"
	$(BIN)/python -m benchmarks.run
	$(BIN)/python -m benchmarks.engine --update benchmarks/RESULTS.md
	@bash .ci/chromium.sh >/dev/null 2>&1 || true
	$(BIN)/python -m benchmarks.dashboard --update benchmarks/RESULTS.md

clean:
	rm -rf $(VENV) out .pytest_cache
