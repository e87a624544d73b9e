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
# # The refinement loop: same seed, one change, compare, keep
#
# FIBO's controlled variation: keep the seed, change one attribute, and the scene stays the
# same except for that attribute. This notebook generates a prompt with a fixed seed, varies
# the lighting, compares the results, saves the chosen prompt to a versioned library, and
# ends with the interactive editor. It runs offline: the `preview` backend draws layout
# sketches, and the hosted-protocol section talks to the local emulator.

# %%
import tempfile
from pathlib import Path

from fibo_prompts import StructuredPrompt
from fibo_prompts.diff import diff, diff_generations
from fibo_prompts.generate import Client, GenerationRequest
from fibo_prompts.library import Library

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "examples").is_dir())
WORK = Path(tempfile.mkdtemp(prefix="fibo-refine-"))  # images, runs and the library go here
client = Client("preview", image_dir=WORK / "images")

# %% [markdown]
# ## Generate with a fixed seed

# %% tags=["first"]
base = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
first = client.generate(GenerationRequest(prompt=base, seed=7))
first

# %% [markdown]
# ## Vary one attribute
#
# `vary` makes one prompt per value with `set`, so each differs from the base only in that
# value's tokens, and generates them all with the same seed. The run displays as a labelled
# contact sheet.

# %% tags=["vary"]
run = client.vary(
    base,
    {"lighting.conditions": ["golden hour", "overcast", "blue hour light"]},
    seed=7,
    out_dir=WORK / "vary",
)
for cell in run.cells:
    print(f"{cell.label}: seed {cell.seed}, {cell.diff.headline()}")
run

# %% [markdown]
# ## Compare
#
# The prompt diff says what changed; `diff_generations` adds the seed, the parameters and
# how much the image changed.

# %% tags=["compare"]
chosen = run.cells[0]
print(diff_generations(first, chosen.generation).summary())
diff(base, chosen.prompt)

# %% [markdown]
# ## Save to a library
#
# Every version is immutable and identified by the hash of its exact bytes; labels such as
# `production` are movable pointers with a history; the log shows each version's change.

# %% tags=["library"]
library = Library(WORK / "library.sqlite")
library.save(base, "mug", message="studio base")
library.save(chosen.prompt, "mug", message="warmer light for the autumn page")
library.set_label("mug@2", "production")
library.log("mug")

# %% [markdown]
# ## The same request on a hosted protocol
#
# With an API key, `Client("bria")` sends the same wire string to Bria. Here it talks to the
# local emulator, which speaks Bria's protocol, so nothing leaves the machine.

# %% tags=["hosted"]
from fibo_prompts.emulator import Emulator, EmulatorConfig
from fibo_prompts.generate import PollPolicy

fast = PollPolicy(expected_duration=0.2)  # the emulator's jobs take 0.2 s, not Bria's ~15 s
with Emulator(EmulatorConfig(duration_s=0.2)) as emulator:
    with Client(
        "bria", api_key="emulator-key", base_url=emulator.url, image_dir=WORK / "images", poll=fast
    ) as bria:
        hosted = bria.generate(GenerationRequest(prompt=chosen.prompt, seed=7))
print(hosted.backend, hosted.seed, hosted.wire == chosen.prompt.wire)

# %% [markdown]
# ## Keep refining in the editor
#
# The editor (`pip install 'fibo-prompts[notebook]'`) shows the fields as a form, validates
# every edit at its JSON path, and generates with the seed locked; beside the image it shows
# what changed since the previous generation. It can be driven from code too.

# %% tags=["editor"]
from fibo_prompts.notebook import PromptEditor

editor = PromptEditor(chosen.prompt, client=client, seed=7)
editor.generate()
editor.fields["lighting.shadows"].value = "long, warm shadows"
editor.generate()
print(editor.last_diff.headline(), [g.seed for g in editor.generations])
editor

# %%
client.close()
library.close()
