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
# # A brand campaign: kit, templates, lint, a grid, a contact sheet
#
# A brand kit holds the brand's look; templates turn a few variables into on-brand prompts;
# lint catches what breaks the brand before anything is paid for; a grid shows the campaign's
# variations side by side. Everything runs offline on the `preview` backend.

# %%
import tempfile
from pathlib import Path

from fibo_prompts.brand import BrandKit, lint, list_templates, load_template
from fibo_prompts.generate import Client
from fibo_prompts.library import Library

ROOT = next(p for p in [Path.cwd(), *Path.cwd().parents] if (p / "examples").is_dir())
WORK = Path(tempfile.mkdtemp(prefix="fibo-campaign-"))

# %% [markdown]
# ## The kit and the templates

# %% tags=["kit"]
kit = BrandKit.load(ROOT / "templates" / "brands" / "northwind.yaml")
print(kit.name, "-", ", ".join(f"{c.name} {c.hex}" for c in kit.palette))
for template in list_templates():
    print(f"{template.name:18} {template.kind:6} {template.description}")

# %% [markdown]
# ## Build the campaign's prompts

# %% tags=["build"]
hero = load_template("product_hero").render(kit, {"product": "a bag of house-blend coffee beans"})
post = load_template("social_post").render(
    kit, {"headline": "New Harvest Blend", "product": "a kraft-paper bag of coffee beans"}
)
winter, changes = load_template("seasonal_variant").edit(hero, kit, {"season": "winter"})
print("winter variant changed:", ", ".join(change.path for change in changes))
post

# %% [markdown]
# ## Lint against the brand
#
# The campaign's own prompts are on brand; a prompt written elsewhere is not.

# %% tags=["lint"]
for name, candidate in [("hero", hero), ("post", post), ("winter", winter)]:
    print(name, "->", lint(candidate, kit) or "on brand")
off_brand = post.set("aesthetics.color_scheme", "neon pink and lime green")
lint(off_brand, kit)

# %% [markdown]
# ## A grid: two seeds by two lighting moods
#
# Each column changes only `lighting.conditions`; each row is one seed. The run displays as a
# labelled contact sheet, written to `contact_sheet.png` with the images and a `run.json`.

# %% tags=["grid"]
with Client("preview", image_dir=WORK / "images") as client:
    grid = client.grid(
        hero,
        rows={"seed": [1, 2]},
        columns={"lighting.conditions": ["golden hour", "overcast morning light"]},
        out_dir=WORK / "grid",
    )
print(len(grid.generations), "images; contact sheet:", grid.contact_sheet.name)
grid

# %% [markdown]
# ## Keep the campaign in the library

# %% tags=["library"]
with Library(WORK / "library.sqlite") as library:
    library.save(hero, "campaign-hero", message="hero shot")
    library.save(winter, "campaign-hero", message="winter variant")
    log = library.log("campaign-hero")
log
