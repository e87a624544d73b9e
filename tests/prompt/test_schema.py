"""The generated JSON Schemas: not stale, and in agreement with the models."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from fibo_prompts import PromptValidationError, StructuredPrompt
from fibo_prompts.prompt.schema import SCHEMA_FILES, prompt_schema, schema_text
from tests.conftest import BRIA_EXAMPLE_NAMES, PROJECT_EXAMPLES, ROOT, bria_example

SCHEMAS = ROOT / "schemas"


@pytest.mark.parametrize("profile", sorted(SCHEMA_FILES))
def test_checked_in_schema_is_not_stale(profile: str) -> None:
    path = SCHEMAS / SCHEMA_FILES[profile]
    assert path.read_text(encoding="utf-8") == schema_text(lenient=profile == "lenient"), (
        f"{path} is stale: run `fibo schema --export schemas` (or `make schemas`) and commit it"
    )


def test_schema_is_draft_2020_12_with_descriptions_examples_and_no_enums() -> None:
    schema = prompt_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    assert prompt_schema(lenient=True)["additionalProperties"] is True
    location = schema["$defs"]["PromptObject"]["properties"]["location"]
    assert location["description"] == "Where the object is in the frame."
    assert "center" in location["examples"]
    enums = [path for path, _ in _walk(schema) if path.endswith("enum")]
    assert all("score" in path for path in enums)  # the quality labels are the only enum


def _walk(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}/{key}", value
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


def _examples() -> list[dict[str, Any]]:
    found = [json.loads(p.read_text(encoding="utf-8")) for p in PROJECT_EXAMPLES]
    for name in BRIA_EXAMPLE_NAMES:
        path = ROOT.parent / "shared" / "reference" / "examples" / name
        if path.is_file():
            found.append(json.loads(bria_example(name)))
    return found


def _mutations(data: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Small, realistic breakages (and a few harmless changes) of a valid prompt."""
    yield data
    for key in list(data):
        broken = copy.deepcopy(data)
        del broken[key]
        yield broken
        for bad in (42, None, [], {}, True, "text"):
            broken = copy.deepcopy(data)
            broken[key] = bad
            yield broken
    for group in ("lighting", "aesthetics", "photographic_characteristics"):
        if isinstance(data.get(group), dict):
            for key in list(data[group]):
                broken = copy.deepcopy(data)
                del broken[group][key]
                yield broken
                broken = copy.deepcopy(data)
                broken[group][key] = 7
                yield broken
            broken = copy.deepcopy(data)
            broken[group]["lightning"] = "x"
            yield broken
    for score in ("very high", "great", None, 5):
        broken = copy.deepcopy(data)
        broken["aesthetics"]["preference_score"] = score
        yield broken
    for item in data.get("objects") or []:
        index = data["objects"].index(item)
        for key in ("description", "location", "relationship", "pose"):
            broken = copy.deepcopy(data)
            broken["objects"][index].pop(key, None)
            yield broken
        for count in (3, 2.0, 2.5, "3", True, None, -1):
            broken = copy.deepcopy(data)
            broken["objects"][index]["number_of_objects"] = count
            yield broken
        broken = copy.deepcopy(data)
        broken["objects"][index]["colour"] = "red"
        yield broken
    broken = copy.deepcopy(data)
    broken["text_render"] = [{"text": "HI", "location": "top", "size": "l", "color": "r"}]
    yield broken
    broken = copy.deepcopy(data)
    broken["vendor_field"] = {"anything": [1, 2]}
    yield broken


def _model_accepts(data: dict[str, Any], *, lenient: bool) -> bool:
    try:
        StructuredPrompt.parse(data, lenient=lenient)
    except PromptValidationError:
        return False
    return True


@pytest.mark.parametrize("lenient", [False, True])
def test_jsonschema_and_models_agree_on_examples_and_mutations(lenient: bool) -> None:
    validator = jsonschema.Draft202012Validator(prompt_schema(lenient=lenient))
    checked = disagreements = 0
    accepted = rejected = 0
    for example in _examples():
        for variant in _mutations(example):
            by_schema = validator.is_valid(variant)
            by_model = _model_accepts(variant, lenient=lenient)
            checked += 1
            accepted += by_model
            rejected += not by_model
            if by_schema != by_model:
                disagreements += 1
                pytest.fail(f"schema says {by_schema}, models say {by_model}: {variant}")
    assert disagreements == 0
    assert checked > 500 and accepted > 50 and rejected > 300


def test_export_writes_every_schema(tmp_path: Path) -> None:
    from fibo_prompts.schemas import export_schemas

    written = export_schemas(tmp_path / "out")
    assert sorted(p.name for p in written) == sorted(
        [*SCHEMA_FILES.values(), "brand_kit.schema.json"]
    )
    for path in written:
        assert path.read_text(encoding="utf-8") == (SCHEMAS / path.name).read_text(encoding="utf-8")


def test_every_field_has_a_description_and_examples() -> None:
    schema = prompt_schema()
    objects = [schema, *schema["$defs"].values()]
    checked = 0
    for obj in objects:
        for name, prop in obj["properties"].items():
            assert prop.get("description"), name
            assert prop.get("examples"), name
            checked += 1
    assert checked == 11 + 15 + 3 + 5 + 4 + 6
