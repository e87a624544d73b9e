"""Jupyter mime bundles of prompts, diffs, generations, lint findings, logs and runs."""

from __future__ import annotations

import base64
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from notebook_helpers import (
    FakeCell,
    FakeRun,
    make_generation,
    parse_html,
    png_bytes,
    version,
)
from PIL import Image

from fibo_prompts import StructuredPrompt
from fibo_prompts.brand import BrandKit, lint
from fibo_prompts.brand.lint import LintReport
from fibo_prompts.diff import diff
from fibo_prompts.library import Library
from fibo_prompts.library.models import VersionLog
from fibo_prompts.notebook import (
    escape,
    findings_html,
    generation_html,
    image_bundle,
    log_html,
    prompt_html,
    thumbnail,
    variation_bundle,
)
from fibo_prompts.notebook.log import MAX_ENTRIES

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")
TEXT_RENDER = (ROOT / "examples" / "text_render.json").read_text(encoding="utf-8")
NORTHWIND = ROOT / "templates" / "brands" / "northwind.yaml"
HOSTILE = '<script>alert("x")</script> & <b>bold</b>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"


def _png_size(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        assert image.format == "PNG"
        return image.size


# --------------------------------------------------------------------------- prompt


def test_prompt_bundle_is_text_and_html_and_json_only_on_request() -> None:
    prompt = StructuredPrompt.parse(PRODUCT)
    bundle = prompt._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == (
        "StructuredPrompt: 2 objects, ~544 tokens, wire sha256:c62ee7955718\n"
        + prompt.to_json("pretty")
    )
    assert prompt._repr_mimebundle_(include=["application/json"]) == {
        "application/json": prompt.to_dict()
    }
    assert set(prompt._repr_mimebundle_(exclude=["text/html"])) == {"text/plain"}
    assert prompt._repr_mimebundle_(include=["text/html"], exclude=["text/html"]) == {}


def test_prompt_html_annotates_fields_and_shows_warnings() -> None:
    prompt = StructuredPrompt.parse(TEXT_RENDER).set("text_render[0].text", "TBD")
    html = prompt._repr_mimebundle_()["text/html"]
    parse_html(html)
    message = (
        "&#x27;TBD&#x27; is not exact text; FIBO paints exactly the string given, so give the "
        "real words"
    )
    # listed at the top with its path, and again at the field
    assert "<b>1 warning</b>" in html
    assert f"<li><code>text_render[0].text</code>: {message}</li>" in html
    assert html.count(message) == 2
    # every field carries its meaning; groups show it beside their name
    assert '<span title="The lighting conditions." style="border-bottom:1px dotted' in html
    assert (
        '<b>lighting</b> <span style="opacity:.7;font-size:12px">The lighting of the scene: '
        "conditions, direction and shadows.</span>"
    ) in html
    # list items fold to one line: index, description or text, location; flagged ones open
    assert "[0]</span> A pair of tortoiseshell sunglasses. <span" in html
    assert '<details open style="margin:2px 0 2px 1em">' in html
    assert html.count("<details") == 2 + 2 + 2 + 2  # 3 groups, 2 lists, 4 items
    assert "text_render</b> (2)" in html


def test_lenient_prompt_flags_unknown_keys_and_nulls() -> None:
    data = json.loads(PRODUCT)
    data["vendor_field"] = {"score": 3}
    data["lighting"]["shadows"] = None
    prompt = StructuredPrompt.parse(data, lenient=True)
    html = prompt_html(prompt)
    parse_html(html)
    assert '<b>vendor_field</b> <span style="opacity:.7;font-weight:400;font-size:11px"' in html
    assert html.count("(unknown)</span>") == 1  # the key, not the keys inside it
    assert "unknown key, kept as is" in html  # the check() warning, at the key
    assert ">null</span>" in html
    assert html.count("vendor_field") == 2  # its group, the warning list


def test_every_user_string_in_a_prompt_is_escaped() -> None:
    prompt = (
        StructuredPrompt.parse(PRODUCT)
        .set("short_description", HOSTILE)
        .set("objects[0].description", HOSTILE)
        .set("text_render", [dict(text=HOSTILE, location="c", size="s", color="w", font="f")])
    )
    data = prompt.to_dict()
    data["<img src=x onerror=alert(1)>"] = "&"
    lenient = StructuredPrompt.parse(data, lenient=True)
    html = prompt_html(lenient)
    parse_html(html)
    assert "<script" not in html and "<img" not in html and "<b>bold" not in html
    assert html.count(ESCAPED) >= 3
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<td style=" in html and ">&amp;</td>" in html


def test_a_prompt_of_eight_objects_stays_small() -> None:
    words = " ".join(["word"] * 90)
    objects = [
        {
            "description": f"Object {i}: {words}.",
            "location": "center",
            "relationship": "beside the others",
            "relative_size": "small",
            "shape_and_color": "round, red",
            "texture": "smooth",
            "appearance_details": "none",
            "orientation": "upright",
        }
        for i in range(8)
    ]
    prompt = StructuredPrompt.parse(PRODUCT).set("objects", objects)
    html = prompt_html(prompt)
    parse_html(html)
    assert html.count("Object 7: word") == 2  # folded line and field
    assert "8 objects; FIBO describes at most 5" in html
    assert len(html.encode()) < 60_000
    assert len(html.encode()) < 3 * len(prompt.wire.encode()) + 25_000


# --------------------------------------------------------------------------- diff


def test_diff_bundle_shows_the_side_by_side_html_on_a_light_panel() -> None:
    a = StructuredPrompt.parse(PRODUCT)
    d = diff(a, a.set("lighting.conditions", HOSTILE))
    bundle = d._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert bundle["text/plain"] == d.to_text()
    html = bundle["text/html"]
    parse_html(html)
    assert html.startswith('<div class="fibo-diff-panel" style="background:#fff;color:#1f2328;')
    assert html.endswith(d.to_html() + "</div>")
    assert "<script" not in html and ESCAPED in html
    assert d._repr_mimebundle_(include=["application/json"]) == {"application/json": d.to_data()}


# --------------------------------------------------------------------------- generation


def test_generation_bundle_has_a_thumbnail_and_provenance(image_file: Path) -> None:
    generation = make_generation(image_file, wire=PRODUCT)
    bundle = generation._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    assert _png_size(bundle["image/png"]) == (64, 48)
    assert bundle["text/plain"] == (
        "Generation: PREVIEW (not a FIBO render), 64x48 image/png\n"
        "backend preview, seed 7, request preview-0123456789abcdef\n"
        'parameters: aspect_ratio="4:3", steps=30\n'
        'prompt: wire sha256:c62ee7955718 "A matte black ceramic coffee mug with a thin copper '
        "rim stands on a light oak table, steam curling from the fresh coffee inside, "
        'photographed as a clean e-commerce hero shot."\n'
        f"image: {image_file} (sha256:abababababab)\n"
        "timings: total 1.25 s, queue 0.50 s\n"
    )
    html = bundle["text/html"]
    parse_html(html)
    uri = "data:image/png;base64," + base64.b64encode(bundle["image/png"]).decode()
    assert f'<img src="{uri}" width="64" height="48"' in html
    assert "layout preview, not a FIBO render" in html
    assert f"structured prompt sent ({len(PRODUCT):,} characters, exact)" in html


def test_large_images_are_downscaled_and_metadata_dropped(tmp_path: Path) -> None:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("fibo:generation", "x" * 50_000)
    path = tmp_path / "big.png"
    Image.new("RGB", (1024, 768), "#808080").save(path, pnginfo=info)
    bundle = make_generation(path, wire=None)._repr_mimebundle_()
    assert _png_size(bundle["image/png"]) == (256, 192)
    assert len(bundle["image/png"]) < 5_000  # no 50 KB text chunk
    assert "prompt:" not in bundle["text/plain"]
    assert "structured prompt sent" not in bundle["text/html"]


def test_a_missing_image_is_reported_not_raised(tmp_path: Path) -> None:
    generation = make_generation(tmp_path / "gone.png", wire=PRODUCT)
    bundle = generation._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    assert f"image file not readable: {escape(tmp_path / 'gone.png')}" in bundle["text/html"]
    (tmp_path / "bad.png").write_bytes(b"not an image")
    html = generation_html(make_generation(tmp_path / "bad.png", wire=None))
    assert "cannot read the image for display" in html


def test_generation_html_escapes_the_wire_and_parameters(image_file: Path) -> None:
    wire = StructuredPrompt.parse(PRODUCT).set("short_description", HOSTILE).wire
    generation = make_generation(image_file, wire=wire).model_copy(
        update={"parameters": {"negative_prompt": HOSTILE}, "text": HOSTILE}
    )
    html = generation_html(generation)
    parse_html(html)
    assert "<script" not in html and "<b>bold" not in html
    assert html.count(ESCAPED) == 2  # summary, text
    assert "&lt;script&gt;alert(\\&quot;x\\&quot;)" in html  # the wire, JSON-escaped
    assert "negative_prompt=&quot;&lt;script&gt;" in html


# --------------------------------------------------------------------------- lint


def test_lint_returns_a_displayable_list() -> None:
    kit = BrandKit.load(NORTHWIND)
    findings = lint(StructuredPrompt.parse(TEXT_RENDER), kit)
    assert isinstance(findings, LintReport) and isinstance(findings, list)
    bundle = findings._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    lines = bundle["text/plain"].splitlines()
    assert lines[0] == "11 findings: 5 errors, 6 warnings"
    assert lines[1:] == [f.format() for f in findings]
    html = bundle["text/html"]
    parse_html(html)
    assert html.count("<tr>") == 11
    suggestion = '<div style="opacity:.7">&rarr; use &#x27;copper&#x27;</div>'
    assert f"[off-palette]</span>{suggestion}" in html
    assert findings._repr_mimebundle_(include=["application/json"]) == {
        "application/json": [f.to_dict() for f in findings]
    }
    on_brand = LintReport()
    assert on_brand == []
    assert on_brand._repr_mimebundle_()["text/plain"] == "no findings: on brand\n"
    assert ">on brand</span>" in findings_html(on_brand)


def test_lint_findings_are_escaped() -> None:
    from fibo_prompts.brand import Finding

    html = findings_html([Finding(HOSTILE, "error", HOSTILE, HOSTILE, HOSTILE)])
    parse_html(html)
    assert "<script" not in html and html.count(ESCAPED) == 4


# --------------------------------------------------------------------------- library log


def test_library_log_is_a_displayable_timeline(tmp_path: Path) -> None:
    prompt = StructuredPrompt.parse(PRODUCT)
    with Library(tmp_path / "lib.sqlite") as lib:
        lib.save(prompt, "bottle", message="first cut", author="ada")
        lib.save(prompt.set("lighting.conditions", "golden hour"), "bottle", message=HOSTILE)
        lib.set_label("bottle@2", "production")
        log = lib.log("bottle")
    assert isinstance(log, VersionLog)
    bundle = log._repr_mimebundle_()
    assert set(bundle) == {"text/plain", "text/html"}
    lines = bundle["text/plain"].splitlines()
    assert re.fullmatch(
        r"bottle@2 sha256:166f095f25d2 \(production\) \d{4}-\d\d-\d\d \d\d:\d\d \S+: "
        r"<script>alert\(\"x\"\)</script> & <b>bold</b> \[1 change: lighting \(1\)\]",
        lines[0],
    )
    assert lines[1].endswith(" ada: first cut [initial version]")
    html = bundle["text/html"]
    parse_html(html)
    assert "<script" not in html and ESCAPED in html
    assert "<b>bottle: 2 versions</b>" in html
    assert ">production</span>" in html
    assert "&middot; root</span>" in html  # bottle@1 has no parent
    assert html.index("bottle@2") < html.index("bottle@1")


def test_log_shows_lineage_only_where_it_is_not_a_chain() -> None:
    merge = version(4, parents=("bottle@3", "bottle@1"))
    branch = version(3, parents=("bottle@1",))
    entries = [merge, branch, version(2), version(1)]
    html = log_html(entries)
    assert "&middot; merge of bottle@3, bottle@1</span>" in html
    assert "&middot; from bottle@1</span>" in html  # bottle@3 branched from bottle@1
    assert html.count("&middot; from") == 1  # bottle@2 follows bottle@1: a chain


def test_long_logs_are_cut() -> None:
    entries = [version(n) for n in range(MAX_ENTRIES + 5, 0, -1)]
    text = VersionLog(entries)._repr_mimebundle_()["text/plain"]
    assert text.splitlines()[-1] == "... 5 older versions not shown"
    assert len(text.splitlines()) == MAX_ENTRIES + 1
    assert "&hellip; 5 older versions not shown" in log_html(entries)


# --------------------------------------------------------------------------- images, runs


def test_image_bundle_is_a_complete_bundle() -> None:
    big = png_bytes((2048, 1024))
    bundle = image_bundle(big, title=HOSTILE, text="sheet", caption_html="<i>caption</i>")
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    assert bundle["text/plain"] == "sheet"
    assert _png_size(bundle["image/png"]) == (1024, 512)
    html = bundle["text/html"]
    parse_html(html)
    assert f"<b>{ESCAPED}</b>" in html and f'alt="{ESCAPED}"' in html
    assert '<div style="margin-top:6px"><i>caption</i></div>' in html
    small = image_bundle(big, title="t", text="t", max_size=100, exclude=["text/html"])
    assert set(small) == {"text/plain", "image/png"}
    assert _png_size(small["image/png"]) == (100, 50)
    broken = image_bundle(b"nope", title="t", text="t")
    assert set(broken) == {"text/plain", "text/html"}
    assert "cannot read the image for display" in broken["text/html"]


def test_variation_bundle_captions_the_contact_sheet(tmp_path: Path, image_file: Path) -> None:
    base = StructuredPrompt.parse(PRODUCT)
    sheet = tmp_path / "sheet.png"
    sheet.write_bytes(png_bytes((300, 200)))
    golden = base.set("lighting.conditions", "golden hour")
    run = FakeRun(
        cells=[
            FakeCell(
                {"lighting.conditions": "golden hour"},
                7,
                diff(base, golden),
                make_generation(image_file, wire=golden.wire),
            ),
            FakeCell({"lighting.conditions": HOSTILE}, 7, None, None, error="moderated"),
        ],
        contact_sheet=sheet,
    )
    bundle = variation_bundle(run)
    assert set(bundle) == {"text/plain", "text/html", "image/png"}
    assert bundle["text/plain"] == (
        "2 cells, 1 images, 1 without\n"
        "[0] seed 7: lighting.conditions = golden hour (1 change: lighting (1))\n"
        f"[1] seed 7: lighting.conditions = {HOSTILE}: moderated\n"
        f"contact sheet: {sheet}\n"
    )
    html = bundle["text/html"]
    parse_html(html)
    assert "<script" not in html and ESCAPED in html
    assert "<b>2 variations</b>" in html
    assert _png_size(bundle["image/png"]) == (300, 200)
    run.contact_sheet = None
    assert set(variation_bundle(run, title="grid")) == {"text/plain", "text/html"}


def test_thumbnail_keeps_small_images_and_refuses_non_images() -> None:
    thumb = thumbnail(png_bytes((10, 20)), max_size=256)
    assert (thumb.width, thumb.height, thumb.source_size) == (10, 20, (10, 20))
    assert thumb.data_uri().startswith("data:image/png;base64,iVBOR")
    from fibo_prompts.errors import ImageError

    with pytest.raises(ImageError, match=r"^x.png: cannot read the image for display"):
        thumbnail(b"GIF89a broken", source="x.png")


# --------------------------------------------------------------------------- imports


def test_displays_never_import_ipython_or_ipywidgets(tmp_path: Path) -> None:
    image = tmp_path / "i.png"
    image.write_bytes(png_bytes())
    script = f"""
import sys
from pathlib import Path
from fibo_prompts import StructuredPrompt
from fibo_prompts.diff import diff
from fibo_prompts.generate import Generation
import fibo_prompts.notebook
p = StructuredPrompt.load({str(ROOT / "examples" / "minimal.json")!r})
p._repr_mimebundle_(); diff(p, p.set("context", "x"))._repr_mimebundle_()
Generation(backend="b", request_id="r", image_path=Path({str(image)!r}), image_sha256="0",
           media_type="image/png", width=1, height=1, wire=p.wire, seed=1)._repr_mimebundle_()
print(sorted(m for m in ("IPython", "ipywidgets", "ipykernel") if m in sys.modules))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    ).stdout
    assert out == "[]\n"


def test_the_notebook_module_exports_documented_names() -> None:
    import inspect

    import fibo_prompts.notebook as notebook

    names = list(notebook.__all__)
    # CONSTANTS, Classes, functions: the order ruff's RUF022 uses (as test_public_api)
    assert names == sorted(
        names, key=lambda n: (0 if n.isupper() else 1 if n[0].isupper() else 2, n)
    )
    for name in names:
        obj = getattr(notebook, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            assert obj.__doc__, name
    with pytest.raises(AttributeError, match="has no attribute 'Nope'"):
        notebook.Nope  # noqa: B018
