"""diff(): FIBO-vocabulary paths, identity matching of list items, options, groups."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fibo_prompts import PromptError, StructuredPrompt
from fibo_prompts.diff import Change, DiffOptions, diff
from fibo_prompts.diff._match import longest_increasing
from fibo_prompts.prompt.labels import item_label, unique_labels
from tests.conftest import MINIMAL, ROOT, bria_example

# structured-prompt.md §8.3: exactly what Bria's refine rewrote for zebra -> elephant
REFINE_PATHS = {
    "short_description",
    "objects[0].description",
    "objects[0].relationship",
    "objects[0].shape_and_color",
    "objects[0].texture",
    "objects[0].appearance_details",
    "objects[1].relationship",
    "lighting.shadows",
    "aesthetics.composition",
    "aesthetics.color_scheme",
    "aesthetics.mood_atmosphere",
    "photographic_characteristics.depth_of_field",
}


def example(name: str) -> StructuredPrompt:
    return StructuredPrompt.load(ROOT / "examples" / name)


def bria(name: str) -> StructuredPrompt:
    return StructuredPrompt.parse(bria_example(name), lenient=True, source_name=name)


@pytest.mark.parametrize(
    "original",
    ["fibo_examples_outputs_refine_original.json", "fibo_default_json_caption.json"],
)
def test_zebra_to_elephant_reports_exactly_what_refine_rewrote(original: str) -> None:
    before = bria(original)
    after = bria("fibo_examples_outputs_refine_edited.json")
    result = diff(before, after, ignore_nulls=True, ignore_scores=True)
    assert {change.a_path for change in result} == REFINE_PATHS
    assert {change.b_path for change in result} == REFINE_PATHS
    assert {change.kind for change in result} == {"changed"}
    assert result.paths == [
        "short_description",
        "objects[zebra].description",
        "objects[zebra].relationship",
        "objects[zebra].shape_and_color",
        "objects[zebra].texture",
        "objects[zebra].appearance_details",
        "objects[hydrant].relationship",
        "lighting.shadows",
        "aesthetics.composition",
        "aesthetics.color_scheme",
        "aesthetics.mood_atmosphere",
        "photographic_characteristics.depth_of_field",
    ]
    assert result.headline() == (
        "12 changes: objects[zebra] (5), aesthetics (3), short_description (1), "
        "objects[hydrant] (1), lighting (1), photographic_characteristics (1)"
    )
    assert not result.is_single_attribute()


def test_zebra_to_elephant_without_options_also_reports_nulls_and_scores() -> None:
    before = bria("fibo_examples_outputs_refine_original.json")
    after = bria("fibo_examples_outputs_refine_edited.json")
    extra = {c.a_path for c in diff(before, after)} - REFINE_PATHS
    assert extra == {
        "objects[0].number_of_objects",
        "objects[0].clothing",
        "objects[0].skin_tone_and_texture",
        "objects[1].number_of_objects",
        "objects[1].pose",
        "objects[1].expression",
        "objects[1].clothing",
        "objects[1].action",
        "objects[1].gender",
        "objects[1].skin_tone_and_texture",
        "aesthetics.preference_score",
        "aesthetics.aesthetic_score",
        "text_render",
    }
    only_nulls = diff(before, after, ignore_nulls=True)
    assert {c.a_path for c in only_nulls} - REFINE_PATHS == {
        "aesthetics.preference_score",
        "aesthetics.aesthetic_score",
    }


def test_default_caption_and_its_cleaned_copy_differ_only_in_nulls_and_scores() -> None:
    raw = bria("fibo_default_json_caption.json")
    cleaned = bria("fibo_examples_outputs_refine_original.json")
    assert diff(raw, cleaned, ignore_nulls=True, ignore_scores=True).changes == ()
    assert diff(raw, cleaned, ignore_nulls=True).paths == [
        "aesthetics.preference_score",
        "aesthetics.aesthetic_score",
    ]


def test_identical_prompts_have_an_empty_diff(project_text: str) -> None:
    prompt = StructuredPrompt.parse(project_text)
    result = diff(prompt, prompt)
    assert not result
    assert len(result) == 0
    assert result.headline() == "no changes"
    assert result.touched_groups() == ()
    assert not result.is_single_attribute()


def test_one_field_is_one_change_and_a_single_attribute() -> None:
    a = example("product_shot.json")
    b = a.set("lighting.conditions", "golden hour")
    result = diff(a, b)
    assert result.changes == (
        Change(
            path="lighting.conditions",
            kind="changed",
            old="soft studio lighting",
            new="golden hour",
            group="lighting",
            a_parts=("lighting", "conditions"),
            b_parts=("lighting", "conditions"),
        ),
    )
    assert result.touched_groups() == ("lighting",)
    assert result.is_single_attribute()
    assert result[0].a_path == "lighting.conditions"
    assert result[0].words is None  # short strings: plain old -> new


def test_swapping_objects_gives_moves_only() -> None:
    a = example("text_render.json")
    data = a.to_dict()
    data["objects"].reverse()
    data["text_render"].reverse()
    result = diff(a, StructuredPrompt.parse(data))
    assert [(c.kind, c.path, c.old, c.new) for c in result] == [
        ("moved", "objects[sunglasses]", 0, 1),
        ("moved", "text_render[summer-sale]", 0, 1),
    ]
    assert result.touched_groups() == ("objects[sunglasses]", "text_render[summer-sale]")


def test_reordering_three_objects_moves_only_the_ones_that_left_their_order() -> None:
    a = StructuredPrompt.parse(
        {**MINIMAL, "objects": [_obj("A red apple."), _obj("A green pear."), _obj("A fig.")]}
    )
    data = a.to_dict()
    data["objects"] = [data["objects"][2], data["objects"][0], data["objects"][1]]
    result = diff(a, StructuredPrompt.parse(data))
    assert [(c.kind, c.path, c.a_path, c.b_path) for c in result] == [
        ("moved", "objects[fig]", "objects[2]", "objects[0]")
    ]


def test_moved_and_edited_object_reports_the_move_and_the_field() -> None:
    a = example("text_render.json")
    data = a.to_dict()
    data["objects"].reverse()
    data["objects"][1]["relative_size"] = "large"
    result = diff(a, StructuredPrompt.parse(data))
    assert [(c.kind, c.path, c.a_path, c.b_path) for c in result] == [
        ("moved", "objects[sunglasses]", "objects[0]", "objects[1]"),
        ("changed", "objects[sunglasses].relative_size", "objects[0].relative_size",
         "objects[1].relative_size"),
    ]  # fmt: skip


def _obj(description: str, location: str = "center", **more: Any) -> dict[str, Any]:
    return {"description": description, "location": location, "relationship": "alone", **more}


def test_replacing_an_object_by_an_unrelated_one_is_a_replacement() -> None:
    old = _obj("A full-grown zebra with stripes.", "center-right", pose="standing")
    new = _obj("A bunch of red balloons.", "top-left", texture="glossy latex")
    a = StructuredPrompt.parse({**MINIMAL, "objects": [old]})
    b = StructuredPrompt.parse({**MINIMAL, "objects": [new]})
    (change,) = diff(a, b)
    assert (change.kind, change.path, change.old, change.new) == (
        "changed",
        "objects[zebra]",
        old,
        new,
    )
    assert change.is_replacement


def test_added_and_removed_objects_are_named_by_their_labels() -> None:
    mug = _obj("A black mug.", "left")
    lemon = _obj("Two ripe lemons.", "right")
    pear = _obj("A pear in a bowl.", "top")
    a = StructuredPrompt.parse({**MINIMAL, "objects": [mug, lemon]})
    b = StructuredPrompt.parse({**MINIMAL, "objects": [pear, mug]})
    result = diff(a, b)
    assert [(c.kind, c.path, c.a_path, c.b_path) for c in result] == [
        ("removed", "objects[lemons]", "objects[1]", None),
        ("added", "objects[pear]", None, "objects[0]"),
    ]


def test_repeated_labels_are_numbered() -> None:
    glass = _obj("A tall glass of water.", "left")
    other = _obj("A tall glass of juice.", "right")
    a = StructuredPrompt.parse({**MINIMAL, "objects": [glass, other]})
    b = a.set("objects[1].location", "far right")
    assert diff(a, b).paths == ["objects[glass#2].location"]


def test_an_edited_description_alone_keeps_the_object() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [_obj("A red apple.")]})
    b = a.set("objects[0].description", "A green pear.")
    (change,) = diff(a, b)
    assert (change.kind, change.path) == ("changed", "objects[apple].description")


def test_text_items_are_matched_by_text() -> None:
    a = example("text_render.json")
    b = a.set("text_render[0].color", "gold").delete("text_render[1]")
    assert [(c.kind, c.path) for c in diff(a, b)] == [
        ("changed", "text_render[summer-sale].color"),
        ("removed", "text_render[up-to-50]"),
    ]


@pytest.mark.parametrize(
    ("old", "new", "options", "equal"),
    [
        ("Golden hour", "golden HOUR", {"ignore_case": True}, True),
        ("Golden hour", "golden HOUR", {}, False),
        ("golden  hour ", "golden hour", {"ignore_whitespace": True}, True),
        ("golden  hour ", "Golden hour", {"ignore_whitespace": True}, False),
        ("golden  hour ", "Golden hour", {"ignore_whitespace": True, "ignore_case": True}, True),
    ],
)
def test_case_and_whitespace_options(
    old: str, new: str, options: dict[str, bool], equal: bool
) -> None:
    a = StructuredPrompt.parse(MINIMAL).set("lighting.conditions", old)
    b = a.set("lighting.conditions", new)
    assert (not diff(a, b, **options)) is equal


@pytest.mark.parametrize(
    ("key", "empty"),
    [("style_medium", None), ("artistic_style", ""), ("text_render", []), ("extra", {})],
)
def test_ignore_nulls_treats_null_empty_and_absent_alike(key: str, empty: object) -> None:
    a = StructuredPrompt.parse({**MINIMAL, key: empty}, lenient=True)
    b = StructuredPrompt.parse(MINIMAL)
    assert not diff(a, b, ignore_nulls=True)
    assert not diff(b, a, ignore_nulls=True)
    assert [(c.kind, c.path, c.old) for c in diff(a, b)] == [("removed", key, empty)]


def test_ignore_nulls_counts_a_container_of_nulls_as_empty() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "artistic_style": None})
    data = {**MINIMAL, "objects": [_obj("A red apple.", pose=None)]}
    b = StructuredPrompt.parse(data)
    c = StructuredPrompt.parse({**data, "objects": [_obj("A red apple.")]})
    assert diff(a, StructuredPrompt.parse(MINIMAL), ignore_nulls=True).changes == ()
    assert not diff(b, c, ignore_nulls=True)
    assert diff(b, c).paths == ["objects[apple].pose"]


def test_ignore_scores_skips_only_the_two_quality_labels() -> None:
    a = StructuredPrompt.parse(MINIMAL)
    b = a.set("aesthetics.preference_score", "very high").set("aesthetics.aesthetic_score", "low")
    assert not diff(a, b, ignore_scores=True)
    assert diff(a, b).paths == ["aesthetics.preference_score", "aesthetics.aesthetic_score"]
    c = b.set("aesthetics.mood_atmosphere", "tense")
    assert diff(a, c, ignore_scores=True).paths == ["aesthetics.mood_atmosphere"]


def test_added_and_removed_groups() -> None:
    a = example("product_shot.json")
    b = a.delete("photographic_characteristics").set("edit_instruction", "Warm it up.")
    result = diff(a, b)
    assert [(c.kind, c.path, c.group) for c in result] == [
        ("removed", "photographic_characteristics", "photographic_characteristics"),
        ("added", "edit_instruction", "edit_instruction"),
    ]
    assert result.touched_groups(ignore=["edit_instruction"]) == ("photographic_characteristics",)
    assert result.is_single_attribute(ignore=["edit_instruction"])


def test_unknown_keys_of_lenient_prompts_are_diffed_generically() -> None:
    a = StructuredPrompt.parse(
        {**MINIMAL, "extra": {"tags": ["a", "b"], "n": 1, "odd key": True}}, lenient=True
    )
    b = StructuredPrompt.parse(
        {**MINIMAL, "extra": {"tags": ["a", "c"], "n": 1.0, "odd key": 1}}, lenient=True
    )
    c = StructuredPrompt.parse({**MINIMAL, "extra": {"tags": ["a"]}}, lenient=True)
    assert [(x.path, x.old, x.new) for x in diff(a, b)] == [
        ("extra.tags[1]", "b", "c"),
        ('extra["odd key"]', True, 1),  # true is not 1; 1 is 1.0
    ]
    assert [(x.kind, x.path) for x in diff(a, c)] == [
        ("changed", "extra.tags"),
        ("removed", "extra.n"),
        ("removed", 'extra["odd key"]'),
    ]


def test_diff_accepts_plain_data() -> None:
    b = {**MINIMAL, "context": "Another still life."}
    result = diff(MINIMAL, b)
    assert result.paths == ["context"]
    assert result.a_name is None


def test_diff_keeps_the_source_names(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps(MINIMAL), encoding="utf-8")
    result = diff(StructuredPrompt.load(path), MINIMAL)
    assert result.a_name == str(path)


def test_diff_rejects_what_is_not_a_prompt() -> None:
    with pytest.raises(PromptError, match="cannot diff a list"):
        diff([], MINIMAL)  # type: ignore[arg-type]
    with pytest.raises(PromptError, match="not JSON data"):
        diff({**MINIMAL, "context": {1, 2}}, MINIMAL)


def test_options_are_recorded() -> None:
    result = diff(MINIMAL, MINIMAL, ignore_case=True)
    assert result.options == DiffOptions(ignore_case=True)
    assert result.options.to_dict() == {
        "ignore_nulls": False,
        "ignore_scores": False,
        "ignore_case": True,
        "ignore_whitespace": False,
    }


@pytest.mark.parametrize(
    ("key", "item", "label"),
    [
        ("objects", {"description": "A full-grown zebra with black and white stripes."}, "zebra"),
        (
            "objects",
            {"description": "A classic red fire hydrant, cylindrical in shape."},
            "hydrant",
        ),
        ("objects", {"description": "A bunch of inflated balloons in pastel colors."}, "balloons"),
        ("objects", {"description": "A friendly, cartoon-style brown bear, the hero."}, "bear"),
        ("objects", {"description": "A tall, elegant purple top hat, perched."}, "hat"),
        ("objects", {"description": "A half-formed terracotta bowl spinning on a wheel."}, "bowl"),
        ("objects", {"description": "A confident businesswoman in her 30s."}, "businesswoman"),
        ("objects", {"description": "The zebra's head"}, "head"),
        ("objects", {"description": "42"}, "object"),
        ("objects", {}, "object"),
        ("text_render", {"text": "SUMMER SALE"}, "summer-sale"),
        ("text_render", {"text": "Up to 50% off — this weekend only"}, "up-to-50"),
        ("text_render", {"text": "!!!"}, "text"),
    ],
)
def test_item_labels(key: str, item: dict[str, str], label: str) -> None:
    assert item_label(key, item) == label


def test_unique_labels_and_longest_increasing() -> None:
    assert unique_labels(["a", "b", "a", "c", "a"]) == ["a#1", "b", "a#2", "c", "a#3"]
    assert longest_increasing([]) == set()
    assert sorted(longest_increasing([2, 0, 1])) == [1, 2]
    assert sorted(longest_increasing([0, 1, 2])) == [0, 1, 2]
