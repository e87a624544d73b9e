"""Paths as ``fibo diff`` prints them (``objects[mug].orientation``) work in get/set/delete
and the commands built on them (issue 15, item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fibo_prompts.cli import app
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


def test_cli_get_set_and_vary_take_labels(tmp_path: Path) -> None:
    runner = CliRunner()
    got = runner.invoke(app, ["get", str(PRODUCT), "objects[mug].orientation"])
    assert (got.exit_code, got.stdout) == (0, "upright, handle facing right\n")
    out = tmp_path / "p.json"
    done = runner.invoke(
        app, ["set", str(PRODUCT), "objects[mug].location", "left", "-o", str(out)]
    )
    assert done.exit_code == 0
    assert json.loads(out.read_text())["objects"][0]["location"] == "left"
    varied = runner.invoke(
        app,
        [
            "vary",
            str(PRODUCT),
            "--set",
            "objects[mug].location=left",
            "--set",
            "objects[mug].location=right",
            "--seed",
            "3",
            "-o",
            str(tmp_path / "run"),
        ],
    )
    assert varied.exit_code == 0, varied.stderr
    bad = runner.invoke(app, ["get", str(PRODUCT), "objects[bag]"])
    assert (bad.exit_code, bad.stdout) == (1, "")
    assert bad.stderr.startswith("error: ")
    assert "objects has no item labelled 'bag'" in bad.stderr
