# The two quick-start commands: `make demo` and `make test`. Both need only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint schemas bench clean

$(BIN)/fibo: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(BIN)/fibo

# The main job on the embedded default: no key, no network.
demo: $(BIN)/fibo
	$(BIN)/fibo validate examples/*.json
	$(BIN)/fibo get examples/product_shot.json lighting.conditions
	$(BIN)/fibo set examples/product_shot.json lighting.conditions "golden hour" -o $(VENV)/product_shot.golden.json
	$(BIN)/fibo validate $(VENV)/product_shot.golden.json
	$(BIN)/fibo fmt examples/minimal.json --style compact

# Lint, types, and the whole test suite (what CI runs).
test: $(BIN)/fibo
	$(BIN)/ruff check fibo_prompts tests bench
	$(BIN)/ruff format --check fibo_prompts tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

schemas: $(BIN)/fibo
	$(BIN)/fibo schema --export schemas

bench: $(BIN)/fibo
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/render.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
