# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch that lies on this machine's disk; GPU users: install your own torch first
# (see README), then `make install TORCH_SPEC=`.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install install-test demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_SPEC) -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_SPEC) -e ".[test,bench]"

demo: install
	$(BIN)/aekit demo

test: install-test
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest tests

lint: install-test
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
