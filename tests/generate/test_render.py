"""The layout preview: placement, colours, text, light, sizes, determinism, odd input."""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fibo_prompts.errors import InvalidParameterError
from fibo_prompts.jobs import ASPECT_RATIOS
from fibo_prompts.preview import (
    BANNER,
    JITTER,
    NO_OBJECTS,
    Layout,
    colour_words,
    dimensions,
    draw_layout,
    listed_colours,
    plan_layout,
    render_layout,
    render_layout_bytes,
    render_preview,
    scheme_colours,
)
from fibo_prompts.prompt import StructuredPrompt
from tests.conftest import PROJECT_EXAMPLES, ROOT

RED = (210, 45, 45)
BANNER_YELLOW = (255, 214, 0)


def scene(**fields: Any) -> dict[str, Any]:
    """A small prompt: a grey wall, front light, plus ``fields``."""
    return {
        "short_description": "A test scene.",
        "background_setting": "A plain grey wall.",
        "lighting": {"conditions": "daylight", "direction": "front-lit"},
        "aesthetics": {"composition": "centered", "color_scheme": "", "mood_atmosphere": "calm"},
        **fields,
    }


def kite(**fields: Any) -> dict[str, Any]:
    return {"description": "A red kite.", "location": "center", "relationship": "-", **fields}


def pixels(image: Image.Image, box: tuple[int, int, int, int]) -> set[tuple[int, int, int]]:
    """The distinct colours inside ``box`` of an RGB image."""
    crop = image.crop(box).convert("RGB")
    counts = crop.getcolors(maxcolors=crop.width * crop.height + 1) or []
    return {colour for _, colour in counts}  # type: ignore[misc]


def chunk_types(png: bytes) -> list[bytes]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    types, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        types.append(png[offset + 4 : offset + 8])
        offset += 12 + length
    return types


# --------------------------------------------------------------------------- placement


@pytest.mark.parametrize(
    ("location", "cell", "depth"),
    [
        ("top-left", (0, 0), "midground"),
        ("center", (1, 1), "midground"),
        ("center-left", (1, 0), "midground"),
        ("top right corner", (0, 2), "midground"),
        ("foreground, bottom-left", (2, 0), "foreground"),
        ("bottom-center, in front of the bear", (2, 1), "foreground"),
        ("upper right, in the distant background", (0, 2), "background"),
        ("center-right midground", (1, 2), "midground"),
        ("right hand of the bear", (1, 2), "midground"),
        ("", (1, 1), "midground"),
        ("somewhere nice", (1, 1), "midground"),
    ],
)
def test_location_picks_a_grid_cell_and_a_depth(
    location: str, cell: tuple[int, int], depth: str
) -> None:
    plan = plan_layout(scene(objects=[kite(location=location)]), size=600)
    [obj] = plan.objects
    assert (obj.cell, obj.depth) == (cell, depth)


@pytest.mark.parametrize(
    ("relative_size", "share"),
    [
        ("tiny", 0.10),
        ("small", 0.20),
        ("small-to-medium", 0.27),
        ("medium", 0.36),
        ("medium-to-large within frame", 0.46),
        ("large within frame", 0.56),
        ("very large", 0.68),
        ("fills most of the frame", 0.80),
        ("about 25% of the frame", 0.50),
        ("", 0.33),
        ("indescribable", 0.33),
    ],
)
def test_relative_size_sets_the_box(relative_size: str, share: float) -> None:
    plan = plan_layout(scene(objects=[kite(relative_size=relative_size)]), size=1000)
    [obj] = plan.objects
    assert obj.kind == "rect"
    assert obj.box.width == obj.box.height == round(share * 1000)


def test_a_small_top_left_object_lands_in_the_top_left_cell() -> None:
    plan = plan_layout(
        scene(objects=[kite(location="top-left", relative_size="small")]), seed=11, size=900
    )
    [obj] = plan.objects
    assert (obj.cell, obj.label, obj.kind, obj.colors) == ((0, 0), "kite", "rect", (RED,))
    assert obj.box.width == obj.box.height == 180
    cx, cy = obj.box.center
    assert abs(cx - 150) <= JITTER * 900 + 1 and abs(cy - 150) <= JITTER * 900 + 1
    assert obj.box.inside(900, 900)


def test_depth_scales_and_orders_objects() -> None:
    objects = [
        kite(description="A near tree.", location="center foreground", relative_size="medium"),
        kite(description="A far tree.", location="center background", relative_size="medium"),
        kite(description="A mid tree.", location="center", relative_size="medium"),
    ]
    plan = plan_layout(scene(objects=objects), size=1000)
    assert [(o.index, o.depth, o.box.width) for o in plan.objects] == [
        (1, "background", 270),
        (2, "midground", 360),
        (0, "foreground", 414),
    ]


def test_objects_sharing_a_cell_are_spread_so_labels_stay_apart() -> None:
    objects = [kite(description="A cat."), kite(description="A dog.")]
    plan = plan_layout(scene(objects=objects), size=900)
    left, right = sorted(plan.objects, key=lambda o: o.box.x0)
    assert (left.label, right.label) == ("cat", "dog")
    assert right.box.center[0] - left.box.center[0] > 0.1 * 900


@pytest.mark.parametrize(
    ("fields", "kind", "aspect"),
    [
        ({"shape_and_color": "round, red"}, "ellipse", 1.0),
        (
            {"shape_and_color": "Cylindrical, bright red.", "orientation": "Upright."},
            "cylinder",
            0.65,
        ),
        ({"shape_and_color": "Flat, pale honey-coloured wood"}, "band", 3.0),
        ({"shape_and_color": "Human figure, navy and white clothing"}, "figure", 0.55),
        ({"clothing": "a coat", "pose": "sitting on a bench"}, "figure", 0.8),
        ({"shape_and_color": "a tall cone"}, "triangle", 0.65),
        (
            {"shape_and_color": "Equine shape", "orientation": "horizontal, facing right"},
            "rect",
            1.6,
        ),
        ({"shape_and_color": "Elongated spoon", "orientation": "Held upright"}, "rect", 0.65),
        ({"shape_and_color": "elongated body, light brown fur"}, "rect", 1.6),
    ],
)
def test_shape_and_orientation(fields: dict[str, Any], kind: str, aspect: float) -> None:
    plan = plan_layout(scene(objects=[kite(relative_size="small", **fields)]), size=2000)
    [obj] = plan.objects
    assert obj.kind == kind
    assert obj.box.width / obj.box.height == pytest.approx(aspect, rel=0.02)


def test_patterns_slices_and_clusters() -> None:
    objects = [
        kite(description="A zebra.", shape_and_color="Equine shape, black and white stripes."),
        kite(description="A mushroom.", shape_and_color="dome cap, red with white spots"),
        kite(description="A beach ball.", shape_and_color="sphere, red, yellow and blue"),
        kite(
            description="Ripe lemons.",
            location="center",
            shape_and_color="oval, bright yellow",
            number_of_objects=12,
        ),
    ]
    plan = plan_layout(scene(objects=objects), size=800)
    by_label = {o.label: o for o in plan.objects}
    assert by_label["zebra"].pattern == "stripes"
    assert by_label["mushroom"].pattern == "spots"
    ball = by_label["ball"]
    assert (ball.pattern, ball.colors) == (
        "slices",
        ((210, 45, 45), (245, 205, 50), (45, 100, 195)),
    )
    lemons = by_label["lemons x12"]
    assert lemons.count == 12 and len(lemons.members) == 12
    assert all(lemons.box.x0 <= m.x0 and m.x1 <= lemons.box.x1 for m in lemons.members)
    assert all(lemons.box.y0 <= m.y0 and m.y1 <= lemons.box.y1 for m in lemons.members)


def test_a_cluster_shows_at_most_sixteen_copies() -> None:
    plan = plan_layout(scene(objects=[kite(number_of_objects=500)]), size=400)
    assert len(plan.objects[0].members) == 16
    assert plan.objects[0].label == "kite x500"


def test_colours_come_from_shape_then_description_then_scheme() -> None:
    objects = [
        kite(description="A red kite.", shape_and_color="diamond, teal"),
        kite(description="A red kite.", shape_and_color="diamond"),
        kite(description="A kite."),
    ]
    aesthetics = {"composition": "", "color_scheme": "gold and navy", "mood_atmosphere": ""}
    plan = plan_layout(scene(objects=objects, aesthetics=aesthetics), size=400)
    colours = {o.index: o.colors for o in plan.objects}
    assert colours == {0: ((0, 128, 128),), 1: (RED,), 2: ((255, 215, 0),)}


def test_background_objects_fade_towards_the_backdrop() -> None:
    plan = plan_layout(
        scene(objects=[kite(location="background")], background_setting="A white wall."), size=400
    )
    assert plan.background[0] == (255, 255, 255)
    assert plan.objects[0].colors == ((226, 118, 118),)


# --------------------------------------------------------------------------- colours


@pytest.mark.parametrize(
    ("text", "colours"),
    [
        ("red", (RED,)),
        ("light blue", ((173, 216, 230),)),
        ("dark slate gray", ((47, 79, 79),)),
        ("#ff8800 and #f80", ((255, 136, 0), (255, 136, 0))),
        ("Cylindrical, matte black with a copper rim", ((28, 28, 30), (184, 115, 51))),
        ("reddish", (RED,)),
        ("denim blue", ((21, 96, 189),)),
        ("blues and greens", ((45, 100, 195), (70, 150, 75))),
        ("light brown", ((177, 151, 132),)),
        ("pastel pink", ((248, 206, 219),)),
        ("bright coral", ((255, 117, 56),)),
        ("a linen napkin", ((250, 240, 230),)),
        ("no colour here", ()),
        ("", ()),
    ],
)
def test_colour_words(text: str, colours: tuple[tuple[int, int, int], ...]) -> None:
    assert colour_words(text) == colours


def test_listed_colours_are_a_list_not_a_fill_and_accents() -> None:
    assert listed_colours("sphere, red, yellow and blue") == (RED, (245, 205, 50), (45, 100, 195))
    assert listed_colours("brown body with a black nose") == ()


def test_scheme_colours() -> None:
    assert scheme_colours("monochromatic blue") == ((25, 55, 107), (45, 100, 195), (160, 185, 228))
    assert scheme_colours("colourful") == (
        (230, 57, 70),
        (244, 162, 97),
        (233, 196, 106),
        (42, 157, 143),
        (69, 123, 157),
    )
    assert scheme_colours("warm earth tones with denim blue") == (
        (177, 94, 48),
        (218, 175, 126),
        (134, 119, 60),
        (21, 96, 189),
    )
    assert scheme_colours("calm") == ()


@pytest.mark.parametrize(
    ("setting", "top", "bottom"),
    [
        ("A flat, bright coral background.", (255, 117, 56), (224, 103, 49)),
        ("Blue-and-white tiles.", (45, 100, 195), (255, 255, 255)),
        ("A sunny beach under a clear sky.", (150, 190, 230), (225, 205, 160)),
        ("A dark, textured wall.", (78, 77, 75), (96, 95, 93)),
        ("Somewhere.", (222, 220, 214), (195, 194, 188)),
    ],
)
def test_background_colours(
    setting: str, top: tuple[int, int, int], bottom: tuple[int, int, int]
) -> None:
    plan = plan_layout(scene(background_setting=setting), size=100)
    assert plan.background == (top, bottom)


# --------------------------------------------------------------------------- light


@pytest.mark.parametrize(
    ("direction", "name"),
    [
        ("side-lit from left with a soft fill from the right", "left"),
        ("from the right, with a fill from the left", "right"),
        ("from the upper right", "top-right"),
        ("backlit by the setting sun", "back"),
        ("top-down", "top"),
        ("diffuse, from above", "top"),
        ("Front-lit, with no discernible single light source.", "front"),
        ("soft and even", "diffuse"),
        ("", "diffuse"),
    ],
)
def test_light_direction(direction: str, name: str) -> None:
    plan = plan_layout(scene(lighting={"conditions": "", "direction": direction}), size=200)
    assert plan.lighting.direction == name


def test_light_from_the_left_brightens_the_left_and_casts_shadows_right() -> None:
    prompt = scene(
        lighting={"conditions": "harsh sun", "direction": "from the left", "shadows": "long"}
    )
    plan = plan_layout(prompt, size=400)
    assert plan.lighting.shadow_offset == (19, 0)
    assert plan.lighting.shadow_alpha == 80
    image = draw_layout(plan)
    left, right = image.getpixel((3, 200)), image.getpixel((396, 200))
    assert sum(left) > sum(right) * 1.4  # type: ignore[arg-type]


def test_warm_light_tints_the_scene() -> None:
    plan = plan_layout(
        scene(lighting={"conditions": "golden hour", "direction": "front-lit"}), size=200
    )
    assert plan.lighting.tint == (255, 236, 208)
    r, g, b = draw_layout(plan).getpixel((100, 100))  # type: ignore[misc]
    assert r > g > b


# --------------------------------------------------------------------------- text


def test_text_render_is_drawn_in_its_colour_inside_its_box() -> None:
    text = {"text": "SALE", "location": "top-center", "size": "large", "color": "gold", "font": "x"}
    plan = plan_layout(scene(text_render=[text]), size=800)
    [item] = plan.texts
    assert (item.lines, item.color, item.cell, item.align) == (
        ("SALE",),
        (255, 215, 0),
        (0, 1),
        "center",
    )
    assert item.font_size == 88 and not item.bold
    image = draw_layout(plan)
    box = item.box
    assert (255, 215, 0) in pixels(image, (box.x0, box.y0, box.x1, box.y1))
    outside = pixels(image, (0, box.y1 + 2, 800, 800)) | pixels(image, (0, 0, 800, box.y0 - 1))
    assert (255, 215, 0) not in outside


def test_long_text_is_wrapped_and_shrunk_to_stay_inside() -> None:
    words = "an extraordinarily long headline " * 12
    item = {"text": words + "Pneumonoultramicroscopicsilicovolcanoconiosis", "location": "left"}
    plan = plan_layout(scene(text_render=[item]), size=300)
    [placed] = plan.texts
    assert len(placed.lines) == 3 and placed.lines[-1].endswith("\u2026")
    assert placed.box.inside(300, 300)
    assert placed.font_size == 8


def test_text_items_use_contrast_when_no_colour_is_given() -> None:
    items = [{"text": "A"}, {"text": "B", "color": "#0000ff", "font": "bold sans"}]
    dark = plan_layout(scene(text_render=items, background_setting="A black void."), size=200)
    assert [(t.color, t.bold) for t in dark.texts] == [
        ((255, 255, 255), False),
        ((0, 0, 255), True),
    ]
    light = plan_layout(scene(text_render=items[:1], background_setting="White."), size=200)
    assert light.texts[0].color == (0, 0, 0)


def test_labels_caption_and_banner_are_drawn() -> None:
    plan = plan_layout(scene(objects=[kite(relative_size="large")]), seed=2, size=600)
    assert plan.caption == ("A test scene.",)
    assert plan.banner == BANNER
    assert plan.banner_right == "seed 2 \u00b7 1:1 \u00b7 600x600"
    assert plan.legend == "1 object \u00b7 0 texts \u00b7 light: front-lit"
    image = draw_layout(plan)
    label = plan.objects[0].label_box
    assert (255, 255, 255) in pixels(image, (label.x0, label.y0, label.x1, label.y1))
    banner = plan.banner_box
    assert BANNER_YELLOW in pixels(image, (banner.x0, banner.y0, banner.x1, banner.y1))
    caption = plan.caption_box
    assert (255, 255, 255) in pixels(image, (caption.x0, caption.y0, caption.x1, caption.y1))
    for box in (label, banner, caption):
        assert box.inside(600, 600)


def test_a_long_caption_is_cut_to_two_lines() -> None:
    plan = plan_layout(scene(short_description="word " * 400), size=400)
    assert len(plan.caption) == 2 and plan.caption[1].endswith("\u2026")


def test_labels_and_texts_stay_between_banner_and_caption() -> None:
    objects = [kite(location="bottom", relative_size="tiny")]
    texts = [{"text": "LOW", "location": "bottom"}, {"text": "HIGH", "location": "top"}]
    plan = plan_layout(scene(objects=objects, text_render=texts), size=500)
    for box in [plan.objects[0].label_box, *(t.box for t in plan.texts)]:
        assert plan.banner_box.y1 <= box.y0 and box.y1 <= plan.caption_box.y0


def test_an_empty_prompt_says_there_is_nothing_to_place() -> None:
    plan = plan_layout(scene(), size=1024)
    assert (plan.objects, plan.texts, plan.note) == ((), (), NO_OBJECTS)
    assert plan_layout(scene(objects=[kite()]), size=1024).note == ""


def test_unicode_is_drawn_in_the_glyphs_the_font_has() -> None:
    plan = plan_layout(
        scene(short_description="Caf\u00e9 \u2014 two \u00d7 \ufb01sh\n\x00"), size=600
    )
    assert plan.caption == ("Cafe - two x fish",)


# --------------------------------------------------------------------------- text prompts


def test_a_text_prompt_is_drawn_as_one_centred_subject() -> None:
    plan = plan_layout(None, text="a red kite", seed=3, size=512)
    [obj] = plan.objects
    assert (obj.label, obj.cell, obj.colors) == ("kite", (1, 1), (RED,))
    assert plan.caption == ("a red kite",)
    assert plan.legend.startswith("from text: assumed layout")
    assert plan_layout("a red kite", seed=3, size=512) == plan


def test_the_text_captions_a_prompt_without_a_short_description() -> None:
    wire = json.dumps({"objects": [kite()]})
    plan = plan_layout(wire, text="my caption", size=300)
    assert plan.caption == ("my caption",) and plan.objects[0].label == "kite"


# --------------------------------------------------------------------------- sizes


EXPECTED_SIZES = {
    "1:1": (1024, 1024),
    "2:3": (683, 1024),
    "3:2": (1024, 683),
    "3:4": (768, 1024),
    "4:3": (1024, 768),
    "4:5": (819, 1024),
    "5:4": (1024, 819),
    "9:16": (576, 1024),
    "16:9": (1024, 576),
}


def test_every_fibo_aspect_ratio_is_covered() -> None:
    assert set(EXPECTED_SIZES) == set(ASPECT_RATIOS)


@pytest.mark.parametrize("ratio", sorted(EXPECTED_SIZES))
def test_sizes_for_every_aspect_ratio(ratio: str) -> None:
    prompt = (ROOT / "examples" / "text_render.json").read_text(encoding="utf-8")
    assert dimensions(ratio, 1024) == EXPECTED_SIZES[ratio]
    image = render_layout(prompt, aspect_ratio=ratio)
    assert (image.mode, image.size) == ("RGB", EXPECTED_SIZES[ratio])
    plan = plan_layout(prompt, aspect_ratio=ratio, size=1024)
    w, h = EXPECTED_SIZES[ratio]
    boxes = [plan.banner_box, plan.caption_box, *(t.box for t in plan.texts)]
    boxes += [o.box for o in plan.objects] + [o.label_box for o in plan.objects]
    assert all(box.inside(w, h) for box in boxes)
    with Image.open(io.BytesIO(render_preview(prompt, None, 1, ratio))) as decoded:
        assert decoded.size == EXPECTED_SIZES[ratio]


def test_the_preview_backend_size_and_the_emulator_size() -> None:
    with Image.open(io.BytesIO(render_preview(None, "a cat", 3, "3:2"))) as image:
        assert image.size == (1024, 683)
    jpeg = render_preview(None, "a cat", 3, "3:2", longest=256, image_format="JPEG")
    assert jpeg[:3] == b"\xff\xd8\xff"
    with Image.open(io.BytesIO(jpeg)) as image:
        assert (image.format, image.size) == ("JPEG", (256, 171))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": 8}, "preview: size: 8 is outside 16-4096 pixels; pick a size in that range"),
        (
            {"size": 5000},
            "preview: size: 5000 is outside 16-4096 pixels; pick a size in that range",
        ),
        ({"size": 10.5}, "preview: size: expected a whole number of pixels (got 10.5)"),
        (
            {"aspect_ratio": "wide"},
            "preview: aspect_ratio: 'wide' is not an aspect ratio 'W:H' between 1:4 and 4:1 "
            "(FIBO's: 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9)",
        ),
        (
            {"aspect_ratio": "10:1"},
            "preview: aspect_ratio: '10:1' is not an aspect ratio 'W:H' between 1:4 and 4:1 "
            "(FIBO's: 1:1, 2:3, 3:2, 3:4, 4:3, 4:5, 5:4, 9:16, 16:9)",
        ),
    ],
)
def test_render_layout_refuses_bad_parameters(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidParameterError) as caught:
        render_layout(scene(), **kwargs)
    assert str(caught.value) == message
    assert (caught.value.backend, caught.value.parameter) == ("preview", next(iter(kwargs)))


def test_render_layout_bytes_refuses_an_unknown_format() -> None:
    with pytest.raises(InvalidParameterError) as caught:
        render_layout_bytes(scene(), image_format="GIF")
    assert str(caught.value) == (
        "preview: image_format: 'GIF' is not an image format the preview writes; "
        "use 'PNG' or 'JPEG'"
    )


# --------------------------------------------------------------------------- determinism


@pytest.mark.parametrize("path", PROJECT_EXAMPLES, ids=lambda p: p.stem)
def test_same_prompt_and_seed_give_identical_bytes(path: Path) -> None:
    wire = path.read_text(encoding="utf-8")
    first = render_layout_bytes(wire, seed=42, size=512)
    assert render_layout_bytes(wire, seed=42, size=512) == first
    assert render_layout_bytes(StructuredPrompt.parse(wire), seed=42, size=512) == first
    assert render_layout_bytes(json.loads(wire), seed=42, size=512) == first
    assert render_preview(wire, None, 42, "1:1", longest=512) == first


def test_bria_examples_render(bria_text: str) -> None:
    first = render_layout_bytes(bria_text, seed=7, aspect_ratio="16:9", size=320)
    assert render_layout_bytes(bria_text, seed=7, aspect_ratio="16:9", size=320) == first
    plan = plan_layout(bria_text, seed=7, aspect_ratio="16:9", size=320)
    assert plan.objects and all(o.box.inside(320, 180) for o in plan.objects)


@pytest.mark.parametrize("path", PROJECT_EXAMPLES, ids=lambda p: p.stem)
def test_a_different_seed_moves_objects_slightly_and_keeps_the_layout(path: Path) -> None:
    wire = path.read_text(encoding="utf-8")
    a, b = plan_layout(wire, seed=1, size=1000), plan_layout(wire, seed=2, size=1000)
    assert [(o.index, o.cell, o.depth, o.kind, o.colors, o.label) for o in a.objects] == [
        (o.index, o.cell, o.depth, o.kind, o.colors, o.label) for o in b.objects
    ]
    for one, two in zip(a.objects, b.objects, strict=True):
        assert (one.box.width, one.box.height) == (two.box.width, two.box.height)
        assert math.dist(one.box.center, two.box.center) <= 2 * math.hypot(20, 20) + 2
    assert (a.texts, a.caption, a.background, a.lighting) == (
        b.texts,
        b.caption,
        b.background,
        b.lighting,
    )
    assert render_layout_bytes(wire, seed=1, size=300) != render_layout_bytes(
        wire, seed=2, size=300
    )


def test_bytes_do_not_depend_on_the_process() -> None:
    wire = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")
    here = hashlib.sha256(render_preview(wire, None, 5, "4:5", longest=200)).hexdigest()
    code = (
        "import hashlib, pathlib, sys\n"
        "from fibo_prompts.preview import render_preview\n"
        "wire = pathlib.Path(sys.argv[1]).read_text(encoding='utf-8')\n"
        "print(hashlib.sha256(render_preview(wire, None, 5, '4:5', longest=200)).hexdigest())\n"
    )
    # another process with other string hashes: no set or dict order leaks into the pixels
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code, str(ROOT / "examples" / "product_shot.json")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        check=True,
    )
    assert result.stdout.strip() == here


def test_pngs_carry_no_metadata_chunks() -> None:
    png = render_layout_bytes(scene(objects=[kite()]), size=64)
    assert chunk_types(png) == [b"IHDR", b"IDAT", b"IEND"]
    assert chunk_types(render_preview('{"a": 1}', "text", 1, None, longest=64)) == [
        b"IHDR",
        b"IDAT",
        b"IEND",
    ]


# --------------------------------------------------------------------------- odd input


ODD_PROMPTS: list[Any] = [
    None,
    "",
    "not json at all",
    "[]",
    "42",
    "null",
    '{"objects": 5}',
    b"\xff\xfe not utf-8",
    "[" * 50_000,
    {"objects": [1, None, "x", [], {"location": 7, "relative_size": {"a": 1}}]},
    {"objects": [{"relative_size": None, "number_of_objects": True, "shape_and_color": ["red"]}]},
    {"objects": [{"number_of_objects": float("nan")}, {"number_of_objects": -3}]},
    {"objects": [{"number_of_objects": 10**30, "description": "Grains of sand."}]},
    {"objects": [kite() for _ in range(100)]},
    {"lighting": "bright", "aesthetics": {"color_scheme": 12}, "background_setting": None},
    {"lighting": {"direction": ["left"], "conditions": 3, "shadows": {}}},
    {"text_render": "HELLO"},
    {"text_render": ["bare string", 7, None, {"text": ""}, {"text": 12}]},
    {"text_render": [{"text": "\u00e9\u4e2d\U0001f600\x00\n", "color": "#zzz", "size": "9999%"}]},
    {"text_render": [{"text": "W" * 5000, "size": "fills the frame"}]},
    {"short_description": "x" * 100_000},
    {"short_description": "\n\n\t"},
    {"objects": [{"location": "top-left", "relative_size": "9999%"}]},
    {"objects": [{"shape_and_color": "#12 #1234567 #gggggg very very light dark"}]},
]


@pytest.mark.parametrize("prompt", ODD_PROMPTS, ids=range(len(ODD_PROMPTS)))
def test_odd_prompts_still_give_a_picture(prompt: Any) -> None:
    for size in (16, 64, 300):
        plan = plan_layout(prompt, size=size)
        assert isinstance(plan, Layout) and plan.width == size
        draw_layout(plan)
    wire: str | None
    if isinstance(prompt, bytes):
        wire = prompt.decode("utf-8", "replace")
    else:
        wire = prompt if isinstance(prompt, str) or prompt is None else json.dumps(prompt)
    png = render_preview(wire, "fallback text", 3, "16:9", longest=128)
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (128, 72)


@pytest.mark.parametrize(
    "ratio", [None, "", "0:0", "1:0", "-1:2", "abc", "1e309:1", "20:1", "3:2:1"]
)
def test_odd_aspect_ratios_and_sizes_fall_back_in_render_preview(ratio: str | None) -> None:
    with Image.open(io.BytesIO(render_preview(None, "x", 1, ratio, longest=80))) as image:
        assert image.size == (80, 80)
    with Image.open(io.BytesIO(render_preview(None, "x", 1, "1:1", longest=0))) as image:
        assert image.size == (16, 16)


_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40)
)
_words = st.sampled_from(
    [
        "left",
        "top",
        "center",
        "foreground",
        "small",
        "large",
        "red",
        "light blue",
        "round",
        "stripes",
        "backlit",
        "from the right",
        "#abc",
        "pastel",
        "flat",
        "",
    ]
)
_field_value = st.one_of(_leaf, st.lists(_words, max_size=4).map(" ".join))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    objects=st.lists(
        st.dictionaries(
            st.sampled_from(
                [
                    "description",
                    "location",
                    "relative_size",
                    "shape_and_color",
                    "orientation",
                    "number_of_objects",
                    "clothing",
                    "pose",
                ]
            ),
            _field_value,
        ),
        max_size=6,
    ),
    lighting=st.dictionaries(st.sampled_from(["direction", "conditions", "shadows"]), _field_value),
    texts=st.lists(
        st.dictionaries(
            st.sampled_from(["text", "location", "size", "color", "font"]), _field_value
        ),
        max_size=3,
    ),
    seed=st.integers(min_value=-(2**70), max_value=2**70),
    ratio=st.sampled_from(ASPECT_RATIOS),
)
def test_generated_prompts_never_raise(
    objects: list[dict[str, Any]],
    lighting: dict[str, Any],
    texts: list[dict[str, Any]],
    seed: int,
    ratio: str,
) -> None:
    prompt = {"objects": objects, "lighting": lighting, "text_render": texts}
    image = render_layout(prompt, seed=seed, aspect_ratio=ratio, size=96)
    assert max(image.size) == 96
