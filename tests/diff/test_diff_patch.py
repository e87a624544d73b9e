"""Patches: exact JSON Patch documents, wire fidelity, drift, revert, JSON delta, carry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from fibo_prompts import PromptValidationError, StructuredPrompt
from fibo_prompts.diff import apply, carry, diff, invert_json_patch, load_patch, revert
from fibo_prompts.errors import PatchConflictError, PatchError
from tests.conftest import MINIMAL, ROOT, bria_example


def example(name: str) -> StructuredPrompt:
    return StructuredPrompt.load(ROOT / "examples" / name)


def _obj(description: str, location: str = "center", **more: Any) -> dict[str, Any]:
    return {"description": description, "location": location, "relationship": "near", **more}


APPLE = _obj("A red apple.", "left")
PEAR = _obj("A green pear.", "right")
FIG = _obj("A ripe fig.", "top")


@pytest.fixture
def fruit() -> tuple[StructuredPrompt, StructuredPrompt]:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [APPLE, PEAR, FIG]})
    b = StructuredPrompt.parse(
        {**MINIMAL, "objects": [{**PEAR, "pose": "tilted"}, APPLE], "context": "Fruit."}
    )
    return a, b


def test_json_patch_document_is_exact(fruit: tuple[StructuredPrompt, StructuredPrompt]) -> None:
    a, b = fruit
    assert diff(a, b).to_json_patch() == [
        {"op": "test", "path": "/context", "value": "Still life."},
        {"op": "replace", "path": "/context", "value": "Fruit."},
        {"op": "add", "path": "/objects/1/pose", "value": "tilted"},
        {"op": "test", "path": "/objects/2", "value": FIG},
        {"op": "remove", "path": "/objects/2"},
        {"op": "test", "path": "/objects/0", "value": APPLE},
        {"op": "move", "from": "/objects/0", "path": "/objects/1"},
    ]


def test_apply_and_revert_round_trip(fruit: tuple[StructuredPrompt, StructuredPrompt]) -> None:
    a, b = fruit
    d = diff(a, b)
    assert apply(a, d).wire == b.wire
    assert revert(b, d).wire == a.wire
    patch = json.dumps(d.to_json_patch())
    assert apply(a, patch).wire == b.wire
    assert revert(b, patch.encode()).wire == a.wire
    assert apply(a.to_dict(), d) == b.to_dict()


def test_inverse_patch_is_exact(fruit: tuple[StructuredPrompt, StructuredPrompt]) -> None:
    a, b = fruit
    assert invert_json_patch(diff(a, b).to_json_patch()) == [
        {"op": "test", "path": "/objects/1", "value": APPLE},
        {"op": "move", "from": "/objects/1", "path": "/objects/0"},
        {"op": "add", "path": "/objects/2", "value": FIG},
        {"op": "test", "path": "/objects/1/pose", "value": "tilted"},
        {"op": "remove", "path": "/objects/1/pose"},
        {"op": "test", "path": "/context", "value": "Fruit."},
        {"op": "replace", "path": "/context", "value": "Still life."},
    ]


def test_applying_changes_only_the_changed_tokens() -> None:
    a = example("product_shot.json")
    data = a.to_dict()
    data["objects"].reverse()
    data["lighting"]["conditions"] = "golden hour"
    b = StructuredPrompt.parse(json.dumps(data, indent=2) + "\n")
    result = apply(a, diff(a, b))
    # the file is json.dumps(indent=2) + newline, so the expected bytes are easy to state
    assert a.wire == json.dumps(a.to_dict(), indent=2) + "\n"
    assert result.wire == b.wire


def test_zebra_refinement_rewrites_only_the_twelve_values() -> None:
    original = StructuredPrompt.parse(bria_example("fibo_examples_outputs_refine_original.json"))
    edited = StructuredPrompt.parse(bria_example("fibo_examples_outputs_refine_edited.json"))
    refinement = diff(original, edited, ignore_nulls=True, ignore_scores=True)
    expected = original.wire
    for change in refinement:
        old, new = json.dumps(change.old), json.dumps(change.new)
        assert expected.count(old) == 1
        expected = expected.replace(old, new)
    result = apply(original, refinement)
    assert result.wire == expected
    assert result.get("aesthetics.preference_score") == "very high"  # scores were ignored
    assert not diff(result, edited, ignore_nulls=True, ignore_scores=True)


def test_a_patch_refuses_a_base_that_drifted(
    fruit: tuple[StructuredPrompt, StructuredPrompt],
) -> None:
    a, b = fruit
    drifted = a.set("context", "Another.").set("objects[2].location", "bottom")
    with pytest.raises(PatchConflictError) as caught:
        apply(drifted, diff(a, b))
    assert caught.value.conflicts == [
        'context: expected "Still life.", found "Another."',
        'objects[2]: expected {"description": "A ripe fig.", "location": "top", '
        '"relationship": "near"}, found {"description": "A ripe fig.", "location": "bottom", '
        '"relationship": "near"}',
    ]
    assert str(caught.value).startswith("the patch does not apply: 2 conflicts (the base drifted)")


def test_revert_refuses_a_prompt_the_patch_did_not_make(
    fruit: tuple[StructuredPrompt, StructuredPrompt],
) -> None:
    a, b = fruit
    with pytest.raises(PatchConflictError, match="cannot revert: 1 conflict"):
        revert(b.set("context", "Changed again."), diff(a, b))


def test_a_result_that_is_not_a_prompt_is_refused() -> None:
    a = StructuredPrompt.parse(MINIMAL)
    with pytest.raises(PromptValidationError, match="context"):
        apply(a, [{"op": "remove", "path": "/context"}])


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ("{not json", "the patch is not valid JSON"),
        ("42", "a patch must be a JSON Patch"),
        ([{"op": "jump", "path": "/a"}], "operation 1: unknown op 'jump'"),
        ([{"op": "add", "path": "/a"}], "operation 1 \\(add\\): 'value' is required"),
        ([{"op": "remove", "path": "a"}], "invalid JSON Pointer 'a'"),
        ([{"op": "move", "path": "/a"}], "operation 1 \\(move\\): 'from' must be a string"),
        (["x"], "operation 1 is not a JSON object"),
        ({"evil": {}}, "unknown action 'evil'"),
        ({"values_changed": {"root.__class__": {}}}, "unsafe or malformed path"),
        ({"values_changed": []}, "must be an object of paths"),
        (
            {"type_changes": {"root['a']": {"old_type": "int", "new_type": "Popen"}}},
            "non-JSON type 'Popen'",
        ),
    ],
)
def test_malformed_patches_are_refused(patch: Any, message: str) -> None:
    with pytest.raises(PatchError, match=message):
        load_patch(patch)


def test_revert_needs_the_old_values() -> None:
    with pytest.raises(PatchError, match="the replace at context has no 'test'"):
        invert_json_patch([{"op": "replace", "path": "/context", "value": "x"}])
    with pytest.raises(PatchError, match="appends with '-'"):
        invert_json_patch([{"op": "add", "path": "/objects/-", "value": APPLE}])
    assert invert_json_patch([{"op": "move", "from": "/a/0", "path": "/a/1"}]) == [
        {"op": "move", "from": "/a/1", "path": "/a/0"}
    ]


def test_foreign_json_patches_apply_with_fidelity() -> None:
    a = example("text_render.json")
    patch = [
        {"op": "copy", "from": "/objects/0", "path": "/objects/-"},
        {"op": "replace", "path": "/objects/2/location", "value": "top-left"},
        {"op": "move", "from": "/text_render/1", "path": "/text_render/0"},
        {"op": "test", "path": "/style_medium", "value": "digital illustration"},
    ]
    result = apply(a, patch)
    data = a.to_dict()
    data["objects"].append({**data["objects"][0], "location": "top-left"})
    data["text_render"].reverse()
    assert result.wire == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_json_delta_round_trips_and_checks_the_base(
    fruit: tuple[StructuredPrompt, StructuredPrompt],
) -> None:
    a, b = fruit
    delta = diff(a, b).to_delta()
    data = json.loads(delta)
    assert data["values_changed"]["root['context']"] == {
        "new_value": "Fruit.",
        "old_value": "Still life.",
    }
    assert apply(a, delta).wire == b.wire
    assert revert(b, delta).wire == a.wire
    with pytest.raises(PatchConflictError) as caught:
        apply(a.set("context", "Drifted."), delta)
    assert caught.value.conflicts == [
        "Expected the old value for root['context'] to be Still life. but it is Drifted."
    ]


def test_json_delta_is_what_deepdiff_reads(
    fruit: tuple[StructuredPrompt, StructuredPrompt],
) -> None:
    from deepdiff import Delta
    from deepdiff.serialization import json_loads

    a, b = fruit
    delta = Delta(diff(a, b).to_delta(), deserializer=json_loads, bidirectional=True)
    assert delta + a.to_dict() == b.to_dict()


# --------------------------------------------------------------------------- carry


def _sibling() -> StructuredPrompt:
    """Another prompt with the same apple (elsewhere in the list) and its own fields."""
    return StructuredPrompt.parse(
        {**MINIMAL, "objects": [FIG, APPLE], "context": "A market stall."}, source_name="c.json"
    )


def test_carry_lands_each_change_on_the_same_item_wherever_it_is() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [APPLE, PEAR]})
    b = a.set("objects[0].pose", "tilted").set("lighting.conditions", "dusk")
    result = carry(diff(a, b), _sibling())
    assert result.get("objects[1].pose") == "tilted"  # the apple is second in the sibling
    assert result.get("lighting.conditions") == "dusk"
    assert result.get("context") == "A market stall."
    assert carry(diff(a, b), result).wire == result.wire  # already there: nothing to do


def test_carry_places_new_items_after_their_predecessor() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [APPLE, PEAR]})
    b = StructuredPrompt.parse({**MINIMAL, "objects": [APPLE, _obj("A lemon."), PEAR]})
    result = carry(diff(a, b), _sibling())
    assert [o["description"] for o in result.get("objects")] == [
        "A ripe fig.",
        "A red apple.",
        "A lemon.",
    ]


def test_carry_reports_conflicts_instead_of_guessing() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [APPLE, PEAR]})
    b = a.set("context", "Orchard.").set("objects[1].location", "far right")
    b = b.set("objects[0].relationship", "alone")
    with pytest.raises(PatchConflictError) as caught:
        carry(diff(a, b), _sibling())
    assert caught.value.conflicts == [
        'context: expected "Still life.", found "A market stall."',
        "objects[pear].location: objects[pear] is not in the target prompt",
    ]
    assert str(caught.value).startswith("cannot carry the refinement onto c.json: 2 conflicts")


def test_carry_conflicts_on_a_removed_item_that_the_sibling_changed() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [APPLE, FIG]})
    b = a.delete("objects[1]")
    sibling = StructuredPrompt.parse({**MINIMAL, "objects": [{**FIG, "pose": "halved"}]})
    with pytest.raises(PatchConflictError) as caught:
        carry(diff(a, b), sibling)
    assert caught.value.conflicts == ["objects[fig]: changed in the target; not removing it"]
    untouched = StructuredPrompt.parse({**MINIMAL, "objects": [FIG, APPLE]})
    assert carry(diff(a, b), untouched).get("objects") == [APPLE]


def test_carry_needs_a_diff() -> None:
    with pytest.raises(PatchError, match="carry needs a PromptDiff"):
        carry([], MINIMAL)  # type: ignore[arg-type]


def test_carry_onto_plain_data_returns_data() -> None:
    a = StructuredPrompt.parse(MINIMAL)
    refinement = diff(a, a.set("lighting.direction", "backlit"))
    assert carry(refinement, {**MINIMAL, "context": "x"})["lighting"]["direction"] == "backlit"


def test_patch_values_must_be_json_data() -> None:
    with pytest.raises(PatchError, match="'value' is not JSON data"):
        apply(StructuredPrompt.parse(MINIMAL), [{"op": "add", "path": "/x", "value": {1, 2}}])


def test_carry_recognises_an_item_the_sibling_already_has_in_its_new_form() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [_obj("A zebra.", "left")]})
    b = StructuredPrompt.parse({**MINIMAL, "objects": [_obj("An elephant.", "left", pose="up")]})
    refinement = diff(a, b)
    assert refinement[0].is_replacement
    sibling = b.set("context", "A sibling.")
    assert carry(refinement, sibling).wire == sibling.wire


def test_a_hand_built_diff_that_does_not_fit_is_a_patch_error() -> None:
    from dataclasses import replace

    a = StructuredPrompt.parse(MINIMAL)
    d = diff(a, a.set("context", "x"))
    broken = replace(d, before={"short_description": "only"})
    with pytest.raises(PatchError, match="does not fit its own old prompt"):
        broken.to_json_patch()
