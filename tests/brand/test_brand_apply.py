"""apply_brand: fill what a prompt leaves silent, report it, keep every other byte."""

from __future__ import annotations

from pathlib import Path

from fibo_prompts.brand import AppliedChange, BrandKit, apply_brand, lint
from fibo_prompts.prompt import StructuredPrompt

ROOT = Path(__file__).resolve().parents[2]
NORTHWIND = BrandKit.load(ROOT / "templates" / "brands" / "northwind.yaml")
SPROUT = BrandKit.load(ROOT / "templates" / "brands" / "sprout_lab.yaml")

SILENT = """{
  "short_description": "A mug of coffee on a table.",
  "objects": [{"description": "A mug of coffee.", "location": "center", "relationship": "hero"}],
  "background_setting": "An oat cream wall.",
  "lighting": {"conditions": "", "direction": "front-lit"},
  "aesthetics": {"composition": "centered", "color_scheme": " ", "mood_atmosphere": "calm"},
  "text_render": [
    {"text": "Fresh", "location": "top", "size": "large within frame", "color": "", "font": ""},
    {"text": "Slow down. Brew well.", "location": "bottom", "size": "", "color": "", "font": ""}
  ],
  "context": "A product image."
}
"""


def test_fills_only_silent_fields() -> None:
    prompt = StructuredPrompt.parse(SILENT)
    branded, changes = apply_brand(prompt, NORTHWIND)
    assert [(c.path, c.before, c.after) for c in changes] == [
        ("lighting.conditions", "", "soft morning window light"),
        ("lighting.shadows", None, "long, soft shadows"),
        (
            "aesthetics.color_scheme",
            " ",
            "espresso brown and sage green, copper accents, oat cream and charcoal neutrals",
        ),
        (
            "photographic_characteristics",
            None,
            {
                "depth_of_field": "shallow, softly blurred background",
                "focus": "sharp focus on the coffee",
                "camera_angle": "eye-level, slightly above the table",
                "lens_focal_length": "50mm standard lens",
            },
        ),
        ("style_medium", None, "photograph"),
        ("artistic_style", None, "realistic"),
        ("text_render[0].font", "", "bold condensed serif typeface"),
        ("text_render[0].color", "", "espresso brown"),
        ("text_render[1].font", "", "hand-lettered brush script"),
        ("text_render[1].color", "", "copper"),
        ("text_render[1].size", "", "medium"),
    ]
    # what the prompt said stays as it was
    assert branded.get("lighting.direction") == "front-lit"
    assert branded.get("aesthetics.mood_atmosphere") == "calm"
    assert lint(branded, NORTHWIND) == []
    # new keys land in FIBO's order, in the prompt's own style
    assert branded.wire.index('"style_medium"') < branded.wire.index('"text_render"')
    assert '  "artistic_style": "realistic"\n}' in branded.wire


def test_untouched_bytes_survive() -> None:
    prompt = StructuredPrompt.parse(SILENT)
    branded, changes = apply_brand(prompt, NORTHWIND)
    restored = branded
    for change in reversed(changes):
        if change.before is None:
            restored = restored.delete(change.path)
        else:
            restored = restored.set(change.path, change.before)
    assert restored.wire == prompt.wire


def test_nothing_to_fill() -> None:
    prompt = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
    branded, changes = apply_brand(prompt, NORTHWIND)
    assert changes == []
    assert branded is prompt
    again, more = apply_brand(apply_brand(StructuredPrompt.parse(SILENT), NORTHWIND)[0], NORTHWIND)
    assert more == []


def test_partial_camera_is_completed_and_illustration_kit_adds_none() -> None:
    data = StructuredPrompt.parse(SILENT).to_dict()
    data["photographic_characteristics"] = {
        "depth_of_field": "deep",
        "focus": "",
        "camera_angle": "low angle",
        "lens_focal_length": "",
    }
    branded, changes = apply_brand(StructuredPrompt.parse(data), NORTHWIND)
    camera = [c for c in changes if c.path.startswith("photographic")]
    assert camera == [
        AppliedChange("photographic_characteristics.focus", "", "sharp focus on the coffee"),
        AppliedChange("photographic_characteristics.lens_focal_length", "", "50mm standard lens"),
    ]
    assert branded.get("photographic_characteristics.camera_angle") == "low angle"
    _, sprout_changes = apply_brand(StructuredPrompt.parse(SILENT), SPROUT)
    assert "photographic_characteristics" not in [c.path for c in sprout_changes]
    assert ("style_medium", "digital illustration") in [(c.path, c.after) for c in sprout_changes]
