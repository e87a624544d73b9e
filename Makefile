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

# The main job on the embedded default: no key, no network. Outputs go to build/demo/.
DEMO := build/demo
BRAND := templates/brands/northwind.yaml
demo: $(BIN)/fibo
	mkdir -p $(DEMO)
	$(BIN)/fibo validate examples/*.json
	$(BIN)/fibo render product_hero --brand $(BRAND) --var product="a 250 g bag of house-blend coffee beans" -o $(DEMO)/hero.json
	$(BIN)/fibo lint $(DEMO)/hero.json --brand $(BRAND)
	$(BIN)/fibo set $(DEMO)/hero.json lighting.conditions "golden hour" -o $(DEMO)/hero.golden.json
	$(BIN)/fibo diff $(DEMO)/hero.json $(DEMO)/hero.golden.json || test $$? -eq 1
	$(BIN)/fibo generate $(DEMO)/hero.golden.json --backend preview --seed 7 -o $(DEMO)/hero.golden.png
	$(BIN)/fibo fmt $(DEMO)/hero.golden.json --style pretty

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
