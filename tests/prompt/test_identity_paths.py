"""Paths as ``fibo diff`` prints them (``objects[mug].orientation``) work in get/set/delete
and the commands built on them (issue 15, item 8)."""

from __future__ import annotations

import pytest

from fibo_prompts.errors import PromptPathError
from fibo_prompts.prompt import StructuredPrompt, format_path, parse_path
from tests.conftest import ROOT

PRODUCT = ROOT / "examples" / "product_shot.json"


def prompt() -> StructuredPrompt:
    return StructuredPrompt.load(PRODUCT)


def test_a_label_parses_and_shows_as_diff_prints_it() -> None:
    parts = parse_path("objects[mug].orientation")
    assert parts == ("objects", "mug", "orientation")
    assert format_path(parts) == "objects[mug].orientation"
    assert format_path(parse_path("objects[glass#2]")) == "objects[glass#2]"
    assert format_path(parse_path("text_render[summer-sale].text")) == (
        "text_render[summer-sale].text"
    )


def test_get_and_set_by_label_are_get_and_set_by_index() -> None:
    p = prompt()
    assert p.get("objects[mug].orientation") == p.get("objects[0].orientation")
    assert p.get("objects[tabletop]") == p.get("objects[1]")
    edited = p.set("objects[mug].orientation", "upside down")
    assert edited.wire == p.set("objects[0].orientation", "upside down").wire


def test_the_path_diff_prints_is_accepted_by_set() -> None:
    from fibo_prompts.diff import diff

    p = prompt()
    changed = p.set("objects[1].texture", "rough")
    [change] = diff(p, changed).changes
    assert change.path == "objects[tabletop].texture"
    assert p.set(change.path, "rough").wire == changed.wire


def test_an_absent_label_lists_the_labels() -> None:
    with pytest.raises(PromptPathError) as info:
        prompt().get("objects[bag].orientation")
    assert str(info.value) == (
        "objects[bag].orientation: objects has no item labelled 'bag' "
        "(labels, as fibo diff prints them: mug, tabletop)"
    )


def test_an_ambiguous_label_names_the_numbered_ones() -> None:
    p = prompt().set("objects[1].description", "A second black ceramic mug.")
    assert p.get("objects[mug#2].description") == "A second black ceramic mug."
    with pytest.raises(PromptPathError) as info:
        p.set("objects[mug].location", "left")
    assert str(info.value) == (
        "objects[mug].location: objects has 2 items labelled 'mug': use objects[mug#1] "
        "or objects[mug#2] (or an index)"
    )
