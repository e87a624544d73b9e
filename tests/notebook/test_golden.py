"""Golden HTML of every display on fixed inputs.

Rewrite them with ``FIBO_UPDATE_GOLDEN=1 .venv/bin/pytest tests/notebook/test_golden.py`` and
review the diff: the files hold one element per line, embedded PNGs masked.
"""

from __future__ import annotations

from pathlib import Path

from notebook_helpers import (
    FakeCell,
    FakeRun,
    check_golden,
    make_generation,
    parse_html,
    png_bytes,
    version,
)

from fibo_prompts import StructuredPrompt
from fibo_prompts.brand import BrandKit, lint
from fibo_prompts.diff import diff
from fibo_prompts.library.models import VersionLog
from fibo_prompts.notebook import image_bundle, variation_bundle

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def _example(name: str) -> StructuredPrompt:
    return StructuredPrompt.parse((EXAMPLES / name).read_text(encoding="utf-8"))


def _html(obj: object) -> str:
    html: str = obj._repr_mimebundle_()["text/html"]  # type: ignore[attr-defined]
    parse_html(html)
    return html


def test_prompt() -> None:
    check_golden("prompt_product_shot", _html(_example("product_shot.json")))


def test_prompt_with_warnings_and_text() -> None:
    prompt = _example("text_render.json").set("text_render[0].text", "TBD")
    check_golden("prompt_text_render_warning", _html(prompt))


def test_diff() -> None:
    a = _example("product_shot.json")
    b = (
        a.set("lighting.conditions", "golden hour")
        .set("short_description", a.short_description.replace("light oak", "dark walnut"))
        .delete("objects[1]")
    )
    check_golden("diff", _html(diff(a, b)))


def test_generation(image_file: Path) -> None:
    generation = make_generation(image_file, wire=_example("minimal.json").wire)
    check_golden("generation", _html(generation), tmp=image_file.parent)


def test_lint_findings() -> None:
    kit = BrandKit.load(ROOT / "templates" / "brands" / "northwind.yaml")
    check_golden("findings", _html(lint(_example("text_render.json"), kit)))


def test_library_log() -> None:
    entries = VersionLog(
        [
            version(4, parents=("bottle@3", "bottle@2"), labels=("production",), message="merge"),
            version(3, parents=("bottle@1",), tags=("hero", "winter"), message="winter\nbody"),
            version(2, labels=("staging",)),
            version(1),
        ]
    )
    check_golden("log", _html(entries))


def test_contact_sheet(tmp_path: Path, image_file: Path) -> None:
    base = _example("product_shot.json")
    sheet = tmp_path / "sheet.png"
    sheet.write_bytes(png_bytes((200, 100)))
    cells = []
    for seed, light in [(1, "golden hour"), (2, "overcast")]:
        prompt = base.set("lighting.conditions", light)
        cells.append(
            FakeCell(
                {"lighting.conditions": light},
                seed,
                diff(base, prompt),
                make_generation(image_file, wire=prompt.wire),
            )
        )
    cells.append(FakeCell({"lighting.conditions": "night"}, 3, None, None, error="timed out"))
    html = variation_bundle(FakeRun(cells, sheet))["text/html"]
    parse_html(html)
    check_golden("contact_sheet", html, tmp=tmp_path)


def test_image_bundle() -> None:
    html = image_bundle(png_bytes(), title="A & B", text="t", caption_html="<i>c</i>")
    check_golden("image", html["text/html"])
