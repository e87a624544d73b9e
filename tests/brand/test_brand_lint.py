"""Brand lint: every rule, its exact finding, and no false alarms."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fibo_prompts.brand import RULES, BrandKit, Finding, lint
from fibo_prompts.brand.lint import plural_pattern
from fibo_prompts.prompt import StructuredPrompt
from tests.conftest import bria_example

ROOT = Path(__file__).resolve().parents[2]
NORTHWIND = BrandKit.load(ROOT / "templates" / "brands" / "northwind.yaml")
SPROUT = BrandKit.load(ROOT / "templates" / "brands" / "sprout_lab.yaml")


def prompt(**fields: Any) -> StructuredPrompt:
    """An on-brand Northwind prompt, with some fields replaced (None removes a field)."""
    data: dict[str, Any] = {
        "short_description": "A mug of coffee on an oak table.",
        "objects": [
            {
                "description": "A ceramic mug of coffee.",
                "location": "center",
                "relationship": "The hero product.",
                "shape_and_color": "round, espresso brown with a copper rim",
            }
        ],
        "background_setting": "A seamless oat cream backdrop.",
        "lighting": {"conditions": "soft window light", "direction": "side-lit from left"},
        "aesthetics": {
            "composition": "rule of thirds",
            "color_scheme": "espresso brown, sage green and copper",
            "mood_atmosphere": "warm, unhurried",
        },
        "style_medium": "photograph",
        "context": "A product image.",
        "artistic_style": "realistic",
    }
    for key, value in fields.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return StructuredPrompt.parse(data)


def rules(findings: list[Finding]) -> list[tuple[str, str, str]]:
    return [(f.path, f.severity, f.rule) for f in findings]


def test_on_brand_prompt_has_no_findings() -> None:
    assert lint(prompt(), NORTHWIND) == []


def test_example_product_shot_is_on_brand() -> None:
    assert lint(StructuredPrompt.load(ROOT / "examples" / "product_shot.json"), NORTHWIND) == []


# ---------------------------------------------------------------------- forbidden terms


def test_forbidden_term_finding() -> None:
    findings = lint(prompt(context="Shot next to some Plastics."), NORTHWIND)
    assert findings == [
        Finding(
            path="context",
            severity="error",
            rule="forbidden-term",
            message="forbidden term 'plastic' (as 'Plastics')",
            suggestion="remove it: the prompt has no negative field, and naming a thing tends "
            "to draw it",
        )
    ]


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("a plastic lid", ["plastic"]),
        ("PLASTICS everywhere", ["plastic"]),
        ("plastic-free packaging", ["plastic"]),
        ("plasticity of clay", []),
        ("bioplastic", []),
        ("two energy drinks", ["energy drink"]),
        ("an Energy-Drink can", ["energy drink"]),
        ("energy and drink", []),
        ("a neon sign, neons", ["neon"]),
        ("cigarettes", ["cigarette"]),
        ("sugar cubes and instant coffee", ["sugar cube", "instant coffee"]),
        ("instant coffees", ["instant coffee"]),
        ("styrofoam", ["styrofoam"]),
    ],
)
def test_forbidden_terms_whole_words_any_case_plurals(text: str, found: list[str]) -> None:
    findings = lint(prompt(context=text), NORTHWIND)
    terms = [f.message.split("'")[1] for f in findings if f.rule == "forbidden-term"]
    assert terms == found


def test_forbidden_terms_are_found_anywhere() -> None:
    objects = [
        {"description": "A mug of coffee.", "location": "center", "relationship": "hero"},
        {"description": "A neon sign.", "location": "top", "relationship": "behind"},
    ]
    text = [
        {
            "text": "No plastic!",
            "location": "top",
            "size": "large within frame",
            "color": "charcoal",
            "font": "clean humanist sans-serif",
        },
        {
            "text": "Slow down. Brew well.",
            "location": "bottom",
            "size": "medium",
            "color": "copper",
            "font": "hand-lettered brush script",
        },
    ]
    findings = lint(prompt(objects=objects, text_render=text), NORTHWIND)
    assert rules(findings) == [
        ("objects[1].description", "error", "forbidden-term"),
        ("text_render[0].text", "error", "forbidden-term"),
    ]


@pytest.mark.parametrize(
    ("term", "matches", "misses"),
    [
        ("candy", ["candy", "candies"], ["candys", "candid"]),
        ("glass", ["glass", "glasses"], ["glas"]),
        ("knife", ["knife", "knives"], ["knif"]),
        ("leaf", ["leaf", "leaves", "leafs"], ["lea"]),
        ("toy", ["toy", "toys"], ["toies"]),
        ("paper cup", ["paper cup", "paper-cups", "Paper  Cups"], ["papers cup"]),
    ],
)
def test_plural_patterns(term: str, matches: list[str], misses: list[str]) -> None:
    import re

    pattern = re.compile(rf"(?:{plural_pattern(term)})\Z", re.IGNORECASE)
    assert [m for m in matches if pattern.match(m)] == matches
    assert [m for m in misses if pattern.match(m)] == []


# ---------------------------------------------------------------------- palette


def test_off_palette_colour_word() -> None:
    findings = lint(
        prompt(
            aesthetics={
                "composition": "c",
                "color_scheme": "navy and copper",
                "mood_atmosphere": "m",
            }
        ),
        NORTHWIND,
    )
    assert findings == [
        Finding(
            path="aesthetics.color_scheme",
            severity="warning",
            rule="off-palette",
            message="'navy' is off-palette: the nearest brand colour is charcoal (#2E2B28), "
            "ΔE2000 31.2 > 20",
            suggestion="use 'charcoal'",
        )
    ]


@pytest.mark.parametrize(
    ("text", "off"),
    [
        ("espresso brown and sage green", []),  # palette names
        ("Oat Cream walls", []),  # palette names, any case
        ("matte black", []),  # black is 11.3 from charcoal
        ("teal", ["teal"]),
        ("light blue and dark slate blue", ["light blue", "dark slate blue"]),
        ("dark slate gray", []),  # 17.6 from charcoal
        ("lightblue", ["lightblue"]),
        ("sky-blue", ["sky-blue"]),
        ("a linen napkin", []),  # linen is a material here
        ("reddish", []),  # only whole colour words
        ("#4A2C1E", []),  # a hair from espresso brown
        ("#FF00FF and #f0f", ["#FF00FF", "#f0f"]),
        ("red red red", ["red"]),  # one finding per colour and field
    ],
)
def test_colour_words_and_hex_codes(text: str, off: list[str]) -> None:
    findings = lint(prompt(background_setting=text), NORTHWIND)
    assert [f.message.split("'")[1] for f in findings if f.rule == "off-palette"] == off


def test_palette_name_hides_its_words() -> None:
    objects = [
        {
            "description": "A snack bar.",
            "location": "center",
            "relationship": "hero",
            "shape_and_color": "tomato red wrapper with sprout green leaves",
        }
    ]
    data = {
        "objects": objects,
        "style_medium": "digital illustration",
        "artistic_style": "flat playful vector",
    }
    assert lint(prompt(**data), SPROUT) == []


def test_palette_tolerance_comes_from_the_kit() -> None:
    strict = BrandKit.parse({**NORTHWIND.model_dump(), "lint": {"palette_tolerance": 5}})
    findings = lint(prompt(background_setting="a matte black wall"), strict)
    assert [f.message for f in findings] == [
        "'black' is off-palette: the nearest brand colour is charcoal (#2E2B28), ΔE2000 11.3 > 5"
    ]


# ---------------------------------------------------------------------- required elements


def test_missing_product_object() -> None:
    objects = [{"description": "A vase of tulips.", "location": "center", "relationship": "x"}]
    assert lint(prompt(objects=objects), NORTHWIND) == [
        Finding(
            path="objects",
            severity="error",
            rule="missing-required",
            message="no object shows a Northwind coffee product (looked for: "
            "coffee, mug, cup, beans, pour-over, kettle, espresso)",
            suggestion="add an object whose description names one of: "
            "coffee, mug, cup, beans, pour-over, kettle, espresso",
        )
    ]
    assert rules(lint(prompt(objects=None), NORTHWIND)) == [
        ("objects", "error", "missing-required")
    ]


def test_tagline_required_only_with_text() -> None:
    headline = {
        "text": "New Harvest",
        "location": "top",
        "size": "large within frame",
        "color": "espresso brown",
        "font": "bold condensed serif typeface",
    }
    assert lint(prompt(), NORTHWIND) == []
    assert lint(prompt(text_render=[headline]), NORTHWIND) == [
        Finding(
            path="text_render",
            severity="error",
            rule="missing-required",
            message="the text does not include the Northwind tagline",
            suggestion="add a text_render item with the exact text 'Slow down. Brew well.'",
        )
    ]
    tagline = {**headline, "text": "slow down.  brew well", "color": "copper"}
    tagline["font"] = "hand-lettered brush script"
    assert lint(prompt(text_render=[headline, tagline]), NORTHWIND) == []


def test_required_text_element() -> None:
    data = NORTHWIND.model_dump()
    data["required"] = [
        {"kind": "text", "description": "the legal line", "any_of": ["Roasted in Oslo"]}
    ]
    kit = BrandKit.parse(data)
    findings = lint(prompt(), kit)
    assert [(f.message, f.suggestion) for f in findings] == [
        (
            "the text does not include the legal line",
            "add a text_render item with the text 'Roasted in Oslo'",
        )
    ]


# ---------------------------------------------------------------------- typography


def test_text_colour_and_font_outside_the_typography() -> None:
    item = {
        "text": "Slow down. Brew well.",
        "location": "bottom",
        "size": "medium",
        "color": "white",
        "font": "Comic Sans",
    }
    assert lint(prompt(text_render=[item]), NORTHWIND) == [
        Finding(
            path="text_render[0].color",
            severity="error",
            rule="text-color",
            message="text colour 'white' is not one of the brand's text colours",
            suggestion="use one of: espresso brown, copper, charcoal",
        ),
        Finding(
            path="text_render[0].font",
            severity="warning",
            rule="text-font",
            message="font 'Comic Sans' is not one of the brand's fonts",
            suggestion="use 'clean humanist sans-serif'",
        ),
    ]


@pytest.mark.parametrize(
    ("color", "ok"),
    [
        ("copper", True),
        ("Charcoal.", True),
        ("#2E2B28", True),
        ("oat cream", False),  # a palette colour, but not a text colour
        ("black", True),  # 11.3 from charcoal
        ("golden", False),  # no colour recognised
        ("copper and white", False),
    ],
)
def test_text_colours(color: str, ok: bool) -> None:
    item = {
        "text": "Slow down. Brew well.",
        "location": "bottom",
        "size": "medium",
        "color": color,
        "font": "hand-lettered brush script",
    }
    findings = lint(prompt(text_render=[item]), NORTHWIND)
    assert (findings == []) is ok, findings


# ---------------------------------------------------------------------- style, objects, ratio


def test_style_contradicting_the_kit() -> None:
    findings = lint(prompt(style_medium="watercolor", artistic_style="cartoonish"), NORTHWIND)
    assert [(f.path, f.severity, f.message) for f in findings] == [
        (
            "style_medium",
            "error",
            "style_medium 'watercolor' reads as painting; the brand's medium is 'photograph' "
            "(photograph)",
        ),
        (
            "artistic_style",
            "error",
            "artistic_style 'cartoonish' reads as illustration; the brand's medium is "
            "'photograph' (photograph)",
        ),
    ]
    assert lint(prompt(style_medium="Photography"), NORTHWIND) == []
    unknown = lint(prompt(style_medium="collage"), NORTHWIND)
    assert rules(unknown) == [("style_medium", "info", "style-mismatch")]


def test_too_many_objects() -> None:
    one = {"description": "A mug of coffee.", "location": "center", "relationship": "x"}
    findings = lint(prompt(objects=[one] * 6), NORTHWIND)
    assert findings == [
        Finding(
            path="objects",
            severity="warning",
            rule="too-many-objects",
            message="6 objects; the brand allows at most 5",
            suggestion="describe the rest in background_setting",
        )
    ]


def test_aspect_ratio() -> None:
    assert lint(prompt(), NORTHWIND, aspect_ratio="16:9") == []
    assert lint(prompt(), NORTHWIND, aspect_ratio="9:16") == [
        Finding(
            path="",
            severity="error",
            rule="aspect-ratio",
            message="aspect ratio 9:16 is not one of the brand's",
            suggestion="use one of: 1:1, 4:5, 16:9",
        )
    ]


def test_kit_overrides_severity() -> None:
    data = NORTHWIND.model_dump()
    data["lint"]["severity"] = {"off-palette": "error", "forbidden-term": "info"}
    kit = BrandKit.parse(data)
    findings = lint(prompt(background_setting="a navy neon wall"), kit)
    assert rules(findings) == [
        ("background_setting", "info", "forbidden-term"),
        ("background_setting", "error", "off-palette"),
    ]
    assert set(RULES) == {
        "forbidden-term",
        "off-palette",
        "missing-required",
        "text-color",
        "text-font",
        "style-mismatch",
        "too-many-objects",
        "aspect-ratio",
    }


def test_finding_format() -> None:
    finding = Finding("objects[1].description", "error", "forbidden-term", "forbidden 'x'", "y")
    assert str(finding) == "objects[1].description: error: forbidden 'x' [forbidden-term] (y)"
    assert Finding("", "info", "r", "m").format() == "(prompt): info: m [r]"
    assert finding.to_dict() == {
        "path": "objects[1].description",
        "severity": "error",
        "rule": "forbidden-term",
        "message": "forbidden 'x'",
        "suggestion": "y",
    }


def test_bria_example_against_the_kit() -> None:
    text = bria_example("fibo_default_json_caption.json")
    findings = lint(StructuredPrompt.parse(text, lenient=True), NORTHWIND)
    assert rules(findings) == [
        ("aesthetics.color_scheme", "warning", "off-palette"),
        ("objects[1].shape_and_color", "warning", "off-palette"),
        ("objects", "error", "missing-required"),
    ]
