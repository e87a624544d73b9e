"""Renderings: headline, text lines, word-level changes, rich, HTML, JSON, Jupyter bundle."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from fibo_prompts import StructuredPrompt
from fibo_prompts.diff import PromptDiff, WordSegment, diff, render_rich, render_text
from fibo_prompts.diff._words import word_segments
from tests.conftest import MINIMAL, ROOT


@pytest.fixture
def refinement() -> PromptDiff:
    """Six changes of every kind on the product shot."""
    a = StructuredPrompt.load(ROOT / "examples" / "product_shot.json")
    short = a.get("short_description").replace("light oak", "dark walnut")
    spoon = {"description": "A small brass spoon.", "location": "right", "relationship": "Beside."}
    b = (
        a.set("lighting.conditions", "golden hour")
        .delete("lighting.shadows")
        .set("short_description", short)
        .set("objects[2]", spoon)
        .set("photographic_characteristics.lens_focal_length", "85mm")
    )
    data = b.to_dict()
    data["objects"][0], data["objects"][1] = data["objects"][1], data["objects"][0]
    return diff(a, StructuredPrompt.parse(data, source_name="refined.json"))


def test_text_rendering(refinement: PromptDiff) -> None:
    assert refinement.to_text() == (
        "6 changes: lighting (2), short_description (1), objects[mug] (1), objects[spoon] (1), "
        "photographic_characteristics (1)\n"
        "~ short_description: ... rim stands on a [-light oak-]{+dark walnut+} table, steam "
        "curling from ...\n"
        "> objects[mug]: moved from index 0 to 1\n"
        '+ objects[spoon]: "A small brass spoon."\n'
        '~ lighting.conditions: "soft studio lighting" -> "golden hour"\n'
        '- lighting.shadows: "soft, short shadow to the right of the mug"\n'
        '~ photographic_characteristics.lens_focal_length: "100mm macro" -> "85mm"\n'
    )
    assert str(refinement) == refinement.to_text() == render_text(refinement)
    assert refinement.lines() == refinement.to_text().splitlines()[1:]
    assert repr(refinement) == f"<PromptDiff {refinement.headline()}>"
    assert repr(refinement[0]) == "<Change changed short_description>"


def test_headline_counts_groups_most_changed_first() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [_zebra()]})
    b = a.set("lighting.conditions", "dusk").set("lighting.shadows", "long")
    b = b.set("objects[0].pose", "grazing")
    assert diff(a, b).headline() == "3 changes: lighting (2), objects[zebra] (1)"
    assert diff(a, a.set("context", "x")).headline() == "1 change: context (1)"


def _zebra() -> dict[str, str]:
    return {"description": "A zebra.", "location": "center", "relationship": "alone"}


def test_replacement_and_removed_item_lines() -> None:
    a = StructuredPrompt.parse(
        {**MINIMAL, "objects": [_zebra(), {**_zebra(), "description": "A cat."}]}
    )
    other = {
        "description": "A violet hot-air balloon drifting.",
        "location": "sky",
        "relationship": "far",
    }
    b = a.set("objects[0]", other).delete("objects[1]")
    assert diff(a, b).lines() == [
        '~ objects[zebra]: replaced: "A zebra." -> "A violet hot-air balloon drifting."',
        '- objects[cat]: "A cat."',
    ]


def test_long_item_summaries_are_shortened() -> None:
    long = "A wooden table " + "with many carved details " * 5
    a = StructuredPrompt.parse({**MINIMAL, "objects": [{**_zebra(), "description": long}]})
    b = a.delete("objects[0]")
    (line,) = diff(a, b).lines()
    assert line == '- objects[table]: "A wooden table with many carved details with many carved..."'


def test_word_segments_join_back_to_both_texts() -> None:
    segments = word_segments("a zebra stands", "an elephant stands")
    assert segments == (
        WordSegment("delete", "a zebra"),
        WordSegment("insert", "an elephant"),
        WordSegment("equal", " stands"),
    )
    assert word_segments("side-lit from left with a fill", "side-lit from left") == (
        WordSegment("equal", "side-lit from left"),
        WordSegment("delete", " with a fill"),
    )
    # nothing in common: one replacement, not a confetti of small ones
    assert word_segments("soft short shadow", "harsh noon light") == (
        WordSegment("delete", "soft short shadow"),
        WordSegment("insert", "harsh noon light"),
    )


@settings(max_examples=150, deadline=None)
@given(
    st.text(alphabet="ab c.,-'\n", max_size=40),
    st.text(alphabet="ab c.,-'\n", max_size=40),
)
def test_word_segments_invariant(old: str, new: str) -> None:
    segments = word_segments(old, new)
    assert "".join(s.text for s in segments if s.op != "insert") == old
    assert "".join(s.text for s in segments if s.op != "delete") == new
    assert all(s.text for s in segments)


def test_words_only_for_long_strings() -> None:
    a = StructuredPrompt.parse(MINIMAL)
    short = diff(a, a.set("context", "A still life."))
    assert short[0].words is None
    long = a.set("context", "A simple still life painted in oils for a gallery wall.")
    longer = long.set("context", "A simple still life painted in watercolour for a gallery wall.")
    (change,) = diff(long, longer)
    assert change.words == (
        WordSegment("equal", "A simple still life painted in "),
        WordSegment("delete", "oils"),
        WordSegment("insert", "watercolour"),
        WordSegment("equal", " for a gallery wall."),
    )


def test_json_rendering_is_exact() -> None:
    a = StructuredPrompt.parse({**MINIMAL, "objects": [_zebra()]}, source_name="a.json")
    b = StructuredPrompt.parse(
        {**MINIMAL, "objects": [{**_zebra(), "pose": "grazing"}], "context": "Zoo."},
        source_name="b.json",
    )
    expected = {
        "equal": False,
        "headline": "2 changes: context (1), objects[zebra] (1)",
        "a": "a.json",
        "b": "b.json",
        "options": {
            "ignore_nulls": False,
            "ignore_scores": False,
            "ignore_case": False,
            "ignore_whitespace": False,
        },
        "groups": {"context": 1, "objects[zebra]": 1},
        "single_attribute": False,
        "changes": [
            {
                "path": "context",
                "kind": "changed",
                "group": "context",
                "a_path": "context",
                "b_path": "context",
                "old": "Still life.",
                "new": "Zoo.",
                "words": None,
            },
            {
                "path": "objects[zebra].pose",
                "kind": "added",
                "group": "objects[zebra]",
                "a_path": "objects[0].pose",
                "b_path": "objects[0].pose",
                "old": None,
                "new": "grazing",
                "words": None,
            },
        ],
    }
    result = diff(a, b)
    assert result.to_data() == expected
    assert result.to_json() == json.dumps(expected, indent=2)
    assert result.to_json(indent=None) == json.dumps(expected)


def test_html_of_one_change_is_exact() -> None:
    a = StructuredPrompt.parse(MINIMAL)
    html = diff(a, a.set("lighting.conditions", "dusk & <rain>")).to_html()
    cell = (
        "border:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left;"
        "white-space:pre-wrap;word-break:break-word"
    )
    head = cell + ";background:#f6f8fa;font-weight:600"
    table = "border-collapse:collapse;width:100%;table-layout:fixed;margin:0"
    assert html.startswith(
        '<div class="fibo-diff" style="font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,'
        'monospace;font-size:12px;line-height:1.45;color:#1f2328">'
        '<div style="font-weight:600;margin:0 0 6px 0">1 change: lighting (1)</div>'
        f'<table style="{table}"><colgroup><col style="width:24%"><col style="width:38%">'
        '<col style="width:38%"></colgroup>'
        f'<thead><tr><th style="{head}">field</th><th style="{head}">A (before)</th>'
        f'<th style="{head}">B (after)</th></tr></thead><tbody>'
        f'<tr><td style="{cell}"><span style="color:#9a6700;font-weight:600">~</span> '
        "lighting.conditions</td>"
        f'<td style="{cell};background:#fff5f5"><del style="background:#ffc9c9;'
        'text-decoration:line-through;color:#82071e">daylight</del></td>'
        f'<td style="{cell};background:#f0fff4"><ins style="background:#b4f0c2;'
        'text-decoration:none;color:#055d20">dusk &amp; &lt;rain&gt;</ins></td></tr>'
        "</tbody></table>"
        '<details style="margin-top:6px"><summary style="cursor:pointer;color:#57606a">'
        "7 unchanged fields</summary>"
    )
    assert html.endswith("</tbody></table></details></div>")


def test_html_side_by_side_with_word_highlights_and_folded_fields(refinement: PromptDiff) -> None:
    html = refinement.to_html()
    assert "<script" not in html.lower() and "onclick" not in html
    assert f"A: {ROOT / 'examples' / 'product_shot.json'}</th>" in html
    assert "B: refined.json</th>" in html
    assert ">light oak</del>" in html and ">dark walnut</ins>" in html
    assert "moved to index 1" in html
    # the mug's fields are unchanged (it only moved): they are folded, not shown as changes
    assert "25 unchanged fields</summary>" in html
    assert "objects[mug].texture</td>" in html
    document = refinement.to_html(document=True)
    assert document.startswith("<!DOCTYPE html>\n<html")
    assert html in document


def test_mimebundle_honours_include_and_exclude(refinement: PromptDiff) -> None:
    from fibo_prompts.notebook import diff_html

    bundle = refinement._repr_mimebundle_()
    assert bundle == {"text/plain": refinement.to_text(), "text/html": diff_html(refinement)}
    assert bundle["text/html"].endswith(refinement.to_html() + "</div>")
    assert refinement._repr_mimebundle_(include=["text/plain"]) == {
        "text/plain": refinement.to_text()
    }
    assert refinement._repr_mimebundle_(exclude=["text/plain"]) == {
        "text/html": diff_html(refinement)
    }


def test_rich_rendering_colours_each_kind(refinement: PromptDiff) -> None:
    text = render_rich(refinement)
    assert text.plain.splitlines()[1] == (
        "~ short_description: ... rim stands on a light oakdark walnut table, steam curling "
        "from ..."
    )
    assert text.plain.splitlines()[2:] == refinement.lines()[1:]
    styles = {text.plain[span.start : span.end]: str(span.style) for span in text.spans}
    assert styles["light oak"] == "red strike"
    assert styles["dark walnut"] == "bold green"
    assert styles['"golden hour"'] == "green"
    assert styles[">"] == "bold cyan"
    out = io.StringIO()
    Console(file=out, width=200, color_system="standard", force_terminal=True).print(refinement)
    assert "\x1b[" in out.getvalue() and "objects[spoon]" in out.getvalue()
