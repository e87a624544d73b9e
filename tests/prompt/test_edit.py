"""Path-addressed reads and edits: values, new prompts, and clear errors."""

from __future__ import annotations

import json

import pytest

from fibo_prompts import (
    PromptError,
    PromptPathError,
    PromptValidationError,
    StructuredPrompt,
)
from fibo_prompts.prompt import Lighting, parse_path
from tests.conftest import MINIMAL, bria_example


@pytest.fixture
def zebra() -> StructuredPrompt:
    return StructuredPrompt.parse(bria_example("fibo_default_json_caption.json"))


def test_get_reads_plain_json_values(zebra: StructuredPrompt) -> None:
    assert zebra.get("objects[1].location") == "bottom-left foreground"
    assert zebra.get("objects[-1].location") == "bottom-left foreground"
    assert zebra.get("objects.0.number_of_objects") is None
    assert zebra.get("lighting") == json.loads(zebra.wire)["lighting"]
    assert zebra.get("text_render") == []
    value = zebra.get("lighting")
    value["conditions"] = "changed"  # a copy: the prompt cannot be changed through it
    assert zebra.get("lighting.conditions") != "changed"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "lighting.colour",
            "lighting has no key 'colour' (it has: conditions, direction, shadows)",
        ),
        ("objects[2]", "objects has 2 items; use an index from 0 to 1"),
        ("objects[-3].location", "objects has 2 items; use an index from 0 to 1"),
        ("short_description.text", "short_description is a string, so it has no key 'text'"),
        ("text_render[0]", "text_render is empty"),
        ("lighting[0]", "lighting has no key 0 (it has: conditions, direction, shadows)"),
        ("", "empty path; use e.g. 'lighting.conditions'"),
        (
            "objects[0",
            "malformed path at column 8: expected a key, '.key' or '[N]' "
            "(e.g. 'objects[0].location')",
        ),
        (
            ".lighting",
            "malformed path at column 1: expected a key, '.key' or '[N]' "
            "(e.g. 'objects[0].location')",
        ),
    ],
)
def test_get_bad_paths(zebra: StructuredPrompt, path: str, message: str) -> None:
    with pytest.raises(PromptPathError) as info:
        zebra.get(path)
    assert str(info.value) == (f"{path}: {message}" if path else message)


def test_set_returns_a_new_validated_prompt(zebra: StructuredPrompt) -> None:
    edited = zebra.set("lighting.conditions", "golden hour")
    assert isinstance(edited, StructuredPrompt)
    assert edited.lighting.conditions == "golden hour"
    assert zebra.lighting.conditions != "golden hour"
    assert edited.set("lighting.conditions", zebra.lighting.conditions).wire == zebra.wire


def test_set_accepts_models_and_nested_data() -> None:
    prompt = StructuredPrompt.parse(MINIMAL)
    edited = prompt.set("lighting", Lighting(conditions="dusk", direction="backlit"))
    assert edited.get("lighting") == {"conditions": "dusk", "direction": "backlit"}
    edited = prompt.set(
        "text_render",
        [{"text": "HI", "location": "top", "size": "large", "color": "red", "font": "serif"}],
    )
    assert edited.text_render is not None and edited.text_render[0].text == "HI"


def test_set_creates_missing_containers_and_appends() -> None:
    prompt = StructuredPrompt.parse(MINIMAL)
    obj = {"description": "An apple.", "location": "center", "relationship": "alone"}
    one = prompt.set("objects[0]", obj)
    two = one.set("objects[1]", {**obj, "location": "left"})
    assert [o.location for o in two.objects or []] == ["center", "left"]
    assert list(json.loads(two.wire)) == [
        "short_description",
        "objects",
        "background_setting",
        "lighting",
        "aesthetics",
        "context",
    ]
    with pytest.raises(PromptPathError) as info:
        two.set("objects[5]", obj)
    assert str(info.value) == "objects[5]: objects has 2 items; use [2] to append"
    with pytest.raises(PromptPathError) as info:
        prompt.set("text_render[1].text", "HI")
    assert str(info.value) == (
        "text_render[1].text: text_render does not exist; create its first item with [0]"
    )


def test_set_that_breaks_validation_raises_and_changes_nothing() -> None:
    prompt = StructuredPrompt.parse(MINIMAL)
    with pytest.raises(PromptValidationError) as info:
        prompt.set("lighting.conditions", 42)
    # no position: the edited text was never written anywhere (issue 13, item 21)
    assert [i.format() for i in info.value.issues] == [
        "lighting.conditions: expected a string (got 42)"
    ]
    with pytest.raises(PromptValidationError) as info:
        prompt.set("photographic_characteristics.focus", "sharp")
    assert [i.path for i in info.value.issues] == [
        "photographic_characteristics.depth_of_field",
        "photographic_characteristics.camera_angle",
        "photographic_characteristics.lens_focal_length",
    ]
    with pytest.raises(PromptValidationError, match="lightning: unknown key; did you mean"):
        prompt.set("lightning", "x")
    assert prompt.wire == json.dumps(MINIMAL, separators=(",", ":"))


def test_lenient_prompts_accept_new_unknown_keys() -> None:
    prompt = StructuredPrompt.parse(MINIMAL, lenient=True)
    assert prompt.set("vendor.note", "kept").get("vendor") == {"note": "kept"}


def test_set_rejects_values_json_cannot_carry() -> None:
    prompt = StructuredPrompt.parse(MINIMAL)
    with pytest.raises(PromptError, match=r"^context: value is not JSON data"):
        prompt.set("context", {1, 2})
    with pytest.raises(PromptError, match="value is not JSON data"):
        prompt.set("context", float("nan"))


def test_delete(zebra: StructuredPrompt) -> None:
    without = zebra.delete("objects[0]")
    assert len(without.objects or []) == 1
    assert without.get("objects[0].location") == "bottom-left foreground"
    assert zebra.delete("lighting.shadows").lighting.shadows is None
    with pytest.raises(PromptPathError, match="lighting has no key 'glow'"):
        zebra.delete("lighting.glow")
    with pytest.raises(PromptValidationError, match="context: missing required key"):
        zebra.delete("context")


def test_models_are_immutable(zebra: StructuredPrompt) -> None:
    with pytest.raises(PromptError, match=r"immutable: use prompt.set"):
        zebra.context = "x"
    with pytest.raises(PromptError, match="immutable"):
        zebra.lighting.conditions = "x"
    with pytest.raises(PromptError, match="immutable"):
        del zebra.context


def test_parse_path_forms() -> None:
    assert parse_path("objects[1].location") == ("objects", 1, "location")
    assert parse_path("objects.1.location") == ("objects", 1, "location")
    assert parse_path('extra["odd key"][0]') == ("extra", "odd key", 0)
    assert parse_path("objects[-1]") == ("objects", -1)


def test_model_copy_keeps_the_wire_string_true(zebra: StructuredPrompt) -> None:
    copy = zebra.model_copy(update={"context": "A new context."})
    assert copy.context == "A new context."
    assert json.loads(copy.wire)["context"] == "A new context."
    assert zebra.model_copy() is zebra
