"""Hostile input to the prompt API (issue 13, items 16 and 17): huge integers, deep nesting,
non-finite numbers and long paths give a FiboPromptsError with a position or a JSON path,
never a bare ValueError or RecursionError."""

from __future__ import annotations

import json
import sys
from typing import Any

import pytest

from fibo_prompts import StructuredPrompt
from fibo_prompts.errors import (
    PromptError,
    PromptParseError,
    PromptPathError,
    PromptValidationError,
)
from tests.conftest import MINIMAL

BASE = json.dumps(MINIMAL)
OBJECT = {
    "description": "A red apple.",
    "location": "center",
    "relationship": "alone",
    "relative_size": "small",
    "shape_and_color": "round, red",
    "texture": "smooth",
    "appearance_details": "shiny",
    "orientation": "upright",
    "number_of_objects": 1,
}


def _with(key: str, raw: str) -> str:
    """BASE with ``"key": raw`` added at the end (raw JSON text)."""
    return BASE[:-1] + f', "{key}": {raw}}}'


def _col(text: str, token: str) -> int:
    return text.index(token) + 1


def _huge_int(digits: int) -> int:
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return int("7" * digits)
    finally:
        sys.set_int_max_str_digits(limit)


def _deep(depth: int) -> dict[str, Any]:
    root: dict[str, Any] = {}
    node = root
    for _ in range(depth - 1):
        node["a"] = {}
        node = node["a"]
    return root


# ---------------------------------------------------------------------- huge integers


@pytest.mark.parametrize("lenient", [False, True])
def test_an_integer_over_4300_digits_is_a_parse_error_with_its_position(lenient: bool) -> None:
    text = _with("x", "7" * 5000)
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse(text, lenient=lenient, source_name="hero.json")
    assert str(info.value) == (
        f"hero.json:1:{_col(text, '777')}: x: an integer of 5,000 digits is too long "
        "(at most 4,300 digits)"
    )


def test_a_huge_integer_in_a_known_field_is_a_parse_error() -> None:
    objects = json.dumps([OBJECT]).replace(
        '"number_of_objects": 1', '"number_of_objects": -' + "9" * 4400
    )
    text = _with("objects", objects)
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse(text)
    assert str(info.value) == (
        f"1:{_col(text, '-999')}: objects[0].number_of_objects: an integer of 4,400 digits is "
        "too long (at most 4,300 digits)"
    )


def test_a_huge_integer_in_a_dict_or_an_edit_names_its_path() -> None:
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse({**MINIMAL, "x": {"y": [1, _huge_int(5000)]}}, lenient=True)
    assert str(info.value) == "x.y[1]: an integer of more than 4,300 digits is too long"
    prompt = StructuredPrompt.parse(BASE, lenient=True)
    with pytest.raises(PromptError) as error:
        prompt.set("x", _huge_int(5000))
    assert str(error.value) == (
        "x: value is not JSON data: an integer of more than 4,300 digits is too long"
    )


def test_long_index_digits_in_a_path_are_a_path_error() -> None:
    prompt = StructuredPrompt.parse(BASE)
    path = "objects[" + "1" * 5000 + "]"
    for call in (lambda: prompt.get(path), lambda: prompt.set(path, 1)):
        with pytest.raises(PromptPathError) as info:
            call()
        assert str(info.value) == (
            f"{path[:79]}…: index at column 8 has 5,000 digits; use an index below 1,000,000,000"
        )


# ---------------------------------------------------------------------- deep nesting


@pytest.mark.parametrize("lenient", [False, True])
def test_a_100000_deep_dict_is_a_parse_error(lenient: bool) -> None:
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse({**MINIMAL, "x": _deep(100_000)}, lenient=lenient)
    assert str(info.value) == "x.a.a.a.a.a.a.a…: nested more than 200 levels deep"


def test_a_dict_just_too_deep_for_the_validator_names_its_path() -> None:
    # json.dumps can write it; the validator cannot read it back: say so of the dict
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse({**MINIMAL, "x": [_deep(300)]}, lenient=True)
    assert str(info.value) == "x[0].a.a.a.a.a.a…: nested more than 200 levels deep"
    # at the limit it is fine
    assert StructuredPrompt.parse({**MINIMAL, "x": _deep(199)}, lenient=True).get("x.a.a") == (
        _deep(197)
    )


def test_deep_text_is_a_parse_error() -> None:
    deep = "JSON nested more than 200 levels deep, too deep to be a structured prompt"
    for depth in (250, 900, 100_000):
        text = _with("x", "[" * depth + "]" * depth)
        for lenient in (False, True):
            with pytest.raises(PromptParseError) as info:
                StructuredPrompt.parse(text, lenient=lenient)
            assert info.value.message == deep


def test_deep_paths_and_values_in_set_are_errors() -> None:
    prompt = StructuredPrompt.parse(BASE, lenient=True)
    path = ".".join(["a"] * 100_000)
    with pytest.raises(PromptPathError) as info:
        prompt.set(path, 1)
    assert str(info.value) == (
        f"{path[:79]}…: path of more than 200 parts; a prompt never nests that deep"
    )
    with pytest.raises(PromptError) as error:
        prompt.set("x", _deep(100_000))
    assert str(error.value) == (
        "x: value is not JSON data at a.a.a.a.a.a.a.a…: nested more than 200 levels deep"
    )
    with pytest.raises(PromptError) as error:
        prompt.set("x", _deep(500))
    assert str(error.value) == (
        "x: value is nested more than 199 levels deep, too deep for a structured prompt"
    )
    # a long path through missing keys builds the nesting itself
    with pytest.raises(PromptError) as error:
        prompt.set(".".join(["b"] * 150), _deep(100))
    assert str(error.value) == (
        f"{'b.' * 39}b…: value is nested more than 50 levels deep, too deep for a structured prompt"
    )


# ---------------------------------------------------------------------- non-finite numbers


@pytest.mark.parametrize("token", ["1e400", "-1e400", "1E+999", "-0.5e99999"])
@pytest.mark.parametrize("lenient", [False, True])
def test_numbers_out_of_range_are_refused_in_every_mode(token: str, lenient: bool) -> None:
    text = _with("x", f'{{"y": [0, {token}]}}')
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse(text, lenient=lenient, source_name="p.json")
    assert str(info.value) == (
        f"p.json:1:{_col(text, token)}: x.y[1]: {token} is not a finite number "
        "(out of range for JSON)"
    )


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_literals_name_their_path(token: str) -> None:
    text = _with("x", f"[{token}]")
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse(text, lenient=True)
    assert str(info.value) == (
        f"1:{_col(text, token)}: x[0]: {token} is not valid JSON (numbers must be finite)"
    )


def test_an_out_of_range_count_is_refused_not_written_as_infinity() -> None:
    objects = json.dumps([OBJECT]).replace('"number_of_objects": 1', '"number_of_objects": 1e400')
    text = _with("objects", objects)
    for lenient in (False, True):
        with pytest.raises(PromptParseError, match=r"objects\[0\]\.number_of_objects: 1e400 is"):
            StructuredPrompt.parse(text, lenient=lenient)


def test_a_long_out_of_range_token_is_shortened() -> None:
    token = "1" * 400 + "e400"
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse(_with("x", token), lenient=True)
    assert str(info.value) == (
        "1:263: x: 11111111111…1111111e400 is not a finite number (out of range for JSON)"
    )


def test_non_finite_values_in_dicts_and_edits_name_their_path() -> None:
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse({**MINIMAL, "x": [float("inf")]}, lenient=True)
    assert str(info.value) == "x[0]: inf is not a finite number"
    obj = {**OBJECT, "number_of_objects": float("nan")}
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse({**MINIMAL, "objects": [obj]})
    assert str(info.value) == "objects[0].number_of_objects: nan is not a finite number"
    prompt = StructuredPrompt.parse(BASE, lenient=True)
    with pytest.raises(PromptError) as error:
        prompt.set("x", {"y": float("-inf")})
    assert str(error.value) == "x: value is not JSON data at y: -inf is not a finite number"


def test_large_finite_numbers_still_round_trip() -> None:
    text = _with("x", "[1e308, -2.5e-300, " + "9" * 4300 + "]")
    prompt = StructuredPrompt.parse(text, lenient=True)
    assert prompt.wire == text
    assert prompt.get("x")[:2] == [1e308, -2.5e-300]
    assert "1e+308" in prompt.canonical()


# ---------------------------------------------------------------------- edits blame the edit


def test_an_edit_that_fails_validation_does_not_blame_the_file() -> None:
    prompt = StructuredPrompt.parse(json.dumps(MINIMAL, indent=2), source_name="hero.json")
    with pytest.raises(PromptValidationError) as info:
        prompt.set("lighting.conditons", "x")
    assert str(info.value) == (
        "1 problem in structured prompt:\n"
        "  lighting.conditons: unknown key; did you mean 'conditions'?"
    )
    assert info.value.source is None
