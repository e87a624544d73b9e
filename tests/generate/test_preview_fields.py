"""The preview shows what the prompt says (issue 15 item 6): each photographic, lighting and
aesthetic field changes the sketch, hex colours are drawn exactly, surfaces lie under the
objects on them and texts never overlap."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageChops

from fibo_prompts.preview import draw_layout, plan_layout, render_layout

ROOT = Path(__file__).resolve().parents[2]
BASE: dict[str, Any] = json.loads((ROOT / "examples" / "product_shot.json").read_text())
SIZE = 256
#: A field "visibly changes" the sketch when this share of pixels moves by more than
#: CHANGE_LEVEL in some channel.
CHANGED_SHARE = 0.02
CHANGE_LEVEL = 12


def _with(path: tuple[str | int, ...], value: str) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    node: Any = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


def _changed_share(a: Image.Image, b: Image.Image) -> float:
    diff = ImageChops.difference(a, b)
    channels = [c.point(lambda v: 255 if v > CHANGE_LEVEL else 0) for c in diff.split()]
    mask = ImageChops.lighter(ImageChops.lighter(channels[0], channels[1]), channels[2])
    return mask.histogram()[255] / (a.width * a.height)


FIELD_PAIRS = [
    (("photographic_characteristics", "camera_angle"), "low angle, looking up", "top-down"),
    (("photographic_characteristics", "camera_angle"), "extreme close-up", "wide shot"),
    (("photographic_characteristics", "lens_focal_length"), "100mm macro", "24mm wide-angle"),
    (("photographic_characteristics", "depth_of_field"), "shallow, blurred background", "deep"),
    (("lighting", "direction"), "backlit from the right", "side-lit from left"),
    (("lighting", "conditions"), "low warm tungsten light", "single candle glow"),
    (("lighting", "conditions"), "bright midday sun", "overcast"),
    (("lighting", "shadows"), "no shadows", "long, hard shadows"),
    (("aesthetics", "mood_atmosphere"), "cheerful, bright", "somber, melancholic"),
    (("aesthetics", "color_scheme"), "warm neutrals with copper accents", "cool blues and teal"),
]


@pytest.mark.parametrize(("path", "first", "second"), FIELD_PAIRS)
def test_each_field_visibly_changes_the_sketch(
    path: tuple[str, ...], first: str, second: str
) -> None:
    a = render_layout(_with(path, first), seed=3, size=SIZE)
    b = render_layout(_with(path, second), seed=3, size=SIZE)
    assert _changed_share(a, b) >= CHANGED_SHARE, (path, first, second)


def test_overcast_draws_no_sun() -> None:
    data = _with(("lighting", "conditions"), "overcast")
    data["lighting"]["direction"] = "from the upper left"
    assert plan_layout(data, size=SIZE).lighting.glyph is None


def test_a_backlit_from_the_right_sun_sits_right_and_off_the_product() -> None:
    data = _with(("lighting", "direction"), "backlit from the right")
    plan = plan_layout(data, size=SIZE)
    assert plan.lighting.glyph is not None
    x, y, radius = plan.lighting.glyph
    assert x > SIZE * 0.75
    for obj in plan.objects:
        box = obj.box
        if obj.label == "tabletop":
            continue
        inside_x = box.x0 - radius < x < box.x1 + radius
        inside_y = box.y0 - radius < y < box.y1 + radius
        assert not (inside_x and inside_y), (obj.label, box, plan.lighting.glyph)


def test_hex_codes_are_drawn_exactly() -> None:
    data = _with(("aesthetics", "color_scheme"), "deep navy (#1B2A41) and brass (#B5A642)")
    data["text_render"] = [
        {
            "text": "SALE",
            "location": "top left",
            "size": "large",
            "color": "navy #1B2A41",
            "font": "bold sans",
        }
    ]
    plan = plan_layout(data, size=SIZE)
    assert plan.palette == ((27, 42, 65), (181, 166, 66))
    assert plan.texts[0].color == (27, 42, 65)
    image = draw_layout(plan)
    for box, colour in plan.swatches:
        assert image.getpixel(box.center) == colour


def test_a_tabletop_at_the_bottom_lies_under_the_product() -> None:
    plan = plan_layout(BASE, size=SIZE)
    labels = [o.label for o in plan.objects]
    assert labels.index("tabletop") < labels.index("mug")
    table = next(o for o in plan.objects if o.label == "tabletop")
    assert (table.box.x0, table.box.x1, table.box.y1) == (0, SIZE, SIZE)
    mug = next(o for o in plan.objects if o.label == "mug")
    image = draw_layout(plan)
    # the mug's lower part, which the tabletop used to cover, shows the black mug
    x = round(mug.box.center[0])
    lowest = min(mug.box.y1, plan.caption_box.y0) - 4
    assert lowest > table.box.y0 + 10  # the part that overlaps the table is checked
    for y in (table.box.y0 + 4, lowest):
        pixel = image.getpixel((x, y))
        assert isinstance(pixel, tuple)
        assert max(pixel[:3]) < 80, (x, y, pixel)


@pytest.mark.parametrize("count", [2, 5, 12])
def test_texts_never_overlap(count: int) -> None:
    data = copy.deepcopy(BASE)
    data["text_render"] = [
        {
            "text": f"Headline number {n} for the autumn sale",
            "location": "top center",
            "size": "large" if n == 0 else "medium",
        }
        for n in range(count)
    ]
    for size in (SIZE, 1024):
        plan = plan_layout(data, size=size, aspect_ratio="16:9")
        boxes = [t.box for t in plan.texts]
        for i, a in enumerate(boxes):
            assert a.inside(plan.width, plan.height)
            for b in boxes[i + 1 :]:
                overlap = a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1
                assert not overlap, (a, b)


def test_headline_and_subheadline_do_not_overlap() -> None:
    data = copy.deepcopy(BASE)
    data["text_render"] = [
        {"text": "Morning Ritual", "location": "top center", "size": "very large headline"},
        {
            "text": "Hand-thrown ceramics, fired twice",
            "location": "top-center, below the headline",
            "size": "small",
        },
    ]
    plan = plan_layout(data, size=1024)
    a, b = plan.texts[0].box, plan.texts[1].box
    assert b.y0 >= a.y1
