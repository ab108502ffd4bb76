# Two commands on a fresh machine: `make demo` and `make test`.
# Each builds .venv from pyproject.toml, re-installing only when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/ca-trade demo --out reports/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks tools docs/gen_api.py
	$(BIN)/ruff format --check src tests benchmarks tools docs/gen_api.py

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/python -m pytest -n 2 --dist loadfile

test: lint types pytest

$(VENV)/.bench: $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	touch $(VENV)/.bench

bench: $(VENV)/.bench
	$(BIN)/python benchmarks/estimation.py
	$(BIN)/python benchmarks/ge.py
	$(BIN)/python benchmarks/etl.py

clean:
	rm -rf $(VENV) reports/demo .pytest_cache .mypy_cache .ruff_cache
