"""Parsing in strict and lenient mode, and every kind of bad input, with exact errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fibo_prompts import (
    FileAccessError,
    PromptParseError,
    PromptTooLargeError,
    PromptValidationError,
    StructuredPrompt,
)
from tests.conftest import MINIMAL


def text_of(data: object, **kwargs: object) -> str:
    return json.dumps(data, **kwargs)  # type: ignore[arg-type]


def validation_lines(source: str | bytes | dict[str, object], **kwargs: object) -> list[str]:
    with pytest.raises(PromptValidationError) as info:
        StructuredPrompt.parse(source, **kwargs)  # type: ignore[arg-type]
    return [issue.format("p.json") for issue in info.value.issues]


def parse_error(source: str | bytes, **kwargs: object) -> PromptParseError:
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse(source, source_name="p.json", **kwargs)  # type: ignore[arg-type]
    return info.value


def test_all_bria_examples_parse_in_both_modes(bria_text: str) -> None:
    # none of the eight has an unknown key, so strict accepts them all (nulls included)
    lenient = StructuredPrompt.parse(bria_text, lenient=True)
    strict = StructuredPrompt.parse(bria_text)
    assert lenient.lenient and not strict.lenient
    assert lenient == strict
    assert strict.short_description == json.loads(bria_text)["short_description"]


def test_parse_from_str_bytes_dict_and_file(tmp_path: Path) -> None:
    text = text_of(MINIMAL, indent=2)
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    for prompt in (
        StructuredPrompt.parse(text),
        StructuredPrompt.parse(text.encode()),
        StructuredPrompt.load(path),
        StructuredPrompt.load(str(path)),
    ):
        assert prompt.wire == text
        assert prompt.lighting.conditions == "daylight"
    assert StructuredPrompt.load(path).source_name == str(path)
    assert StructuredPrompt.parse(MINIMAL).wire == text_of(MINIMAL, separators=(",", ":"))


def test_strict_rejects_unknown_keys_with_did_you_mean() -> None:
    data = {k: v for k, v in MINIMAL.items() if k != "lighting"}
    data["lightning"] = MINIMAL["lighting"]
    data["aesthetics"] = {**MINIMAL["aesthetics"], "colour_scheme": "x"}  # type: ignore[dict-item]
    text = text_of(data, indent=2)
    assert validation_lines(text, source_name="p.json") == [
        "p.json:8:5: aesthetics.colour_scheme: unknown key; did you mean 'color_scheme'?",
        "p.json:11:3: lightning: unknown key; did you mean 'lighting'?",
    ]


def test_unknown_key_without_a_close_match_says_how_to_keep_it() -> None:
    text = text_of({**MINIMAL, "seed": 5})
    assert validation_lines(text) == [
        "p.json:1:258: seed: unknown key (use --lenient / lenient=True to keep unknown keys)"
    ]


def test_lenient_keeps_unknown_keys_and_round_trips_them() -> None:
    data = {**MINIMAL, "extra": {"nested": [1, {"deep": None}]}}
    data["lighting"] = {**MINIMAL["lighting"], "kelvin": 5600}  # type: ignore[dict-item]
    text = text_of(data, indent=2)
    prompt = StructuredPrompt.parse(text, lenient=True)
    assert prompt.wire == text
    assert prompt.unknown_keys() == ["lighting.kelvin", "extra"]
    assert prompt.get("extra.nested[1].deep") is None
    assert prompt.set("context", "Still.").get("lighting.kelvin") == 5600


def test_explicit_nulls_on_optional_fields_are_accepted() -> None:
    data = {**MINIMAL, "style_medium": None, "text_render": None}
    data["objects"] = [
        {
            "description": "d",
            "location": "l",
            "relationship": "r",
            "pose": None,
            "number_of_objects": None,
        }
    ]
    assert StructuredPrompt.parse(text_of(data)).style_medium is None
    assert StructuredPrompt.parse(text_of(data), lenient=True).objects[0].pose is None  # type: ignore[index]


def test_every_problem_is_listed_with_path_value_and_position() -> None:
    data = {
        "short_description": 42,
        "objects": [
            {"description": "d", "location": "l", "relationship": "r"},
            {"description": "d", "relationship": "r", "number_of_objects": "three"},
        ],
        "background_setting": None,
        "lighting": {"conditions": "c", "direction": ["d"]},
        "aesthetics": {
            "composition": "c",
            "color_scheme": "s",
            "mood_atmosphere": "m",
            "preference_score": "great",
        },
        "text_render": {"text": "HI"},
        "context": "x",
    }
    assert validation_lines(text_of(data, indent=2), source_name="p.json") == [
        "p.json:2:24: short_description: expected a string (got 42)",
        "p.json:9:5: objects[1].location: missing required key",
        'p.json:12:28: objects[1].number_of_objects: expected an integer (got "three")',
        "p.json:15:25: background_setting: expected a string (got null)",
        'p.json:18:18: lighting.direction: expected a string (got ["d"])',
        "p.json:26:25: aesthetics.preference_score: expected one of: very low, low, medium, "
        'high, very high (got "great")',
        'p.json:28:18: text_render: expected an array [...] (got {"text": "HI"})',
    ]


def test_objects_given_as_a_dict() -> None:
    text = text_of({**MINIMAL, "objects": {"a": {"description": "d"}}})
    assert validation_lines(text) == [
        'p.json:1:269: objects: expected an array [...] (got {"a": {"description": "d"}})'
    ]


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(PromptValidationError) as info:
        StructuredPrompt.parse({**MINIMAL, "context": ["word " * 40]})
    assert info.value.issues[0].value == '["' + ("word " * 40)[:57] + "…"


def test_whole_numbers_written_as_floats_count_as_integers() -> None:
    obj = {"description": "d", "location": "l", "relationship": "r", "number_of_objects": 3.0}
    prompt = StructuredPrompt.parse(text_of({**MINIMAL, "objects": [obj]}))
    assert prompt.objects is not None and prompt.objects[0].number_of_objects == 3
    assert '"number_of_objects": 3.0' in prompt.wire
    obj["number_of_objects"] = True
    assert validation_lines(text_of({**MINIMAL, "objects": [obj]}))[0].endswith(
        "objects[0].number_of_objects: expected an integer (got true)"
    )


def test_validation_error_message_lists_every_issue() -> None:
    with pytest.raises(PromptValidationError) as info:
        StructuredPrompt.parse({"short_description": "x"}, source_name="p.json")
    assert str(info.value) == "\n".join(
        [
            "4 problems in structured prompt p.json:",
            "  p.json:1:1: background_setting: missing required key",
            "  p.json:1:1: lighting: missing required key",
            "  p.json:1:1: aesthetics: missing required key",
            "  p.json:1:1: context: missing required key",
        ]
    )


def test_keyword_construction_raises_our_error_not_pydantics() -> None:
    with pytest.raises(PromptValidationError) as info:
        StructuredPrompt(short_description=1)  # type: ignore[arg-type]
    assert [i.path for i in info.value.issues][:2] == ["short_description", "background_setting"]


@pytest.mark.parametrize(
    ("source", "message", "line", "column"),
    [
        ("not json", "not valid JSON: Expecting value", 1, 1),
        ("", "not valid JSON: Expecting value", 1, 1),
        ('{"a": 1,}', "not valid JSON: Expecting property name enclosed in double quotes", 1, 9),
        ("[1, 2]", "expected a JSON object {...}, got an array", 1, 1),
        ('"text"', "expected a JSON object {...}, got a string", 1, 1),
        ("null", "expected a JSON object {...}, got null", 1, 1),
        ('{"a": NaN}', "a: NaN is not valid JSON (numbers must be finite)", 1, 7),
        ('{"a": -Infinity}', "a: -Infinity is not valid JSON (numbers must be finite)", 1, 7),
        ('{"a": 1}\n{"b": 2}', "not valid JSON: Extra data", 2, 1),
        ('{"a": "line\nbreak"}', "not valid JSON: Invalid control character at", 1, 12),
    ],
)
def test_not_a_json_object(source: str, message: str, line: int, column: int) -> None:
    error = parse_error(source)
    assert (error.message, error.line, error.column) == (message, line, column)
    assert str(error).startswith(f"p.json:{line}:{column}: {message}")


def test_duplicate_keys_are_reported_where_the_second_one_is() -> None:
    text = '{\n  "context": "a",\n  "lighting": {"conditions": "c", "conditions": "d"}\n}'
    error = parse_error(text)
    assert (error.message, error.line, error.column) == ("duplicate key 'conditions'", 3, 35)
    assert "silently" in str(error)


def test_duplicate_top_level_key_in_an_otherwise_valid_prompt() -> None:
    text = text_of(MINIMAL, indent=2).replace('"context"', '"context": "first",\n  "context"')
    error = parse_error(text)
    assert (error.message, error.line, error.column) == ("duplicate key 'context'", 14, 3)


def test_colons_inside_values_are_not_mistaken_for_duplicates() -> None:
    text = text_of({**MINIMAL, "context": 'Ratio 16:9; note: "quoted: yes"'})
    assert StructuredPrompt.parse(text).context == 'Ratio 16:9; note: "quoted: yes"'


def test_byte_order_marks_are_refused() -> None:
    for raw, name in [
        (b"\xef\xbb\xbf{}", "UTF-8"),
        (b"\xff\xfe{\x00}\x00", "UTF-16"),
        ("\ufeff{}", "UTF-8"),
    ]:
        error = parse_error(raw)
        assert error.message == f"input starts with a {name} byte-order mark"
        assert "save the file as UTF-8 without BOM" in str(error)


def test_invalid_utf8_is_located() -> None:
    error = parse_error(b'{\n  "context": "caf\xe9"\n}')
    assert (error.message, error.line, error.column) == (
        "invalid UTF-8: byte 0xe9 at byte offset 19",
        2,
        18,
    )


def test_size_limit() -> None:
    text = text_of({**MINIMAL, "context": "x" * 2000})
    with pytest.raises(PromptTooLargeError) as info:
        StructuredPrompt.parse(text, max_bytes=1000)
    assert (info.value.size, info.value.limit) == (len(text), 1000)
    assert "over the 1,000-byte limit" in str(info.value)
    with pytest.raises(PromptTooLargeError):
        StructuredPrompt.parse(text.encode(), max_bytes=1000)
    assert StructuredPrompt.parse(text, max_bytes=len(text)).context == "x" * 2000


def test_large_file_is_refused_without_being_read(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)  # a sparse 50 MB file
    with pytest.raises(PromptTooLargeError) as info:
        StructuredPrompt.load(path)
    assert info.value.size == 50 * 1024 * 1024
    assert str(info.value).startswith(f"{path}: input is 52,428,800 bytes")


def test_deeply_nested_junk() -> None:
    deep = "JSON nested more than 200 levels deep, too deep to be a structured prompt"
    text = '{"a": ' + "[" * 5000 + "]" * 5000 + "}"
    assert parse_error(text).message == deep
    text = '{"a": ' + "[" * 300 + "]" * 300 + "}"
    error = parse_error(text, lenient=True)
    assert error.message == deep
    assert (error.line, error.column) == (1, 207)


def test_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError, match="no such file"):
        StructuredPrompt.load(tmp_path / "missing.json")
    with pytest.raises(FileAccessError, match="is a directory"):
        StructuredPrompt.load(tmp_path)


def test_wrong_source_type() -> None:
    with pytest.raises(PromptParseError, match="cannot parse a int"):
        StructuredPrompt.parse(42)  # type: ignore[arg-type]
    with pytest.raises(PromptParseError, match="not JSON data"):
        StructuredPrompt.parse({**MINIMAL, "context": {1, 2}})
