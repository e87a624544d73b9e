"""The prompt editor, driven headlessly: set widget values, click buttons, read state."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fibo_prompts import StructuredPrompt
from fibo_prompts.editor import PromptEditor
from fibo_prompts.errors import APIConnectionError
from fibo_prompts.generate import Client
from tests.conftest import ROOT

PRODUCT = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")
MINIMAL = (ROOT / "examples" / "minimal.json").read_text(encoding="utf-8")
RED = "2px solid #d1242f"


@pytest.fixture
def client(tmp_path: Path) -> Any:
    with Client("preview", image_dir=tmp_path / "images", rng=random.Random(3)) as c:
        yield c


@pytest.fixture
def editor(client: Client) -> Any:
    e = PromptEditor(StructuredPrompt.parse(PRODUCT), client=client, seed=7)
    yield e
    e.close()


def test_the_form_starts_from_the_prompt(editor: PromptEditor) -> None:
    fields = editor.fields
    assert fields["lighting.conditions"].value == "soft studio lighting"
    assert fields["lighting.conditions"].tooltip == "The lighting conditions."
    assert fields["photographic_characteristics.lens_focal_length"].value == "100mm macro"
    assert fields["aesthetics.preference_score"].value == ""
    assert fields["aesthetics.preference_score"].options == (
        "",
        "very low",
        "low",
        "medium",
        "high",
        "very high",
    )
    assert json.loads(fields["objects[1]"].value) == StructuredPrompt.parse(PRODUCT).get(
        "objects[1]"
    )
    assert "text_render[0]" not in fields
    assert editor.errors == {}
    assert editor.prompt.wire == PRODUCT
    assert editor.messages.value == '<span style="color:#1f883d">&#10003; valid</span>'


def test_edits_change_only_the_edited_values_bytes(editor: PromptEditor) -> None:
    original = StructuredPrompt.parse(PRODUCT)
    editor.fields["lighting.conditions"].value = "golden hour"
    editor.fields["aesthetics.preference_score"].value = "very high"
    expected = original.set("lighting.conditions", "golden hour").set(
        "aesthetics.preference_score", "very high"
    )
    assert editor.prompt.wire == expected.wire
    editor.fields["lighting.shadows"].value = ""  # optional: cleared means absent
    assert editor.prompt.wire == expected.delete("lighting.shadows").wire
    editor.fields["context"].value = ""  # required: stays, empty
    assert editor.prompt.get("context") == ""


def test_invalid_values_are_shown_at_their_paths(editor: PromptEditor) -> None:
    area = editor.fields["objects[0]"]
    bad = json.loads(area.value)
    bad["relationshp"] = bad.pop("relationship")
    area.value = json.dumps(bad)
    assert editor.errors == {
        "objects[0].relationshp": ["unknown key; did you mean 'relationship'?"],
    }
    assert area.layout.border == RED
    assert editor.fields["objects[1]"].layout.border is None
    assert editor.prompt.wire == PRODUCT  # the last valid value is kept
    assert "<code>objects[0].relationshp</code>: unknown key; did you mean" in (
        editor.messages.value.replace("&#x27;", "'")
    )
    assert editor.generate() is None
    assert editor.status.value == (
        '<span style="color:#d1242f">not generated: fix the 1 error first</span>'
    )
    assert editor.generations == []
    area.value = area.value.replace("relationshp", "relationship")
    assert editor.errors == {}
    assert area.layout.border is None
    assert editor.prompt.get("objects[0].relationship") == bad["relationshp"]


def test_text_that_is_not_json_is_an_error_with_its_position(editor: PromptEditor) -> None:
    editor.fields["objects[1]"].value = '{"description": "x",\n  "location" "c"}'
    assert editor.errors == {
        "objects[1]": ["not valid JSON: Expecting ':' delimiter (line 2, column 14)"]
    }
    editor.fields["aesthetics.mood_atmosphere"].value = "moody"  # other edits still apply
    assert editor.prompt.get("aesthetics.mood_atmosphere") == "moody"
    assert editor.prompt.get("objects[1]") == StructuredPrompt.parse(PRODUCT).get("objects[1]")


def test_an_absent_group_is_created_when_its_required_fields_are_filled(client: Client) -> None:
    editor = PromptEditor(MINIMAL, client=client)
    editor.fields["photographic_characteristics.camera_angle"].value = "low angle"
    assert editor.errors == {
        "photographic_characteristics.depth_of_field": ["missing required key"],
        "photographic_characteristics.focus": ["missing required key"],
        "photographic_characteristics.lens_focal_length": ["missing required key"],
    }
    assert editor.fields["photographic_characteristics.focus"].layout.border == RED
    assert "photographic_characteristics" not in editor.prompt.to_dict()
    filled = {"depth_of_field": "deep", "focus": "sharp", "lens_focal_length": "35mm"}
    for key, value in filled.items():
        editor.fields[f"photographic_characteristics.{key}"].value = value
    assert editor.errors == {}
    assert editor.prompt.get("photographic_characteristics") == {
        "depth_of_field": "deep",
        "focus": "sharp",
        "camera_angle": "low angle",
        "lens_focal_length": "35mm",
    }
    assert editor.prompt.wire.startswith(MINIMAL[: MINIMAL.index('"context"')])


def test_objects_and_text_items_are_added_and_removed(editor: PromptEditor) -> None:
    editor.add_item("text_render")
    assert editor.prompt.get("text_render") == [
        {"text": "", "location": "center", "size": "medium", "color": "", "font": ""}
    ]
    assert "text_render[0]" in editor.fields
    assert "<code>text_render[0].text</code>: &#x27;&#x27; is not exact text" in (
        editor.messages.value
    )
    editor.add_item("objects")
    assert len(editor.prompt.get("objects")) == 3
    editor.remove_item("objects", 0)
    assert sorted(p for p in editor.fields if p.startswith("objects")) == [
        "objects[0]",
        "objects[1]",
    ]
    assert json.loads(editor.fields["objects[0]"].value)["description"].startswith(
        "A light oak tabletop"
    )


def test_locked_seed_then_drawn_seeds_with_the_diff_beside_the_image(
    editor: PromptEditor,
) -> None:
    editor.generate_button.click()
    first = editor.generations[-1]
    assert first.seed == 7 and first.wire == PRODUCT and first.preview
    assert editor.image.value[:8] == b"\x89PNG\r\n\x1a\n"
    assert "first generation: nothing to compare yet" in editor.comparison.value
    assert editor.last_diff is None
    assert editor.status.value.startswith(
        '<span style="color:#1f883d">PREVIEW (not a FIBO render): backend preview, seed 7, '
    )

    editor.fields["lighting.conditions"].value = "golden hour"
    editor.generate_button.click()
    second = editor.generations[-1]
    assert second.seed == 7  # locked
    assert editor.last_diff is not None and editor.last_diff.paths == ["lighting.conditions"]
    assert editor.comparison.value.startswith(
        "<div><b>since the previous generation:</b> same seed, 1 field changed "
        "(lighting.conditions), image "
    )
    assert '<div class="fibo-diff-panel"' in editor.comparison.value
    assert ">golden hour</ins>" in editor.comparison.value

    editor.lock.value = False
    drawn = [editor.generate(), editor.generate()]
    seeds = [g.seed for g in drawn if g is not None]
    assert len(seeds) == 2 and 7 not in seeds and seeds[0] != seeds[1]
    assert editor.seed.value == seeds[1]  # the field shows the seed used
    assert editor.last_diff is not None and not editor.last_diff  # same prompt
    assert editor.comparison.value.startswith(
        f"<div><b>since the previous generation:</b> seed {seeds[0]} -&gt; {seeds[1]}, "
        "prompt unchanged, image changed "
    )
    assert len(editor.generations) == 4


class _FailingClient:
    def generate(self, request: Any) -> Any:
        raise APIConnectionError("connection refused", backend="bria")


def test_a_failed_generation_is_reported_in_the_status_line() -> None:
    editor = PromptEditor(PRODUCT, client=_FailingClient())  # type: ignore[arg-type]
    assert editor.generate() is None
    assert editor.status.value.startswith('<span style="color:#d1242f">not generated: ')
    assert "connection refused" in editor.status.value
    assert editor.generations == []


def test_the_default_client_is_offline_and_closed_with_the_editor(tmp_path: Path) -> None:
    editor = PromptEditor(MINIMAL, image_dir=tmp_path / "img", seed=3)
    generation = editor.generate()
    assert generation is not None and generation.backend == "preview" and generation.seed == 3
    assert generation.image_path.parent.parent == tmp_path / "img"
    editor.close()
    assert editor._client is None


def test_the_editor_displays_as_a_widget(editor: PromptEditor) -> None:
    bundle = editor._repr_mimebundle_()
    view = bundle["application/vnd.jupyter.widget-view+json"]
    assert view["model_id"] == editor.widget.model_id
    assert bundle["text/plain"].startswith("VBox(")


def test_without_ipywidgets_the_editor_names_the_extra() -> None:
    script = (
        "import sys\n"
        "sys.modules['ipywidgets'] = None\n"
        "from fibo_prompts.errors import DependencyMissingError\n"
        "try:\n"
        "    from fibo_prompts.notebook import PromptEditor\n"
        "except DependencyMissingError as error:\n"
        "    print(type(error).__name__, error.package, error.extra)\n"
        "    print(error)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out == (
        "DependencyMissingError ipywidgets notebook\n"
        "the prompt editor needs ipywidgets: ipywidgets is not installed; install it with "
        "pip install 'fibo-prompts[notebook]'\n"
    )
