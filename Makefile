# Every target creates the virtual environment it needs: `make demo` and `make test` work on a
# fresh clone. PYTHON may name another interpreter (3.11 or newer).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-unit lint typecheck check bench chaos clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/campaign-billing demo

test: $(STAMP)
	$(BIN)/python -m pytest

test-unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

check: lint typecheck test

# The benchmark suite (bench/README.md): a quick run (about 3 minutes, what CI can run);
# BENCH_FULL=1 for the full one behind the README's figures. Needs wrk; matplotlib and py-spy
# for the plots and the profile.
bench: $(STAMP)
	$(BIN)/python -m bench

# The fault and abuse run (docs/reliability.md): 1,000+ publishes while workers are killed,
# Redis restarted and PostgreSQL connections cut; prints the invariants and writes
# chaos/results/latest.json. A few minutes; needs redis-server and PostgreSQL on localhost.
chaos: $(STAMP)
	$(BIN)/python -m chaos

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
