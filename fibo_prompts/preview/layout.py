"""The layout of a preview: where each part of a structured prompt goes, as plain data.

:func:`plan_layout` reads a prompt and returns a :class:`Layout` (boxes, colours, labels,
wrapped text lines) that :mod:`._render` draws without deciding anything. Every value is free
text, so each field is read through a small keyword table, first match wins, and nothing here
ever raises on an odd value: an unknown word means "the default".

- **location** (objects and ``text_render``): a 3x3 grid. ``left``/``right`` pick the column,
  ``top``/``upper``/``above`` and ``bottom``/``lower``/``below`` the row; anything else is the
  centre ("center-left", "top right corner", "bottom-center, in front of the bear"). Depth:
  ``foreground``/``front``/``near``/``close`` draws 15% larger, 5% lower and on top;
  ``background``/``behind``/``distant``/``far`` 25% smaller, 5% higher, faded towards the
  background colour, and first.
- **relative_size**: the side of the object's box as a share of the frame's shorter side
  (:data:`SIZES`): "tiny" 0.10, "small" 0.20, "medium" 0.36, "medium-to-large" 0.46,
  "large" / "large within frame" 0.56, "very large" 0.68, "fills the frame" / "most of the
  frame" / "dominant" 0.80; "N%" reads as N% of the frame's area. Unknown: 0.33.
- **shape** (``shape_and_color``, then ``orientation`` / ``pose``): round words draw an
  ellipse, "cylindrical" a tall rounded box, "pointed"/"triangular" a triangle,
  "flat"/"surface" a wide band, "human"/"figure" (or the human-only keys ``clothing`` /
  ``skin_tone_and_texture``) a head-and-body figure, anything else a rounded box.
  "horizontal"/"lying"/"elongated" make it wide, "vertical"/"upright"/"tall" narrow
  (``orientation`` first, then ``shape_and_color``). "stripes" and "spots" draw that pattern
  in the second colour, three or more colours written as a list ("red, yellow and blue")
  draw slices; ``number_of_objects`` > 1 draws a cluster.
- **colours**: CSS colour names (coloraide's table, joined over up to three words, so "light
  blue" and "dark slate gray" read as one name), ``#RRGGBB``/``#RGB`` codes, and the
  prompt words CSS lacks (:data:`EXTRA_COLOURS`: copper, terracotta, cobalt, honey...). A
  word right before a colour changes it (:data:`MODIFIERS`: light, pale, dark, deep, muted,
  bright, warm, cool); two colour words in a row ("denim blue", "golden honey") are one
  colour, the first; "reddish" is red, "blues" blue. The basic colour words are painters'
  colours (:data:`BASIC_COLOURS`), not CSS's pure primaries. Scheme words
  (:data:`PALETTE_WORDS`: earth tones, neutrals, primary, pastels, jewel tones) stand for
  several colours; "colourful"/"monochrome" only when no colour is named. An object's
  colours come from ``shape_and_color``, else its ``description``, else the colour scheme,
  else a neutral.
- **background**: colours named in ``background_setting`` (first at the top, second at the
  bottom), else scene words (:data:`SCENES`: sky at the top; grass, sand, water, floor at the
  bottom; forest, city, studio anywhere), else the colour scheme's first colour faded towards
  a neutral set by "dark"/"night" or "bright"/"white" words. "misty"/"hazy" lighten it,
  "dark"/"dim" darken it.
- **lighting** (:data:`LIGHT_DIRECTIONS`): where the light comes from ("side-lit from left",
  "from the upper right", "top-down", "backlit", "front-lit", "diffuse"), the first direction
  named wins; ``conditions`` set the warmth ("golden hour", "candle": warm; "moonlight", "blue
  hour": cool), darkness ("night", "low-key") and contrast ("dramatic", "harsh": strong;
  "soft", "overcast": weak); ``shadows`` the shadow's strength and length. Light sources
  have their own colour (:data:`LIGHT_SOURCES`: a candle is dimmer and redder than tungsten);
  "overcast", "cloudy", "fog" draw no sun; "backlit from the right" puts the glow and the sun
  on the right. The sun is moved sideways off any object it would cover.
- **mood** (``aesthetics.mood_atmosphere``, :data:`MOODS`): multiplies the scene by a colour
  (somber: dim blue-grey; cozy: warm; serene: cool; cheerful: bright). The colour scheme's
  first colour tints the backdrop 20% (:attr:`Layout.scheme_tint`).
- **camera** (``photographic_characteristics``): ``camera_angle`` sets the horizon
  (:data:`CAMERA_ANGLES`: low angle 80% down, eye level 60%, high angle 36%, bird's eye
  20%, top-down 0: a floor grid instead of converging lines); the shot size (camera angle
  words, else ``lens_focal_length``: "macro", "close-up", "wide", or a focal length in mm;
  :data:`SHOT_SIZES`) scales every object but surfaces; a shallow ``depth_of_field``
  ("shallow", "bokeh", "blurred", f/1.x-f/2) blurs and softens the backdrop, the floor,
  surfaces and background objects.
- **surfaces**: an object whose name (as ``fibo diff`` names it) is a table, tabletop,
  floor, ground, counter, desk, shelf, tray... or a flat band in the bottom row, is drawn
  first, across the whole width from the horizon (or its own top) to the bottom, so what
  stands on it is never hidden.
- **text** (``text_render``): an item that would overlap an earlier one moves to the
  nearest free spot straight above or below it; with no free spot left it is not drawn.
- **hex codes** right after a colour name ("deep navy (#1B2A41)") are the colour meant and
  are drawn exactly.

The seed moves each object by at most :data:`JITTER` of the frame in each direction and
arranges clusters; it never changes a cell, a size, a colour or any text.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.preview._boxes import Box
from fibo_prompts.preview._colours import (
    BLACK,
    NEUTRAL,
    RGB,
    WHITE,
    colour_words,
    luma,
    mix,
    scheme_colours,
)
from fibo_prompts.preview._fields import prompt_data, read_field
from fibo_prompts.preview._fonts import Font, ellipsize, font, printable, wrap
from fibo_prompts.preview._lighting import LightPlan, plan_lighting
from fibo_prompts.preview._objects import PlacedObject, View, place_objects
from fibo_prompts.preview._texts import PlacedText, place_texts
from fibo_prompts.preview.derive import derive_structured_prompt

if TYPE_CHECKING:
    from fibo_prompts.prompt.models import StructuredPrompt

__all__ = [
    "BANNER",
    "CAMERA_ANGLES",
    "NO_OBJECTS",
    "SCENES",
    "SHOT_SIZES",
    "Layout",
    "dimensions",
    "plan_layout",
    "ratio_of",
]

BANNER: Final = "PREVIEW - layout sketch, not a FIBO render"
#: Written in the middle of a preview with nothing to place.
NO_OBJECTS: Final = "no objects or text to place: FIBO chooses the layout"

#: camera_angle: (pattern, horizon as a share of the height; 0 is a top-down view).
CAMERA_ANGLES: Final[tuple[tuple[str, float], ...]] = (
    (r"top[- ]?down|overhead|flat[- ]?lay|directly (?:above|down)|bird'?s[- ]eye view from", 0.0),
    (r"bird'?s[- ]?eye|aerial|drone", 0.2),
    (r"high[- ]angle|looking down|elevated|from above", 0.36),
    (r"worm'?s[- ]?eye|ground[- ]level", 0.9),
    (r"low[- ]angle|looking up|from below", 0.8),
    (r"eye[- ]level|straight[- ]on|head[- ]on|frontal|\blevel\b", 0.6),
)
#: shot size (camera_angle, then lens_focal_length): how much larger objects are drawn.
SHOT_SIZES: Final[tuple[tuple[str, float], ...]] = (
    (r"extreme close|macro", 1.35),
    (r"close[- ]?up|tight|detail shot", 1.25),
    (r"medium[- ]?(?:close|shot)|mid[- ]?shot", 1.0),
    (r"wide|full[- ]?(?:shot|body|length)|long shot|establishing|panoram", 0.72),
    (r"telephoto", 1.2),
)
#: depth_of_field words that blur the backdrop and far objects.
_SHALLOW: Final = re.compile(r"shallow|bokeh|blurr|soft background|narrow|f/?1\.|f/?2(?:\.|\b)")

#: background scene words: (pattern, colour, where: "top", "bottom" or "any").
SCENES: Final[tuple[tuple[str, RGB, str], ...]] = (
    (r"\bsky|clouds?\b", (150, 190, 230), "top"),
    (r"\bnight|starry|\bspace\b", (28, 34, 58), "any"),
    (r"\bsunset|sunrise|dusk", (240, 160, 110), "top"),
    (r"\bforest|woods|jungle|trees|foliage", (86, 110, 78), "any"),
    (r"\bgrass|meadow|field|lawn|garden|park", (118, 156, 88), "bottom"),
    (r"\bocean|\bsea\b|lake|river|water|pool", (70, 130, 170), "bottom"),
    (r"\bbeach|sand|desert|dune", (225, 205, 160), "bottom"),
    (r"\bsnow|\bice\b|icy|winter|frost", (232, 238, 244), "any"),
    (r"\bsidewalk|street|road|pavement|asphalt|concrete|urban|city", (128, 128, 132), "any"),
    (r"\bkitchen|caf[eé]|restaurant|interior|room|workshop|office|shelves", (176, 150, 120), "any"),
    (r"\bfloor|table|desk|counter", (150, 120, 90), "bottom"),
    (r"\bstudio|backdrop|seamless|wall", NEUTRAL, "any"),
)
_DARK_SCENE: Final = re.compile(r"\b(?:dark|dim|black|night|shadowy|gloomy|moody|unlit)")
_LIGHT_SCENE: Final = re.compile(r"\b(?:bright|white|light|airy|sunlit|pale|clean)")
_HAZY_SCENE: Final = re.compile(r"\b(?:mist|misty|fog|foggy|haze|hazy|blurred|out of focus)")


@dataclass(frozen=True, slots=True)
class Layout:
    """Everything the drawing step needs, decided: see :func:`plan_layout`.

    ``objects`` are in drawing order (background first, larger first); each keeps its
    ``index`` in the prompt. ``caption`` holds the short description's wrapped lines;
    ``note`` is written in the middle when there is nothing to place.
    """

    width: int
    height: int
    seed: int
    aspect_ratio: str
    background: tuple[RGB, RGB]
    palette: tuple[RGB, ...]
    lighting: LightPlan
    objects: tuple[PlacedObject, ...]
    texts: tuple[PlacedText, ...]
    banner: str
    banner_right: str
    banner_box: Box
    banner_size: int
    caption: tuple[str, ...]
    caption_box: Box
    caption_size: int
    legend: str
    legend_size: int
    swatches: tuple[tuple[Box, RGB], ...]
    label_size: int
    grid_width: int
    note: str
    #: Where the floor meets the backdrop, in pixels from the top (0: seen from straight
    #: above); ``None`` when the prompt names no camera angle.
    horizon: int | None = None
    #: Blur radius in pixels for what lies behind the subject (shallow depth of field).
    focus_blur: int = 0
    #: The colour scheme's first colour, which the backdrop leans towards.
    scheme_tint: RGB | None = None


def dimensions(aspect_ratio: str | None, longest: int) -> tuple[int, int]:
    """Width and height for ``aspect_ratio`` ("W:H", default 1:1) with the longest side given.

    An aspect ratio that is not two positive numbers reads as 1:1.
    """
    ratio = ratio_of(aspect_ratio) or 1.0
    if ratio >= 1:
        return longest, max(1, round(longest / ratio))
    return max(1, round(longest * ratio)), longest


def ratio_of(aspect_ratio: str | None) -> float | None:
    """Width / height of a "W:H" string, or ``None`` when it is not one."""
    if not isinstance(aspect_ratio, str):
        return None
    parts = aspect_ratio.split(":")
    if len(parts) != 2:
        return None
    try:
        w, h = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    if not (0 < w < math.inf and 0 < h < math.inf):
        return None
    return w / h


def plan_layout(
    prompt: StructuredPrompt | Mapping[str, Any] | str | bytes | None,
    *,
    seed: int = 0,
    aspect_ratio: str | None = "1:1",
    size: int = 1024,
    text: str | None = None,
) -> Layout:
    """Decide where everything in a preview goes; a pure function of its arguments.

    ``prompt`` is a :class:`~fibo_prompts.StructuredPrompt`, a dict, or a JSON string; a
    string that is not a JSON object is read as a text prompt (like ``text``): it becomes the
    caption and one centred subject, the layout the offline ``preview`` backend derives from
    text. ``size`` is the longest side in pixels (kept within 16-4096); an aspect ratio that
    cannot be read is 1:1.

    Example:
        >>> plan = plan_layout({"objects": [{"description": "A red kite.",
        ...     "location": "top-left", "relative_size": "small"}]}, size=300)
        >>> plan.objects[0].cell, plan.objects[0].label, plan.objects[0].colors[0]
        ((0, 0), 'kite', (210, 45, 45))
    """
    data = prompt_data(prompt)
    from_text = False
    if not isinstance(data, Mapping):
        words = text if text is not None else prompt if isinstance(prompt, str) else None
        from_text = bool(words and words.strip())
        data = _from_text(words or "", seed) if from_text else {}
    width, height = dimensions(aspect_ratio, min(max(int(size), 16), 4096))
    ratio = aspect_ratio if aspect_ratio is not None and ratio_of(aspect_ratio) else "1:1"
    short = min(width, height)
    rng = random.Random(_seed(seed))

    palette = scheme_colours(read_field(data, "aesthetics", "color_scheme"))
    background = _background(data, palette)
    lighting = plan_lighting(data, width, height)

    banner_h = max(10, round(short * 0.04))
    banner_size = max(7, round(banner_h * 0.55))
    caption_size = max(7, round(short * 0.024))
    legend_size = max(6, round(caption_size * 0.8))
    label_size = max(7, round(short * 0.021))
    pad = max(3, round(short * 0.015))

    caption_text = printable(read_field(data, "short_description") or (text or "").strip())
    caption_text = caption_text or "(no short_description)"
    caption_face = font(caption_size)
    caption_lines, _ = wrap(caption_text, caption_face, width - 2 * pad, 2)
    caption_line_h = round(caption_size * 1.25)
    legend_line_h = round(legend_size * 1.3)
    caption_h = pad * 2 + caption_line_h * len(caption_lines) + legend_line_h
    caption_box = Box(0, height - caption_h, width, height)

    # labels and texts stay clear of the banner and the caption, so they can be read
    area = (banner_h, caption_box.y0)
    angle = read_field(data, "photographic_characteristics", "camera_angle").lower()
    lens = read_field(data, "photographic_characteristics", "lens_focal_length").lower()
    share = next((t[1] for t in CAMERA_ANGLES if re.search(t[0], angle)), None)
    horizon = None if share is None else round(height * share)
    view = View(horizon=horizon, zoom=_zoom(angle, lens))
    objects = place_objects(data, palette, background, width, height, rng, label_size, area, view)
    depth_of_field = read_field(data, "photographic_characteristics", "depth_of_field").lower()
    focus_blur = max(1, round(short * 0.012)) if _SHALLOW.search(depth_of_field) else 0
    glyph = lighting.glyph
    if glyph is not None:
        lighting = replace(lighting, glyph=_clear_glyph(glyph, objects, width))
    texts = place_texts(data, background, width, height, area)

    swatch = max(4, round(legend_size * 0.9))
    shown = palette[:6]
    swatches = tuple(
        (
            Box(
                width - pad - (len(shown) - i) * (swatch + 3),
                height - pad - legend_line_h + (legend_line_h - swatch) // 2,
                width - pad - (len(shown) - i) * (swatch + 3) + swatch,
                height - pad - legend_line_h + (legend_line_h - swatch) // 2 + swatch,
            ),
            colour,
        )
        for i, colour in enumerate(shown)
    )
    n_obj, n_text = len(objects), len(texts)
    parts = [
        "from text: assumed layout" if from_text else f"{n_obj} object{'s' * (n_obj != 1)}",
        f"{n_text} text{'s' * (n_text != 1)}",
        f"light: {lighting.text or lighting.direction}",
    ]
    legend_face = font(legend_size)
    legend_width = width - 2 * pad - (len(shown) * (swatch + 3) + pad if shown else 0)
    legend = ellipsize(printable(" \u00b7 ".join(parts)), legend_face, max(10, legend_width))

    banner, banner_right = _fit_banner(
        f"seed {seed} \u00b7 {ratio} \u00b7 {width}x{height}", font(banner_size), width, pad
    )
    return Layout(
        width=width,
        height=height,
        seed=seed,
        aspect_ratio=ratio,
        background=background,
        palette=palette,
        lighting=lighting,
        objects=objects,
        texts=texts,
        banner=banner,
        banner_right=banner_right,
        banner_box=Box(0, 0, width, banner_h),
        banner_size=banner_size,
        caption=tuple(caption_lines),
        caption_box=caption_box,
        caption_size=caption_size,
        legend=legend,
        legend_size=legend_size,
        swatches=swatches,
        label_size=label_size,
        grid_width=max(1, short // 512),
        note="" if objects or texts else ellipsize(NO_OBJECTS, font(label_size), width - 2 * pad),
        horizon=horizon,
        focus_blur=focus_blur,
        scheme_tint=palette[0] if palette else None,
    )


def _zoom(angle: str, lens: str) -> float:
    """How much larger the shot size draws objects: the camera angle's words, else the lens
    ("macro", "24mm"), else 1."""
    for words in (angle, lens):
        for pattern, value in SHOT_SIZES:
            if re.search(pattern, words):
                return value
    mm = re.search(r"(\d{2,4})\s*mm", lens)
    if mm:
        focal = int(mm.group(1))
        return 1.2 if focal >= 85 else 0.8 if focal <= 28 else 1.0
    return 1.0


def _clear_glyph(
    glyph: tuple[int, int, int], objects: Sequence[PlacedObject], width: int
) -> tuple[int, int, int]:
    """The sun moved sideways off the objects it would cover (surfaces aside), towards the
    nearer edge; where it fits nowhere it stays put."""
    x, y, radius = glyph

    def covers(gx: int) -> bool:
        boxes = [o.label_box for o in objects] + [o.box for o in objects if not o.surface]
        return any(
            b.x0 - radius < gx < b.x1 + radius and b.y0 - radius < y < b.y1 + radius for b in boxes
        )

    if not covers(x):
        return glyph
    margin = radius * 2
    for gx in sorted(range(margin, width - margin + 1, max(1, radius)), key=lambda v: abs(v - x)):
        if not covers(gx):
            return gx, y, radius
    return glyph


def _fit_banner(right: str, face: Font, width: int, pad: int) -> tuple[str, str]:
    """The banner's two texts; the right one goes first when space is short, and the left
    one shrinks to the single word PREVIEW, which every preview shows."""
    room = width - 2 * pad
    left = BANNER
    if face.getlength(left) > room:
        left = "PREVIEW"
    if face.getlength(left) + face.getlength(right) + 3 * pad > room:
        right = ""
    return left, right


def _seed(seed: Any) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int):
        try:
            return int(seed)
        except (TypeError, ValueError, OverflowError):
            return 0
    return seed


def _from_text(words: str, seed: int) -> Mapping[str, Any]:
    data: Mapping[str, Any] = json.loads(derive_structured_prompt(words.strip(), seed=_seed(seed)))
    return data


def _background(data: Mapping[str, Any], palette: Sequence[RGB]) -> tuple[RGB, RGB]:
    """Top and bottom colours of the backdrop gradient."""
    setting = read_field(data, "background_setting")
    lowered = setting.lower()
    named = colour_words(setting)
    top: RGB | None = named[0] if named else None
    bottom: RGB | None = named[1] if len(named) > 1 else None
    if top is None:
        for pattern, colour, where in SCENES:
            if not re.search(pattern, lowered):
                continue
            if where == "bottom":
                bottom = bottom or colour
            elif top is None:
                top = colour
            if top is not None and bottom is not None:
                break
        if top is None:
            if _DARK_SCENE.search(lowered):
                base: RGB = (58, 60, 66)
            elif _LIGHT_SCENE.search(lowered):
                base = (238, 236, 230)
            else:
                base = NEUTRAL
            top = mix(palette[0], base, 0.6) if palette else base
        if _DARK_SCENE.search(lowered):
            top = mix(top, BLACK, 0.65)
            bottom = mix(bottom, BLACK, 0.65) if bottom else None
        if _HAZY_SCENE.search(lowered):
            top = mix(top, WHITE, 0.3)
            bottom = mix(bottom, WHITE, 0.3) if bottom else None
    if bottom is None:
        bottom = mix(top, BLACK, 0.12) if luma(top) > 90 else mix(top, WHITE, 0.10)
    return top, bottom
