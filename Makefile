# The two commands of the README: `make demo` and `make test`. Also: `make bench`,
# `make bench-scale` (search over 1,000,000 units in PostgreSQL), `make lint`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint bench bench-scale clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/hramba demo

lint: $(VENV)/.installed-test
	$(BIN)/ruff check hramba ingest storage migrations tests
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

test: lint
	$(BIN)/pytest

bench: $(VENV)/.installed-test
	$(BIN)/python tests/bench/ingest_bench.py
	$(BIN)/python tests/bench/export_bench.py
	$(BIN)/python tests/bench/report_bench.py
	$(BIN)/python tests/bench/workers_bench.py

bench-scale: $(VENV)/.installed-test
	$(BIN)/python tests/bench/scale_bench.py --keep
	$(BIN)/python tests/bench/portal_bench.py --reuse

clean:
	rm -rf $(VENV) .bench .pytest_cache .mypy_cache .ruff_cache hramba-data
