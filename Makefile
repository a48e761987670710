# The quick start: `make serve` serves the graph, `make test` runs the tests.
# Each target creates the virtual environment (.venv) on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: serve test lint install

$(BIN)/smartby: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(BIN)/smartby

install: $(BIN)/smartby

serve: $(BIN)/smartby
	$(BIN)/smartby serve

test: $(BIN)/smartby
	$(BIN)/python -m pytest

lint: $(BIN)/smartby
	$(BIN)/ruff check graph_service tests benchmarks
	$(BIN)/mypy graph_service
	$(BIN)/lint-imports
