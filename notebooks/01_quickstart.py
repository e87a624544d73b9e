# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Quick start: load, validate, edit, render a brand template
#
# A FIBO *structured prompt* is a long JSON scene description. FIBO reads it as a string of
# tokens, so `fibo_prompts` keeps the exact text (the *wire string*) and an edit changes only
# the edited value's bytes. Everything in this notebook runs offline.

# %%
import tempfile
from pathlib import Path

from fibo_prompts import PromptValidationError, StructuredPrompt
from fibo_prompts.brand import BrandKit, lint, load_template
from fibo_prompts.diff import diff
from fibo_prompts.generate import Client, GenerationRequest

# the repository's root, whether Jupyter was started in it or in notebooks/
ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "examples").is_dir())
WORK = Path(tempfile.mkdtemp(prefix="fibo-quickstart-"))  # everything this notebook writes

# %% [markdown]
# ## Load
#
# A prompt displays as a foldable tree. Hover a field name to read what it means; warnings
# (too many objects, placeholder text, a prompt near FIBO's token cap) are shown on top and
# at their field.

# %% tags=["load"]
prompt = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
prompt

# %% [markdown]
# ## Validate
#
# Parsing is strict by default: an unknown key gets a "did you mean", a wrong type says what
# was expected, and every problem carries its JSON path.

# %% tags=["validate"]
typo = prompt.to_json("pretty").replace('"lighting"', '"lightning"')
try:
    StructuredPrompt.parse(typo, source_name="typo.json")
except PromptValidationError as error:
    for issue in error.issues:
        print(issue.format("typo.json"))
print("warnings:", prompt.check())

# %% [markdown]
# ## Edit
#
# `set` returns a new prompt; only the edited value's bytes change in the wire string. The
# diff shows what changed, side by side.

# %% tags=["edit"]
warmer = prompt.set("lighting.conditions", "golden hour").set(
    "lighting.shadows", "long, warm shadows"
)
assert prompt.get("lighting.conditions") == "soft studio lighting"  # unchanged
changed = diff(prompt, warmer)
print(changed.headline())
changed

# %% [markdown]
# ## Render a brand template
#
# A brand kit says what a brand looks like; a template turns a few variables into a whole
# prompt in that look. Lint checks a prompt against the kit.

# %% tags=["brand"]
kit = BrandKit.load(ROOT / "templates" / "brands" / "northwind.yaml")
hero = load_template("product_hero").render(
    kit, {"product": "a 250 g bag of house-blend coffee beans"}
)
hero

# %% tags=["lint"]
lint(hero, kit)

# %% tags=["lint-off-brand"]
lint(StructuredPrompt.load(ROOT / "examples" / "text_render.json"), kit)

# %% [markdown]
# ## Preview it
#
# The `preview` backend draws a layout sketch of the prompt locally (no key, no network):
# useful to check a composition before paying for a FIBO render.

# %% tags=["preview"]
with Client("preview", image_dir=WORK / "images") as client:
    generation = client.generate(GenerationRequest(prompt=hero, seed=7))
generation
