"""Wire fidelity: parsed prompts serialize back byte for byte; edits touch only their value."""

from __future__ import annotations

import json
import random

import pytest

from fibo_prompts import StructuredPrompt
from tests.conftest import MINIMAL

STYLES = {
    "compact": {"separators": (",", ":")},
    "default": {},
    "indent2": {"indent": 2},
    "indent4": {"indent": 4},
    "tab": {"indent": "\t"},
    "unicode": {"ensure_ascii": False, "indent": 2},
}


def changed_region(old: str, new: str) -> tuple[str, str]:
    """The differing middle of two strings, after their common prefix and suffix."""
    start = 0
    while start < min(len(old), len(new)) and old[start] == new[start]:
        start += 1
    end = 0
    while (
        end < min(len(old), len(new)) - start and old[len(old) - 1 - end] == new[len(new) - 1 - end]
    ):
        end += 1
    return old[start : len(old) - end], new[start : len(new) - end]


def test_bria_examples_round_trip_byte_for_byte(bria_text: str) -> None:
    assert StructuredPrompt.parse(bria_text, lenient=True).wire == bria_text
    assert StructuredPrompt.parse(bria_text).wire == bria_text
    assert str(StructuredPrompt.parse(bria_text.encode("utf-8"))) == bria_text


def test_project_examples_round_trip_byte_for_byte(project_text: str) -> None:
    assert StructuredPrompt.parse(project_text).wire == project_text


@pytest.mark.parametrize("style", sorted(STYLES))
def test_every_style_and_key_order_round_trips(bria_text: str, style: str) -> None:
    data = json.loads(bria_text)
    keys = list(data)
    random.Random(7).shuffle(keys)
    shuffled = {key: data[key] for key in keys}
    data["short_description"] += " Café, naïve — 東京 / 50%."
    for variant in (data, shuffled):
        text = json.dumps(variant, **STYLES[style])  # type: ignore[arg-type]
        assert StructuredPrompt.parse(text).wire == text


def test_unchanged_value_keeps_its_original_escaping() -> None:
    data = {**MINIMAL, "short_description": "café"}
    text = json.dumps(data, separators=(",", ":"))
    assert "caf\\u00e9" in text
    prompt = StructuredPrompt.parse(text)
    assert prompt.set("short_description", "café") is prompt
    assert prompt.set("short_description", "café").wire == text


def test_edit_changes_only_the_edited_value_tokens(bria_text: str) -> None:
    prompt = StructuredPrompt.parse(bria_text)
    old_value = prompt.get("lighting.conditions")
    old_raw = json.dumps(old_value)  # Bria's files are ASCII-escaped, like json.dumps
    assert bria_text.count(old_raw) == 1
    edited = prompt.set("lighting.conditions", "golden hour")
    assert edited.wire == bria_text.replace(old_raw, '"golden hour"')
    assert changed_region(bria_text, edited.wire)[1] in '"golden hour"'
    assert prompt.get("lighting.conditions") == old_value  # the original is untouched


def test_edit_of_an_object_field_keeps_everything_else(bria_text: str) -> None:
    prompt = StructuredPrompt.parse(bria_text)
    old_raw = json.dumps(prompt.get("objects[0].location"))
    edited = prompt.set("objects[0].location", "top-left")
    assert edited.wire == bria_text.replace(old_raw, '"top-left"', 1)
    assert edited.get("objects[0].location") == "top-left"


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        (
            "compact",
            '{"short_description":"An apple.","background_setting":"White wall.",'
            '"lighting":{"conditions":"daylight","direction":"front-lit","shadows":"soft"},'
            '"aesthetics":{"composition":"centered","color_scheme":"red",'
            '"mood_atmosphere":"calm"},"style_medium":"photograph","context":"Still life."}',
        ),
        (
            "default",
            '{"short_description": "An apple.", "background_setting": "White wall.", '
            '"lighting": {"conditions": "daylight", "direction": "front-lit", "shadows": "soft"}, '
            '"aesthetics": {"composition": "centered", "color_scheme": "red", '
            '"mood_atmosphere": "calm"}, "style_medium": "photograph", "context": "Still life."}',
        ),
    ],
)
def test_new_keys_go_where_fibo_order_puts_them(style: str, expected: str) -> None:
    text = json.dumps(MINIMAL, **STYLES[style])  # type: ignore[arg-type]
    edited = StructuredPrompt.parse(text).set("style_medium", "photograph")
    edited = edited.set("lighting.shadows", "soft")
    assert edited.wire == expected


def test_new_keys_in_pretty_text_are_indented_like_their_siblings() -> None:
    text = json.dumps(MINIMAL, indent=2) + "\n"
    edited = StructuredPrompt.parse(text).set(
        "objects[0]", {"description": "An apple.", "location": "center", "relationship": "alone"}
    )
    expected = {
        "short_description": MINIMAL["short_description"],
        "objects": [{"description": "An apple.", "location": "center", "relationship": "alone"}],
        **{k: v for k, v in MINIMAL.items() if k != "short_description"},
    }
    assert edited.wire == json.dumps(expected, indent=2) + "\n"


@pytest.mark.parametrize("style", sorted(STYLES))
def test_delete_then_insert_restores_the_exact_text(style: str) -> None:
    data = {k: v for k, v in MINIMAL.items() if k != "context"}
    data["lighting"] = {"conditions": "daylight", "direction": "front-lit", "shadows": "soft"}
    data["style_medium"] = "photograph"
    data["context"] = MINIMAL["context"]
    text = json.dumps(data, **STYLES[style])  # type: ignore[arg-type]
    prompt = StructuredPrompt.parse(text)
    stripped = prompt.delete("lighting.shadows").delete("style_medium")
    assert stripped.wire == json.dumps(MINIMAL, **STYLES[style])  # type: ignore[arg-type]
    restored = stripped.set("lighting.shadows", "soft").set("style_medium", "photograph")
    assert restored.wire == text


def test_slash_escaping_style_is_kept_for_new_values() -> None:
    text = json.dumps(MINIMAL, separators=(",", ":")).replace(
        '"Still life."', '"Still life \\/ study."'
    )
    edited = StructuredPrompt.parse(text).set("style_medium", "ink / wash")
    assert '"style_medium":"ink \\/ wash"' in edited.wire


def test_unicode_style_is_kept_for_new_values() -> None:
    text = json.dumps({**MINIMAL, "context": "Nature morte, café."}, ensure_ascii=False)
    edited = StructuredPrompt.parse(text).set("style_medium", "aquarelle à l'eau")
    assert '"style_medium": "aquarelle à l\'eau"' in edited.wire
    ascii_text = json.dumps(MINIMAL)
    edited = StructuredPrompt.parse(ascii_text).set("style_medium", "aquarelle à l'eau")
    assert '"style_medium": "aquarelle \\u00e0 l\'eau"' in edited.wire


def test_prompts_built_in_python_use_the_documented_default_style() -> None:
    prompt = StructuredPrompt.parse(dict(MINIMAL))
    assert prompt.wire == json.dumps(MINIMAL, separators=(",", ":"))
    built = StructuredPrompt(**MINIMAL)  # type: ignore[arg-type]
    assert built.wire == json.dumps(MINIMAL, separators=(",", ":"))
