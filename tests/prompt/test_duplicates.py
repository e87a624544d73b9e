"""Duplicate keys are always caught, whatever else the text contains (property-based)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fibo_prompts import PromptParseError, StructuredPrompt
from tests.conftest import MINIMAL

WORDS = st.text(alphabet='abc :;"\\/é{}[],', min_size=0, max_size=12)


def prompt_dicts() -> st.SearchStrategy[dict[str, object]]:
    obj = st.fixed_dictionaries(
        {"description": WORDS, "location": WORDS, "relationship": WORDS},
        optional={"pose": st.none() | WORDS, "number_of_objects": st.integers(2, 9)},
    )
    return st.fixed_dictionaries(
        {
            "short_description": WORDS,
            "background_setting": WORDS,
            "lighting": st.fixed_dictionaries(
                {"conditions": WORDS, "direction": WORDS}, optional={"shadows": WORDS}
            ),
            "aesthetics": st.fixed_dictionaries(
                {"composition": WORDS, "color_scheme": WORDS, "mood_atmosphere": WORDS}
            ),
            "context": WORDS,
        },
        optional={"objects": st.lists(obj, max_size=3), "style_medium": st.none() | WORDS},
    )


STYLES = [
    {"separators": (",", ":")},
    {},
    {"indent": 2},
    {"ensure_ascii": False},
    {"separators": (" , ", " : ")},
]


@settings(max_examples=150, deadline=None)
@given(data=prompt_dicts(), style=st.sampled_from(STYLES), which=st.integers(0, 1000))
def test_a_repeated_key_is_always_reported(
    data: dict[str, object], style: dict, which: int
) -> None:
    text = json.dumps(data, **style)
    assert StructuredPrompt.parse(text).wire == text  # the original parses
    keys = list(re.finditer(r'"(\w+)"(\s*):', text))
    key = keys[which % len(keys)]
    # repeat the key with a string value just before its first occurrence, in the same object
    duplicate = f'"{key[1]}"{key[2]}:"dup: value",'
    broken = text[: key.start()] + duplicate + text[key.start() :]
    with pytest.raises(PromptParseError) as info:
        StructuredPrompt.parse(broken, lenient=True)
    assert info.value.message == f"duplicate key {key[1]!r}"


def test_escaped_colons_cannot_hide_a_duplicate() -> None:
    # two duplicate keys, and two colons written as \u003a: the colon counts line up
    text = json.dumps({**MINIMAL, "context": "a:b:c"}).replace(":b:", "\\u003ab\\u003a")
    text = text.replace('"context"', '"context": "x", "context"').replace(
        '"background_setting"', '"background_setting": "y", "background_setting"'
    )
    with pytest.raises(PromptParseError, match="duplicate key 'background_setting'"):
        StructuredPrompt.parse(text)
