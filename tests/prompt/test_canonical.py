"""Canonical form, content hash, and the form FIBO's inference code feeds the model."""

from __future__ import annotations

import hashlib
import json

from fibo_prompts import StructuredPrompt
from tests.conftest import MINIMAL, bria_example


def test_canonical_cleans_and_orders_like_fibo() -> None:
    data = {
        "context": "Still life.",
        "aesthetics": {"mood_atmosphere": "calm", "composition": "centered", "color_scheme": "red"},
        "lighting": {"shadows": None, "direction": "front-lit", "conditions": "daylight"},
        "text_render": [],
        "style_medium": "",
        "photographic_characteristics": None,
        "background_setting": "White wall.",
        "short_description": "An apple.",
        "objects": [
            {
                "location": "center",
                "description": "An apple.",
                "relationship": "alone",
                "pose": None,
                "number_of_objects": 0,
            }
        ],
    }
    prompt = StructuredPrompt.parse(data)
    assert prompt.canonical() == (
        '{"short_description":"An apple.","objects":[{"description":"An apple.",'
        '"location":"center","relationship":"alone","number_of_objects":0}],'
        '"background_setting":"White wall.","lighting":{"conditions":"daylight",'
        '"direction":"front-lit"},"aesthetics":{"composition":"centered","color_scheme":"red",'
        '"mood_atmosphere":"calm"},"context":"Still life."}'
    )
    assert prompt.to_json("canonical") == prompt.canonical()


def test_content_hash_ignores_style_order_and_nulls() -> None:
    base = StructuredPrompt.parse(json.dumps(MINIMAL, indent=2))
    same = [
        StructuredPrompt.parse(json.dumps(MINIMAL, separators=(",", ":"))),
        StructuredPrompt.parse(json.dumps(dict(reversed(list(MINIMAL.items()))))),
        StructuredPrompt.parse({**MINIMAL, "style_medium": None, "text_render": []}),
    ]
    for other in same:
        assert other.content_hash() == base.content_hash()
        assert other == base
        assert other.wire_hash() != base.wire_hash()
    assert base.content_hash() == "sha256:" + hashlib.sha256(base.canonical().encode()).hexdigest()
    changed = base.set("context", "Still life!")
    assert changed.content_hash() != base.content_hash()
    assert changed != base
    assert len({base, *same}) == 1  # hashable, by content


def test_canonical_keeps_unknown_keys_after_known_ones_sorted() -> None:
    prompt = StructuredPrompt.parse(
        {"zeta": 1, **MINIMAL, "alpha": {"b": 2, "a": None}}, lenient=True
    )
    assert prompt.canonical().endswith('"context":"Still life.","alpha":{"b":2},"zeta":1}')


def test_for_model_matches_what_fibo_produced_for_the_zebra_caption() -> None:
    raw = StructuredPrompt.parse(bria_example("fibo_default_json_caption.json"))
    cleaned = json.loads(bria_example("fibo_examples_outputs_refine_original.json"))
    assert raw.for_model() == json.dumps(cleaned, separators=(",", ":"))


def test_for_model_keeps_given_scores_and_drops_unknown_and_edit_keys() -> None:
    data = {**MINIMAL, "edit_instruction": "Make it green.", "vendor": "x"}
    data["aesthetics"] = {**MINIMAL["aesthetics"], "aesthetic_score": "high"}  # type: ignore[dict-item]
    prompt = StructuredPrompt.parse(data, lenient=True)
    model = json.loads(prompt.for_model())
    assert list(model) == list(MINIMAL)
    assert model["aesthetics"]["aesthetic_score"] == "high"
    assert model["aesthetics"]["preference_score"] == "very high"
    assert json.loads(prompt.for_model(edit=True))["edit_instruction"] == "Make it green."


def test_to_json_styles() -> None:
    prompt = StructuredPrompt.parse(json.dumps({**MINIMAL, "context": "Café"}))
    assert prompt.to_json("compact") == json.dumps(
        {**MINIMAL, "context": "Café"}, separators=(",", ":")
    )
    assert prompt.to_json("pretty") == json.dumps({**MINIMAL, "context": "Café"}, indent=2) + "\n"
    assert prompt.to_json("wire") == prompt.wire
