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

# The main job on the embedded default: no key, no network. An offline end-to-end tour:
# render a brand template with a brand kit, lint it, generate with a fixed seed, vary one
# lighting attribute with the same seed, diff, and check that an image carries its own recipe.
DEMO := build/demo
BRAND := templates/brands/northwind.yaml
FIBO := FIBO_PROMPTS_HOME=$(DEMO)/home $(BIN)/fibo
demo: $(BIN)/fibo
	rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(FIBO) validate examples/*.json
	$(FIBO) render product_hero --brand $(BRAND) --var product="a 250 g bag of house-blend coffee beans" -o $(DEMO)/hero.json
	$(FIBO) lint $(DEMO)/hero.json --brand $(BRAND)
	$(FIBO) generate $(DEMO)/hero.json --backend preview --seed 7 -o $(DEMO)/hero.png
	$(FIBO) vary $(DEMO)/hero.json --backend preview --seed 7 --set lighting.conditions="golden hour" --set lighting.conditions="overcast" -o $(DEMO)/vary --save hero --library $(DEMO)/library.sqlite
	$(FIBO) set $(DEMO)/hero.json lighting.conditions "golden hour" -o $(DEMO)/hero.golden.json
	$(FIBO) diff $(DEMO)/hero.json $(DEMO)/hero.golden.json || test $$? -eq 1
	$(FIBO) inspect $(DEMO)/vary/01_conditions-golden-hour.png --wire | cmp - $(DEMO)/hero.golden.json
	$(FIBO) reproduce $(DEMO)/hero.png -o $(DEMO)/hero.reproduced.png
	cmp $(DEMO)/hero.png $(DEMO)/hero.reproduced.png
	@echo
	@echo "Everything is in $(DEMO)/ (layout PREVIEW images: no key, no network):"
	@echo "  hero.json                   product_hero rendered with the northwind brand kit (lint-clean)"
	@echo "  hero.png                    its preview, seed 7; the image carries the exact prompt and seed"
	@echo "  vary/                       lighting.conditions = golden hour | overcast, same seed 7"
	@echo "  vary/contact_sheet.png      both variations side by side, labelled"
	@echo "  vary/run.json               what each image is: seed, changed value, request id"
	@echo "  hero.golden.json            the golden-hour prompt; 'fibo inspect' of its image gives these exact bytes"
	@echo "  hero.reproduced.png         'fibo reproduce hero.png': identical bytes"
	@echo "  library.sqlite              hero@1 (the base) and its two variations with their images"
	@echo "Try: $(BIN)/fibo inspect $(DEMO)/hero.png"
	@echo "Review them in a browser (Ctrl-C stops it):"
	@echo "  $(BIN)/fibo serve --library $(DEMO)/library.sqlite"

# The diffusers backend's tests: the CPU build of torch first (on disk on these machines;
# never let pip resolve torch itself, which takes a CUDA build), then the `local` extra.
$(VENV)/.local-extra: $(BIN)/fibo
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e '.[dev,local]'
	touch $@

# Lint, types, and the whole test suite (what CI runs).
# The browser tests drive Debian's chromium with Playwright (never `playwright install`: it
# downloads a browser). Installed once, as root, from the system's package registry.
$(VENV)/.browser: $(BIN)/fibo
	command -v chromium || (echo "installing Debian's chromium for the browser tests (tests/serve)"; apt-get update -qq && apt-get install -y --no-install-recommends chromium)
	touch $@

test: $(BIN)/fibo $(VENV)/.local-extra $(VENV)/.browser
	$(BIN)/ruff check fibo_prompts tests bench
	$(BIN)/ruff format --check fibo_prompts tests bench
	$(BIN)/mypy
	$(BIN)/pytest -q

schemas: $(BIN)/fibo
	$(BIN)/fibo schema --export schemas

bench: $(BIN)/fibo $(VENV)/.local-extra
	$(BIN)/python bench/cli.py
	$(BIN)/python bench/validate.py
	$(BIN)/python bench/render.py
	$(BIN)/python bench/diff.py
	$(BIN)/python bench/variation.py
	$(BIN)/python bench/local.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
