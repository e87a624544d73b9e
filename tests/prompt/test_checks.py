"""Warnings beyond types: conventions FIBO was trained on."""

from __future__ import annotations

import json

from fibo_prompts import StructuredPrompt
from tests.conftest import MINIMAL


def obj(description: str = "An apple.", **extra: object) -> dict[str, object]:
    return {"description": description, "location": "center", "relationship": "r", **extra}


def test_clean_prompts_have_no_warnings(project_text: str) -> None:
    assert StructuredPrompt.parse(project_text).check() == []


def test_bria_examples_have_no_warnings(bria_text: str) -> None:
    assert StructuredPrompt.parse(bria_text).check() == []


def test_every_convention_warning() -> None:
    data = {
        **MINIMAL,
        "short_description": "word " * 201,
        "objects": [obj("long " * 101), obj(number_of_objects=1), *[obj() for _ in range(4)]],
        "text_render": [
            {
                "text": "Your text here",
                "location": "top",
                "size": "large",
                "color": "red",
                "font": "serif",
            },
            {"text": "SALE", "location": "top", "size": "large", "color": "red", "font": "serif"},
        ],
        "style_medium": "watercolor",
        "artistic_style": "soft dreamy pastel storybook look",
    }
    prompt = StructuredPrompt.parse(json.dumps(data, indent=2))
    assert [w.format("p.json") for w in prompt.check()] == [
        "p.json:2:24: short_description: warning: 201 words; FIBO's convention is at most 200",
        "p.json:14:14: objects: warning: 6 objects; FIBO describes at most 5 prominent objects "
        "(describe the rest in background_setting)",
        "p.json:16:22: objects[0].description: warning: 101 words; FIBO's convention is at most "
        "100",
        "p.json:24:28: objects[1].number_of_objects: warning: 1: number_of_objects is for "
        "clusters of 2 or more; leave it out",
        "p.json:49:15: text_render[0].text: warning: 'Your text here' is not exact text; FIBO "
        "paints exactly the string given, so give the real words",
        "p.json:64:21: artistic_style: warning: 5 words; for non-photographs Bria's convention "
        "is at most 3",
    ]
    assert {w.severity for w in prompt.check()} == {"warning"}


def test_token_length_warnings() -> None:
    near = StructuredPrompt.parse({**MINIMAL, "background_setting": "x " * 4200})
    assert near.estimated_tokens() == 2466
    assert [w.format() for w in near.check()] == [
        "1:1: (prompt): warning: about 2,466 tokens (estimated), near FIBO's 3,000-token cap; "
        "text past the cap is cut silently",
    ]
    over = StructuredPrompt.parse({**MINIMAL, "background_setting": "x " * 6000})
    assert "over FIBO's 3,000-token cap" in over.check()[0].message


def test_lenient_unknown_keys_are_warned_about() -> None:
    prompt = StructuredPrompt.parse({**MINIMAL, "seed": 3}, lenient=True)
    assert [w.format() for w in prompt.check()] == [
        "1:240: seed: warning: unknown key, kept as is (FIBO's own cleaner would drop it)"
    ]
