# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU wheel of torch that lies on this machine's disk; GPU users: install your own torch first
# (see README), then `make install TORCH_SPEC=`.
TORCH_SPEC ?= torch==2.13.0

.PHONY: install install-test browser demo test lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_SPEC) -e .

install-test: $(BIN)/python
	$(BIN)/pip install -q $(TORCH_SPEC) -e ".[test,bench]"

# The explorer's page test drives a real browser: Debian's chromium + chromium-driver, installed here when
# absent (as root, with apt-get); where that cannot be done the test skips and says why.
browser:
	@if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing chromium + chromium-driver (apt) for the explorer's browser test"; \
	  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver \
	    >/dev/null; } || echo "make: apt-get could not install chromium: the explorer's browser test will skip"; \
	else echo "make: no chromium/chromedriver and no apt-get as root: the explorer's browser test will skip"; fi

demo: install
	$(BIN)/aekit demo

test: install-test browser
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest tests

lint: install-test
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) runs .pytest_cache
