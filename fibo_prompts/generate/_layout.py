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
import threading
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, Literal

from fibo_prompts.jobs import ASPECT_RATIOS

if TYPE_CHECKING:
    from PIL import ImageFont

    from fibo_prompts.prompt.models import StructuredPrompt

    Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

__all__ = [
    "ASPECT_RATIOS",
    "Box",
    "Layout",
    "Lighting",
    "PlacedObject",
    "PlacedText",
    "colour_words",
    "dimensions",
    "font",
    "luma",
    "mix",
    "plan_layout",
    "printable",
    "prompt_data",
    "ratio_of",
    "scheme_colours",
]

RGB = tuple[int, int, int]
Depth = Literal["background", "midground", "foreground"]
ShapeKind = Literal["ellipse", "rect", "cylinder", "triangle", "band", "figure"]
Pattern = Literal["plain", "stripes", "spots", "slices"]
Align = Literal["left", "center", "right"]

#: Most an object's centre moves with the seed, as a share of the frame's width / height.
JITTER: Final = 0.02
#: Objects and text items past these counts are not drawn (FIBO's convention is 5 objects).
MAX_OBJECTS: Final = 24
MAX_TEXTS: Final = 12
#: A cluster draws at most this many copies.
MAX_CLUSTER: Final = 16

BANNER: Final = "PREVIEW - layout sketch, not a FIBO render"
#: Written in the middle of a preview with nothing to place.
NO_OBJECTS: Final = "no objects or text to place: FIBO chooses the layout"

WHITE: Final[RGB] = (255, 255, 255)
BLACK: Final[RGB] = (0, 0, 0)
NEUTRAL: Final[RGB] = (222, 220, 214)

# --------------------------------------------------------------------------- keyword tables

#: relative_size phrases, most specific first: (pattern, box side / frame's shorter side).
SIZES: Final[tuple[tuple[str, float], ...]] = (
    (r"fill|entire|full[- ]frame|whole frame|most of the (?:frame|image)|dominat|majority", 0.80),
    (r"very large|extra large|huge|enormous|massive|giant", 0.68),
    (r"medium[- ]to[- ]large|medium[- ]large|fairly large", 0.46),
    (r"small[- ]to[- ]medium|small[- ]medium", 0.27),
    (r"very small|tiny|minute|miniature|speck", 0.10),
    (r"large|big|prominent", 0.56),
    (r"medium|moderate|mid", 0.36),
    (r"small|little", 0.20),
)
DEFAULT_SIZE: Final = 0.33

#: text_render size phrases: (pattern, letter height / frame's shorter side).
TEXT_SIZES: Final[tuple[tuple[str, float], ...]] = (
    (r"very large|huge|giant|massive|headline|fill", 0.14),
    (r"medium[- ]to[- ]large|medium[- ]large", 0.085),
    (r"large|big|bold|prominent", 0.11),
    (r"very small|tiny|fine print|minute", 0.028),
    (r"small|little|subtle", 0.04),
    (r"medium|moderate", 0.065),
)
DEFAULT_TEXT_SIZE: Final = 0.06

_ROUND: Final = re.compile(
    r"\b(?:round|rounded|circular|circle|sphere|spherical|oval|ovoid|ball|globe|dome|domed"
    r"|disc|disk|egg|orb|curved|curled)"
)
_CYLINDER: Final = re.compile(r"\b(?:cylind|tube|tubular|bottle|can\b|jar|mug|cup|column|pillar)")
_TRIANGLE: Final = re.compile(r"\b(?:triang|pointed|cone|conical|pyramid|peak|spire|tent)")
_BAND: Final = re.compile(r"\b(?:flat|plane|surface|slab|tabletop|floor|ground|counter)")
_FIGURE: Final = re.compile(r"\b(?:human|figure|person|people|man|woman|humanoid|silhouette)")
_WIDE: Final = re.compile(
    r"\b(?:horizontal|lying|landscape|wide|sideways|reclining|on its side|elongated|long)"
)
_TALL: Final = re.compile(r"\b(?:vertical|upright|tall|portrait)")
_STRIPES: Final = re.compile(r"\bstripe|\bstriped|\bbands?\b|\bpanels?\b")
_SPOTS: Final = re.compile(r"\bspots?\b|\bspotted|\bdots?\b|\bdotted|\bpolka|\bspeckl")

_FOREGROUND: Final = re.compile(r"\b(?:foreground|front|near|nearest|close|closest)\b")
_BACKGROUND: Final = re.compile(r"\b(?:background|behind|distant|distance|far|horizon|back)\b")
_LEFT: Final = re.compile(r"\bleft")
_RIGHT: Final = re.compile(r"\bright")
_TOP: Final = re.compile(r"\b(?:top|upper|above|sky|ceiling|overhead)")
_BOTTOM: Final = re.compile(r"\b(?:bottom|lower|below|beneath|floor|ground)")

#: lighting.direction: (pattern, direction name, where the light sits in the frame).
LIGHT_DIRECTIONS: Final[tuple[tuple[str, str, tuple[float, float]], ...]] = (
    (r"back[- ]?lit|backlight|from behind|rim[- ]light|silhouett|contre", "back", (0.0, -0.3)),
    (r"(?:top|upper|above)[- ]?left|left[- ]?(?:top|upper|above)", "top-left", (-0.7, -0.7)),
    (r"(?:top|upper|above)[- ]?right|right[- ]?(?:top|upper|above)", "top-right", (0.7, -0.7)),
    (r"(?:bottom|lower|below)[- ]?left", "bottom-left", (-0.7, 0.7)),
    (r"(?:bottom|lower|below)[- ]?right", "bottom-right", (0.7, 0.7)),
    (r"\bleft", "left", (-1.0, 0.0)),
    (r"\bright", "right", (1.0, 0.0)),
    (
        r"top[- ]?down|overhead|from above|\babove|top[- ]?lit|\btop|zenith|\bsky",
        "top",
        (0.0, -1.0),
    ),
    (r"from below|under[- ]?lit|\bbelow|\bbottom|uplight", "bottom", (0.0, 1.0)),
    (r"front|head[- ]on|on[- ]camera|frontal", "front", (0.0, 0.0)),
)

_WARM_LIGHT: Final = re.compile(
    r"golden|sunset|sunrise|warm|late[- ]afternoon|candle|tungsten|incandescent|fire|amber|dusk"
)
_COOL_LIGHT: Final = re.compile(r"blue hour|moon|cool|cold|twilight|fluorescent|overcast|icy")
_DARK_LIGHT: Final = re.compile(r"night|\bdim\b|low[- ]key|dark|moody|gloom|noir|\blow\b")
_HARD_LIGHT: Final = re.compile(r"dramatic|harsh|hard|direct sun|strong|chiaroscuro|spotlight")
_SOFT_LIGHT: Final = re.compile(r"soft|diffuse|overcast|even|ambient|studio|no discernible")

#: lighting.conditions with a colour of their own, first match wins: (pattern, tint, how much
#: darker). A candle is dimmer and redder than a tungsten bulb, which is warmer than daylight.
LIGHT_SOURCES: Final[tuple[tuple[str, RGB, float], ...]] = (
    (r"candle|fire[- ]?light|firelight|lantern|torch|ember|campfire", (255, 186, 118), 0.42),
    (r"tungsten|incandescent|\blamp|bulb", (255, 214, 164), 0.12),
    (r"moon|night", (186, 204, 255), 0.35),
    (r"blue hour|twilight", (196, 210, 255), 0.18),
    (r"neon", (236, 196, 255), 0.2),
)
#: conditions under which the sun is hidden: no sun is drawn.
_NO_SUN: Final = re.compile(r"overcast|cloudy|clouded|fog|foggy|mist|haze|hazy|grey sky|gray sky")
#: aesthetics.mood_atmosphere: (pattern, colour the scene is multiplied by), first match wins.
MOODS: Final[tuple[tuple[str, RGB], ...]] = (
    (
        r"somber|sombre|melanchol|sad|gloom|bleak|ominous|eerie|sinister|dark|brooding",
        (176, 180, 200),
    ),
    (r"mysterious|moody|noir|tense|suspense|dramatic", (196, 192, 210)),
    (r"cozy|cosy|intimate|nostalg|romantic|inviting|homely|warm", (255, 238, 216)),
    (r"serene|tranquil|clinical|cool|fresh|icy", (238, 244, 255)),
    (r"cheerful|joyful|happy|playful|energetic|lively|vibrant|bright|sunny|fun", (255, 252, 240)),
)
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
#: objects that other objects stand on: drawn first, across the whole width.
_SURFACE: Final = re.compile(
    r"^(?:surface|tabletop|table|floor|ground|countertop|counter|desk|shelf|platform|plinth"
    r"|pedestal|tray|board|mat|rug|carpet|tablecloth|worktop|bench|slab)s?$"
)

_FAINT_SHADOW: Final = re.compile(r"minimal|\bno\b|none|faint|subtle|barely|little|absent")
_HARD_SHADOW: Final = re.compile(r"harsh|hard|sharp|strong|deep|dramatic|dark|defined|crisp")
_LONG_SHADOW: Final = re.compile(r"\blong")
_SHORT_SHADOW: Final = re.compile(r"\bshort|small|contact")

#: CSS lacks these colour words prompts use; RGB values from common colour references.
EXTRA_COLOURS: Final[dict[str, RGB]] = {
    "amber": (255, 191, 0),
    "blond": (240, 220, 160),
    "blonde": (240, 220, 160),
    "brass": (181, 166, 66),
    "bronze": (205, 127, 50),
    "burgundy": (128, 0, 32),
    "champagne": (247, 231, 206),
    "charcoal": (54, 69, 79),
    "cobalt": (0, 71, 171),
    "concrete": (150, 150, 148),
    "copper": (184, 115, 51),
    "cream": (255, 250, 215),
    "denim": (21, 96, 189),
    "ebony": (40, 36, 34),
    "emerald": (80, 200, 120),
    "golden": (218, 165, 32),
    "honey": (235, 177, 60),
    "jade": (0, 168, 107),
    "lilac": (200, 162, 200),
    "mauve": (224, 176, 255),
    "mint": (170, 240, 209),
    "mustard": (225, 173, 1),
    "oak": (193, 154, 107),
    "ochre": (204, 119, 34),
    "ruby": (224, 17, 95),
    "russet": (128, 70, 27),
    "rust": (183, 65, 14),
    "sage": (188, 184, 138),
    "sapphire": (15, 82, 186),
    "scarlet": (255, 36, 0),
    "sepia": (112, 66, 20),
    "taupe": (179, 164, 150),
    "terracotta": (226, 114, 91),
    "vermilion": (227, 66, 52),
    "walnut": (93, 67, 45),
    "wood": (193, 154, 107),
    "wooden": (193, 154, 107),
}

#: The basic colour words, as painters mean them rather than CSS's pure primaries: CSS
#: "brown" is a dark red and "blue" a screen blue; a "red apple" or "blue shirt" is neither.
BASIC_COLOURS: Final[dict[str, RGB]] = {
    "red": (210, 45, 45),
    "orange": (240, 140, 40),
    "yellow": (245, 205, 50),
    "green": (70, 150, 75),
    "blue": (45, 100, 195),
    "purple": (125, 70, 165),
    "violet": (140, 95, 200),
    "pink": (240, 145, 175),
    "brown": (125, 82, 50),
    "grey": (140, 140, 138),
    "gray": (140, 140, 138),
    "black": (28, 28, 30),
    "white": (255, 255, 255),
}


#: Words that change the next colour: (target to mix towards or an operation, amount).
MODIFIERS: Final[dict[str, tuple[str, float]]] = {
    "light": ("white", 0.40),
    "lighter": ("white", 0.30),
    "darker": ("black", 0.30),
    "pale": ("white", 0.55),
    "pastel": ("white", 0.55),
    "dark": ("black", 0.40),
    "deep": ("black", 0.30),
    "rich": ("black", 0.15),
    "muted": ("grey", 0.45),
    "dusty": ("grey", 0.45),
    "faded": ("grey", 0.45),
    "soft": ("grey", 0.25),
    "dull": ("grey", 0.45),
    "bright": ("saturate", 0.30),
    "vivid": ("saturate", 0.30),
    "vibrant": ("saturate", 0.30),
    "neon": ("saturate", 0.50),
    "warm": ("warm", 0.18),
    "cool": ("cool", 0.18),
}
_INTENSIFIERS: Final = frozenset({"very", "slightly", "quite", "somewhat", "bit", "a"})

#: Scheme words standing for several colours.
PALETTE_WORDS: Final[dict[str, tuple[RGB, ...]]] = {
    "earth": ((160, 82, 45), (210, 180, 140), (107, 112, 60)),
    "earthy": ((160, 82, 45), (210, 180, 140), (107, 112, 60)),
    "neutral": ((232, 224, 210), (160, 158, 150)),
    "neutrals": ((232, 224, 210), (160, 158, 150)),
    "primary": ((220, 40, 40), (250, 210, 30), (30, 80, 200)),
    "pastels": ((248, 200, 220), (190, 215, 245), (250, 240, 180), (190, 240, 210)),
    "jewel": ((80, 200, 120), (15, 82, 186), (224, 17, 95), (153, 102, 204)),
}
#: Scheme words used only when no colour is named.
_WEAK_PALETTE: Final[dict[str, tuple[RGB, ...]]] = {
    "colorful": ((230, 57, 70), (244, 162, 97), (233, 196, 106), (42, 157, 143), (69, 123, 157)),
    "colourful": ((230, 57, 70), (244, 162, 97), (233, 196, 106), (42, 157, 143), (69, 123, 157)),
    "rainbow": ((230, 57, 70), (244, 162, 97), (233, 196, 106), (42, 157, 143), (69, 123, 157)),
    "multicolored": ((230, 57, 70), (233, 196, 106), (42, 157, 143), (69, 123, 157)),
    "vibrant": ((230, 57, 70), (233, 196, 106), (42, 157, 143), (69, 123, 157)),
    "pastel": ((248, 200, 220), (190, 215, 245), (250, 240, 180), (190, 240, 210)),
    "monochrome": ((40, 40, 40), (128, 128, 128), (230, 230, 230)),
    "monochromatic": ((40, 40, 40), (128, 128, 128), (230, 230, 230)),
    "grayscale": ((40, 40, 40), (128, 128, 128), (230, 230, 230)),
    "greyscale": ((40, 40, 40), (128, 128, 128), (230, 230, 230)),
    "contrast": ((20, 20, 20), (240, 240, 240)),
}
_MONOCHROME: Final = frozenset({"monochrome", "monochromatic", "tonal"})

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

# --------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in pixels: left, top, right, bottom (right and bottom exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        """``x1 - x0``."""
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        """``y1 - y0``."""
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        """The middle point."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def inside(self, width: int, height: int) -> bool:
        """Whether the box lies within a ``width`` x ``height`` image."""
        return 0 <= self.x0 <= self.x1 <= width and 0 <= self.y0 <= self.y1 <= height


@dataclass(frozen=True, slots=True)
class PlacedObject:
    """One ``objects[]`` item as drawn: its shape, box, colours and label.

    ``cell`` is (row, column) in the 3x3 grid, 0-based from the top left; ``colors`` starts
    with the fill, then accents (rim, stripes, slices); ``members`` are the boxes of a
    cluster's copies (empty for a single object).
    """

    index: int
    label: str
    kind: ShapeKind
    box: Box
    colors: tuple[RGB, ...]
    pattern: Pattern
    depth: Depth
    cell: tuple[int, int]
    count: int
    members: tuple[Box, ...]
    label_box: Box
    #: Something the other objects stand on (a table, a floor): drawn first, full width.
    surface: bool = False


@dataclass(frozen=True, slots=True)
class PlacedText:
    """One ``text_render[]`` item as drawn: wrapped lines, letter size, colour and box."""

    index: int
    text: str
    lines: tuple[str, ...]
    box: Box
    color: RGB
    font_size: int
    line_height: int
    align: Align
    cell: tuple[int, int]
    bold: bool
    shadow: bool


@dataclass(frozen=True, slots=True)
class Lighting:
    """How the light is drawn.

    ``source`` is where the light sits, in frame coordinates from (-1, -1) top left to (1, 1)
    bottom right; ``falloff`` the brightness factor on the far side (1: even); ``tint`` the
    colour the scene is multiplied by; the shadow is cast ``shadow_offset`` pixels away with
    alpha ``shadow_alpha``.
    """

    direction: str
    source: tuple[float, float]
    falloff: float
    tint: RGB
    shadow_offset: tuple[int, int]
    shadow_alpha: int
    glyph: tuple[int, int, int] | None
    text: str


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
    lighting: Lighting
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


# --------------------------------------------------------------------------- fonts

_fonts = threading.local()


def font(size: int) -> Font:
    """Pillow's bundled default font at ``size`` pixels, cached per thread.

    The bundled font (Aileron, drawn with FreeType) gives the same pixels on every machine
    with the same Pillow version. FreeType faces are not thread-safe, hence one per thread.
    """
    from PIL import ImageFont

    cache: dict[int, Font] | None = getattr(_fonts, "cache", None)
    if cache is None:
        cache = _fonts.cache = {}
    found = cache.get(size)
    if found is None:
        try:
            found = ImageFont.load_default(size=size)
        except TypeError:  # Pillow < 10.1: the bitmap font, one size
            found = ImageFont.load_default()
        cache[size] = found
    return found


_REPLACEMENTS: Final = str.maketrans(
    {
        "\u2014": "-",
        "\u2013": "-",
        "\u2010": "-",
        "\u2011": "-",
        "\u2212": "-",
        "\u00d7": "x",
        "\u00a0": " ",
        "\u2022": "\u00b7",
        "\u201e": "\u201c",
    }
)
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


@lru_cache(maxsize=1024)
def printable(text: str) -> str:
    """``text`` in the glyphs the bundled font has where possible: accents dropped ("é" ->
    "e"), dashes and "×" in ASCII, control characters and line breaks as one space."""
    text = _CONTROL.sub(" ", text.translate(_REPLACEMENTS))
    if text.isascii():
        return text
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _wrap(text: str, face: Font, width: float, max_lines: int) -> tuple[list[str], bool]:
    """Greedy word wrap into at most ``max_lines`` lines no wider than ``width``.

    Returns the lines and whether everything fit whole; a cut is marked with an ellipsis.
    Words are measured once each (a line's width is the sum of its words and spaces), so
    long captions cost one measurement per word, not per word per line.
    """
    space = face.getlength(" ")
    lines: list[str] = []
    current: list[str] = []
    used = 0.0
    fits = True
    cut = False
    for word in text.split():
        size = face.getlength(word)
        if current and used + space + size <= width:
            current.append(word)
            used += space + size
            continue
        if current:
            if len(lines) + 1 == max_lines:
                cut = True
                break
            lines.append(" ".join(current))
        current, used = [word], size
        if size > width:
            fits = False
    if current:
        lines.append(" ".join(current) + (" \u2026" if cut else ""))
    if cut:
        fits = False
    return [_ellipsize(line, face, width) for line in lines], fits


def _ellipsize(line: str, face: Font, width: float) -> str:
    """``line``, or its longest start that fits ``width`` with an ellipsis (binary search:
    a 2,000-letter word costs a dozen measurements, not 2,000)."""
    if face.getlength(line) <= width:
        return line
    low, high = 0, len(line)  # line[:low] + "…" fits; line[:high] + "…" does not
    if face.getlength("\u2026") > width:
        return ""
    while high - low > 1:
        middle = (low + high) // 2
        if face.getlength(line[:middle] + "\u2026") <= width:
            low = middle
        else:
            high = middle
    return line[:low].rstrip() + "\u2026"


# --------------------------------------------------------------------------- colours


@lru_cache(maxsize=1)
def _css() -> dict[str, RGB]:
    # coloraide's CSS table, the one the brand lint reads; every name counts here, "linen" and
    # "snow" included: in a picture a linen napkin is linen-coloured
    from coloraide.css import color_names

    return {
        name: (round(v[0]), round(v[1]), round(v[2]))
        for name, v in color_names.name2val_map.items()
        if name != "transparent"
    }


@lru_cache(maxsize=1)
def _prefixes() -> frozenset[str]:
    return frozenset(n[:i] for n in _css() for i in range(1, len(n) + 1))


def mix(a: RGB, b: RGB, amount: float) -> RGB:
    """``a`` moved ``amount`` (0-1) of the way towards ``b``."""
    return (
        round(a[0] + (b[0] - a[0]) * amount),
        round(a[1] + (b[1] - a[1]) * amount),
        round(a[2] + (b[2] - a[2]) * amount),
    )


def luma(color: RGB) -> float:
    """Perceived brightness, 0-255 (Rec. 601 weights)."""
    return 0.299 * color[0] + 0.587 * color[1] + 0.114 * color[2]


def _modify(color: RGB, modifiers: Sequence[str]) -> RGB:
    for word in modifiers:
        operation, amount = MODIFIERS[word]
        if operation == "white":
            color = mix(color, WHITE, amount)
        elif operation == "black":
            color = mix(color, BLACK, amount)
        elif operation == "grey":
            grey = round(luma(color))
            color = mix(color, (grey, grey, grey), amount)
        elif operation == "saturate":
            level = luma(color)
            r, g, b = (min(255, max(0, round(level + (c - level) * (1 + amount)))) for c in color)
            color = (r, g, b)
        elif operation == "warm":
            color = mix(color, (255, 150, 60), amount)
        else:
            color = mix(color, (70, 130, 255), amount)
    return color


_TOKEN: Final = re.compile(r"#[0-9a-f]{6}(?![0-9a-z])|#[0-9a-f]{3}(?![0-9a-z])|[a-z]+")


def _base_colour(word: str) -> RGB | None:
    if word.startswith("#"):
        digits = word[1:] if len(word) == 7 else "".join(c * 2 for c in word[1:])
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    return BASIC_COLOURS.get(word) or _css().get(word) or EXTRA_COLOURS.get(word)


def _single(word: str) -> RGB | None:
    """The colour of one word ("blue", "teal", "copper"), or ``None``."""
    return BASIC_COLOURS.get(word) or _css().get(word) or EXTRA_COLOURS.get(word)


def _distinct(colours: Iterable[RGB]) -> tuple[RGB, ...]:
    seen: dict[RGB, None] = {}
    for colour in colours:
        seen.setdefault(colour, None)
    return tuple(seen)


def _ish(word: str) -> RGB | None:
    # "reddish", "yellowish", "greenish": the colour itself
    if len(word) < 6 or not word.endswith("ish"):
        return None
    stem = word[:-3]
    found = _base_colour(stem)
    if found is None and len(stem) > 2 and stem[-1] == stem[-2]:
        found = _base_colour(stem[:-1])
    return found


@lru_cache(maxsize=4096)
def colour_words(text: str) -> tuple[RGB, ...]:
    """The colours named in free text, in order (see the module docstring for the rules).

    Example:
        >>> colour_words("Cylindrical, matte black with a copper rim")
        ((28, 28, 30), (184, 115, 51))
        >>> colour_words("pale honey-coloured wood")
        ((246, 220, 167), (193, 154, 107))
    """
    return tuple(found.color for found in _scan(text)[0])


@lru_cache(maxsize=4096)
def listed_colours(text: str) -> tuple[RGB, ...]:
    """The longest run of colours written as a list ("red, yellow and blue"), else ``()``.

    An object whose colours are listed like this is drawn in slices of each; "brown body
    with a black nose" is a fill and an accent, not a list.
    """
    found = _scan(text)[0]
    best: list[RGB] = []
    run: list[RGB] = []
    for n, item in enumerate(found):
        if n and _LIST_GAP.fullmatch(text[found[n - 1].end : item.start].lower()):
            run.append(item.color)
        else:
            run = [item.color]
        if len(run) > len(best):
            best = list(run)
    return tuple(best) if len(best) > 1 else ()


_HEX_GAP: Final = re.compile(r"[\s(\[:=,-]*")
_LIST_GAP: Final = re.compile(r"[\s,/&+]*(?:\b(?:and|or)\b)?[\s,/&+-]*")


@dataclass(frozen=True, slots=True)
class _Found:
    color: RGB
    start: int
    end: int


@lru_cache(maxsize=4096)
def _scan(text: str) -> tuple[tuple[_Found, ...], tuple[str, ...]]:
    """Colours named in ``text`` and the weak scheme words seen (used when none is named)."""
    lowered = text.lower()
    tokens = [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(lowered)]
    css, prefixes = _css(), _prefixes()
    colours: list[_Found] = []
    weak: list[str] = []
    pending: list[str] = []
    index, count = 0, len(tokens)

    def joined_to(i: int) -> bool:  # the token i follows i-1 directly (" " or "-" between)
        return lowered[tokens[i - 1][2] : tokens[i][1]] in (" ", "-")

    while index < count:
        word, start = tokens[index][0], tokens[index][1]
        color: RGB | None = None
        size = 1
        if word[0] != "#" and word in prefixes:
            # CSS names over up to three words: "light blue", "dark slate gray"
            name, best = word, ""
            for extra in range(3):
                if extra:
                    if index + extra >= count or not joined_to(index + extra):
                        break
                    name += tokens[index + extra][0]
                if name in css:
                    best, size = name, extra + 1
                elif name not in prefixes:
                    break
            if best:
                color = BASIC_COLOURS.get(best) or css[best]
        if color is None and (word[0] == "#" or word in EXTRA_COLOURS):
            color = _base_colour(word)
        ish = False
        if color is None and len(word) > 3 and word.endswith("s"):
            color = _single(word[:-1])  # "blues and greens"
        if color is None:
            color = _ish(word)
            ish = color is not None
        if color is not None:
            following = index + size
            second = _single(tokens[following][0]) if following < count else None
            if second is not None and joined_to(following):
                # "denim blue" and "blue denim" are one colour; "reddish brown" is between
                color = mix(color, second, 0.5) if ish else color
                size += 1
            end = tokens[index + size - 1][2]
            color = _modify(color, pending)
            exact = index + size
            if (
                word[0] != "#"
                and exact < count
                and tokens[exact][0][0] == "#"
                and _HEX_GAP.fullmatch(lowered[end : tokens[exact][1]])
            ):
                # "deep navy (#1B2A41)": the code is the colour meant, drawn exactly
                color = _base_colour(tokens[exact][0]) or color
                end = tokens[exact][2]
                size += 1
            colours.append(_Found(color, start, end))
            pending = []
            index += size
            continue
        if word in PALETTE_WORDS:
            end = tokens[index][2]
            colours.extend(_Found(_modify(c, pending), start, end) for c in PALETTE_WORDS[word])
            pending = []
        elif word == "pastel" and not _next_is_colour(tokens, index):
            weak.append(word)  # "pastel colours": a palette only when nothing is named
            pending = []
        elif word in MODIFIERS:
            pending.append(word)
            if word in _WEAK_PALETTE:
                weak.append(word)
        elif word in _WEAK_PALETTE or word in _MONOCHROME:
            weak.append(word)
            pending = []
        elif word not in _INTENSIFIERS:
            pending = []
        index += 1
    return tuple(colours), tuple(weak)


def _next_is_colour(tokens: Sequence[tuple[str, int, int]], index: int) -> bool:
    if index + 1 >= len(tokens):
        return False
    word = tokens[index + 1][0]
    return _single(word) is not None


@lru_cache(maxsize=1024)
def scheme_colours(text: str) -> tuple[RGB, ...]:
    """The colours of ``aesthetics.color_scheme``: named colours and scheme words.

    "monochromatic blue" gives three shades of blue; "colourful" alone a rainbow.
    """
    found, weak = _scan(text)
    colours = _distinct(f.color for f in found)
    if len(colours) == 1 and any(word in _MONOCHROME for word in weak):
        base = colours[0]
        return (mix(base, BLACK, 0.45), base, mix(base, WHITE, 0.55))
    if colours:
        return colours[:6]
    for word in weak:
        if word in _WEAK_PALETTE:
            return _WEAK_PALETTE[word]
    return ()


# --------------------------------------------------------------------------- reading fields


def prompt_data(prompt: StructuredPrompt | Mapping[str, Any] | str | bytes | None) -> Any:
    """The prompt as JSON data, leniently: a :class:`StructuredPrompt`, a mapping, or text.

    Text or bytes that hold a JSON value give that value; anything else gives ``None``.
    """
    if prompt is None:
        return None
    to_dict: Callable[[], Any] | None = getattr(prompt, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    if isinstance(prompt, Mapping):
        return prompt
    if isinstance(prompt, bytes):
        prompt = prompt.decode("utf-8", "replace")
    if isinstance(prompt, str):
        try:
            return json.loads(prompt)
        except (ValueError, RecursionError):
            return None
    return None


def _text(value: Any, limit: int = 2000) -> str:
    """A field as text: strings as they are, numbers written out, anything else empty."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def _field(data: Mapping[str, Any], *keys: str) -> str:
    value: Any = data
    for key in keys:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(key)
    return _text(value)


def _grid(location: str) -> tuple[int, int]:
    """(row, column) of a location phrase; the first of left/right and top/bottom named."""
    text = location.lower()
    left, right = _LEFT.search(text), _RIGHT.search(text)
    column = 1
    if left and (not right or left.start() < right.start()):
        column = 0
    elif right:
        column = 2
    top, bottom = _TOP.search(text), _BOTTOM.search(text)
    row = 1
    if top and (not bottom or top.start() < bottom.start()):
        row = 0
    elif bottom:
        row = 2
    return row, column


def _depth(location: str) -> Depth:
    text = location.lower()
    front, back = _FOREGROUND.search(text), _BACKGROUND.search(text)
    if front and (not back or front.start() < back.start()):
        return "foreground"
    if back:
        return "background"
    return "midground"


def _lookup(text: str, table: Sequence[tuple[str, float]], default: float) -> float:
    lowered = text.lower()
    percent = re.search(r"(\d{1,3}(?:\.\d+)?)\s*%", lowered)
    if percent and table is SIZES:
        return min(0.95, max(0.08, math.sqrt(float(percent.group(1)) / 100)))
    for pattern, value in table:
        if re.search(pattern, lowered):
            return value
    return default


def _shape(item: Mapping[str, Any]) -> tuple[ShapeKind, float, Pattern]:
    """Kind, aspect (width / height) and pattern of an object."""
    shape = _text(item.get("shape_and_color")).lower()
    orientation = _text(item.get("orientation")).lower()
    pose = orientation + " " + _text(item.get("pose")).lower()
    human = bool(_text(item.get("clothing")) or _text(item.get("skin_tone_and_texture")))
    kind: ShapeKind = "rect"
    aspect = 1.0
    if _FIGURE.search(shape):
        kind, aspect = "figure", 0.55
    elif _BAND.search(shape):
        kind, aspect = "band", 3.0
    elif _CYLINDER.search(shape):
        kind, aspect = "cylinder", 0.72
    elif _ROUND.search(shape):
        kind = "ellipse"
    elif _TRIANGLE.search(shape):
        kind, aspect = "triangle", 1.0
    elif human:
        kind, aspect = "figure", 0.55
    if kind == "figure":
        if re.search(r"\b(?:seated|sitting|crouch|kneel)", pose):
            aspect = 0.8
        if re.search(r"\b(?:lying|reclin)", pose):
            aspect = 1.8
    elif kind != "band":
        # the orientation decides before the shape: an "elongated" spoon "held upright"
        for words in (orientation, shape):
            if _WIDE.search(words):
                aspect = 1.6
                break
            if _TALL.search(words):
                aspect = min(aspect, 0.65)
                break
    pattern: Pattern = "plain"
    if _STRIPES.search(shape):
        pattern = "stripes"
    elif _SPOTS.search(shape):
        pattern = "spots"
    return kind, aspect, pattern


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 1
    return max(1, min(int(value), 10_000))


def _label(item: Mapping[str, Any], count: int) -> str:
    from fibo_prompts.prompt.labels import item_label

    # the same names `fibo diff` uses (objects[mug]), so a preview and a diff agree
    label = item_label("objects", {"description": _text(item.get("description"))})
    return printable(f"{label} x{count}" if count > 1 else label)


# --------------------------------------------------------------------------- planning


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

    palette = scheme_colours(_field(data, "aesthetics", "color_scheme"))
    background = _background(data, palette)
    lighting = _lighting(data, width, height)

    banner_h = max(10, round(short * 0.04))
    banner_size = max(7, round(banner_h * 0.55))
    caption_size = max(7, round(short * 0.024))
    legend_size = max(6, round(caption_size * 0.8))
    label_size = max(7, round(short * 0.021))
    pad = max(3, round(short * 0.015))

    caption_text = printable(_field(data, "short_description") or (text or "").strip())
    caption_text = caption_text or "(no short_description)"
    caption_face = font(caption_size)
    caption_lines, _ = _wrap(caption_text, caption_face, width - 2 * pad, 2)
    caption_line_h = round(caption_size * 1.25)
    legend_line_h = round(legend_size * 1.3)
    caption_h = pad * 2 + caption_line_h * len(caption_lines) + legend_line_h
    caption_box = Box(0, height - caption_h, width, height)

    # labels and texts stay clear of the banner and the caption, so they can be read
    area = (banner_h, caption_box.y0)
    angle = _field(data, "photographic_characteristics", "camera_angle").lower()
    lens = _field(data, "photographic_characteristics", "lens_focal_length").lower()
    share = next((t[1] for t in CAMERA_ANGLES if re.search(t[0], angle)), None)
    horizon = None if share is None else round(height * share)
    view = _View(horizon=horizon, zoom=_zoom(angle, lens))
    objects = _place_objects(data, palette, background, width, height, rng, label_size, area, view)
    depth_of_field = _field(data, "photographic_characteristics", "depth_of_field").lower()
    focus_blur = max(1, round(short * 0.012)) if _SHALLOW.search(depth_of_field) else 0
    glyph = lighting.glyph
    if glyph is not None:
        lighting = replace(lighting, glyph=_clear_glyph(glyph, objects, width))
    texts = _place_texts(data, background, width, height, area)

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
    legend = _ellipsize(printable(" \u00b7 ".join(parts)), legend_face, max(10, legend_width))

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
        note="" if objects or texts else _ellipsize(NO_OBJECTS, font(label_size), width - 2 * pad),
        horizon=horizon,
        focus_blur=focus_blur,
        scheme_tint=palette[0] if palette else None,
    )


@dataclass(frozen=True, slots=True)
class _View:
    horizon: int | None
    zoom: float


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
    from fibo_prompts.generate._derive import derive_structured_prompt

    data: Mapping[str, Any] = json.loads(derive_structured_prompt(words.strip(), seed=_seed(seed)))
    return data


def _background(data: Mapping[str, Any], palette: Sequence[RGB]) -> tuple[RGB, RGB]:
    """Top and bottom colours of the backdrop gradient."""
    setting = _field(data, "background_setting")
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


def _lighting(data: Mapping[str, Any], width: int, height: int) -> Lighting:
    direction_text = _field(data, "lighting", "direction")
    conditions = _field(data, "lighting", "conditions").lower()
    shadows = _field(data, "lighting", "shadows").lower()
    lowered = direction_text.lower()
    name, source = "diffuse", (0.0, 0.0)
    earliest = len(lowered) + 1
    for pattern, found, where in LIGHT_DIRECTIONS:
        match = re.search(pattern, lowered)
        # the direction named first wins: "from the right, fill from the left" is right
        if match and match.start() < earliest:
            earliest, name, source = match.start(), found, where
    if name == "back":  # "backlit from the right": the glow sits on that side, not mid-frame
        side = -0.75 if re.search(r"\bleft", lowered) else 0.75 if _RIGHT.search(lowered) else 0.0
        source = (side, -0.75 if side else source[1])
    falloff = 0.74
    if _HARD_LIGHT.search(conditions) or _HARD_LIGHT.search(lowered):
        falloff = 0.58
    elif _SOFT_LIGHT.search(conditions) or re.search(r"soft|diffuse|even", lowered):
        falloff = 0.84
    if name in ("diffuse", "front"):
        falloff = max(falloff, 0.86)
    tint: RGB = WHITE
    darker = 0.0
    named = next((t for t in LIGHT_SOURCES if re.search(t[0], conditions)), None)
    if named is not None:
        tint, darker = named[1], named[2]
    elif _WARM_LIGHT.search(conditions):
        tint = (255, 236, 208)
    elif _COOL_LIGHT.search(conditions):
        tint = (218, 230, 255)
    if _DARK_LIGHT.search(conditions):
        darker = max(darker, 0.35 if not re.search(r"\blow\b", conditions) else 0.2)
    tint = mix(tint, BLACK, darker)
    mood = _field(data, "aesthetics", "mood_atmosphere").lower()
    grade = next((t[1] for t in MOODS if re.search(t[0], mood)), WHITE)
    tint = (tint[0] * grade[0] // 255, tint[1] * grade[1] // 255, tint[2] * grade[2] // 255)
    short = min(width, height)
    length = 0.022
    alpha = 80
    if _FAINT_SHADOW.search(shadows):
        alpha = 36
    elif _HARD_SHADOW.search(shadows):
        alpha = 120
    elif "soft" in shadows:
        alpha = 64
    if _LONG_SHADOW.search(shadows):
        length *= 2.2
    elif _SHORT_SHADOW.search(shadows):
        length *= 0.6
    if name in ("front", "diffuse", "top"):
        offset = (0, round(short * length * 0.5))
    elif name == "back":
        offset = (0, round(short * length))
    else:
        offset = (round(-source[0] * short * length), round(-source[1] * short * length))
    glyph: tuple[int, int, int] | None = None
    if name not in ("front", "diffuse") and not _NO_SUN.search(conditions):
        radius = max(3, round(short * 0.022))
        margin = radius * 2 + round(short * 0.01)
        gx = round(width / 2 + source[0] * (width / 2 - margin))
        gy = round(height / 2 + source[1] * (height / 2 - margin))
        top_limit = max(10, round(short * 0.04)) + margin
        glyph = (gx, max(top_limit, min(height - margin, gy)), radius)
    return Lighting(
        direction=name,
        source=source,
        falloff=falloff,
        tint=tint,
        shadow_offset=offset,
        shadow_alpha=alpha,
        glyph=glyph,
        text=printable(direction_text.strip())[:80],
    )


_ALIGN: Final[tuple[Align, Align, Align]] = ("left", "center", "right")
_DEPTH_ORDER: Final[dict[str, int]] = {"background": 0, "midground": 1, "foreground": 2}
_DEPTH_SCALE: Final[dict[str, float]] = {"background": 0.75, "midground": 1.0, "foreground": 1.15}
_DEPTH_SHIFT: Final[dict[str, float]] = {"background": -0.05, "midground": 0.0, "foreground": 0.05}


def _place_objects(
    data: Mapping[str, Any],
    palette: Sequence[RGB],
    background: tuple[RGB, RGB],
    width: int,
    height: int,
    rng: random.Random,
    label_size: int,
    area: tuple[int, int],
    view: _View,
) -> tuple[PlacedObject, ...]:
    raw = data.get("objects")
    items = [i for i in raw[:MAX_OBJECTS]] if isinstance(raw, list) else []
    short = min(width, height)
    margin = round(short * 0.02)
    label_face = font(label_size)
    parsed = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            item = {"description": _text(item)}
        location = _text(item.get("location"))
        parsed.append((index, item, _grid(location), _depth(location)))
    # objects sharing a cell and depth are spread sideways so their labels stay readable
    occupants: dict[tuple[int, int, str], list[int]] = {}
    for index, _, cell, depth in parsed:
        occupants.setdefault((*cell, depth), []).append(index)

    placed: list[PlacedObject] = []
    for index, item, cell, depth in parsed:
        row, column = cell
        jx, jy = rng.uniform(-1, 1), rng.uniform(-1, 1)
        extent = _lookup(_text(item.get("relative_size")), SIZES, DEFAULT_SIZE)
        extent *= _DEPTH_SCALE[depth] * short
        kind, aspect, pattern = _shape(item)
        surface = _is_surface(item, kind, row)
        if not surface:
            extent *= view.zoom
        w = extent * math.sqrt(aspect)
        h = extent / math.sqrt(aspect)
        shrink = min(1.0, (width - 2 * margin) / w, (height - 2 * margin) / h)
        w, h = max(4.0, w * shrink), max(4.0, h * shrink)
        group = occupants[(row, column, depth)]
        spread = (group.index(index) - (len(group) - 1) / 2) * 0.16 if len(group) > 1 else 0.0
        cx = width * ((column + 0.5) / 3 + spread + jx * JITTER)
        cy = height * ((row + 0.5) / 3 + _DEPTH_SHIFT[depth] + jy * JITTER)
        # sizes are rounded before positions, so the seed never changes a box's size
        bw, bh = round(w), round(h)
        x0 = round(min(max(cx - bw / 2, margin), width - margin - bw))
        y0 = round(min(max(cy - bh / 2, margin), height - margin - bh))
        box = Box(x0, y0, x0 + bw, y0 + bh)
        if surface:
            # what things stand on spans the frame from the horizon (or its own top) down
            top = y0 if view.horizon is None else view.horizon
            box = Box(0, min(top, height - 4), width, height)

        source = _text(item.get("shape_and_color"))
        if not colour_words(source):
            source = _text(item.get("description"))
        colours = _distinct(colour_words(source))[:4] or (
            (palette[index % len(palette)],) if palette else ((150, 146, 140),)
        )
        listed = listed_colours(source)
        if pattern == "plain" and len(listed) >= 3:
            pattern, colours = "slices", listed[:6]
        if depth == "background":  # air between: far things take the backdrop's colour
            colours = tuple(mix(c, background[0], 0.35) for c in colours)
        count = _count(item.get("number_of_objects"))
        members = _cluster(box, kind, count, rng) if count > 1 else ()
        # a surface's label goes at its left, clear of what stands on it in the middle
        anchor = Box(0, box.y0, max(1, width // 4), box.y1) if surface else box
        label, label_box = _fit_label(
            _label(item, count), label_face, label_size, anchor, width, area
        )
        placed.append(
            PlacedObject(
                index=index,
                label=label,
                kind=kind,
                box=box,
                colors=colours,
                pattern=pattern,
                depth=depth,
                cell=cell,
                count=count,
                members=members,
                label_box=label_box,
                surface=surface,
            )
        )
    placed.sort(
        key=lambda o: (not o.surface, _DEPTH_ORDER[o.depth], -o.box.width * o.box.height, o.index)
    )
    return _separate_labels(placed, area)


def _is_surface(item: Mapping[str, Any], kind: ShapeKind, row: int) -> bool:
    """Whether an object is something others stand on: a table, floor, shelf... (its
    ``fibo diff`` name), or a flat band in the bottom row."""
    from fibo_prompts.prompt.labels import item_label

    noun = item_label("objects", {"description": _text(item.get("description"))}).lower()
    return bool(_SURFACE.match(noun)) or (kind == "band" and row == 2)


def _separate_labels(placed: list[PlacedObject], area: tuple[int, int]) -> tuple[PlacedObject, ...]:
    """Move a label that covers an earlier one just below it (above, at the bottom edge)."""
    taken: list[Box] = []
    out: list[PlacedObject] = []
    for obj in placed:
        box = obj.label_box
        for _ in range(len(taken)):
            hit = next((t for t in taken if _overlap(box, t)), None)
            if hit is None:
                break
            gap = max(1, box.height // 6)
            y0 = hit.y1 + gap
            if y0 + box.height > area[1]:
                y0 = hit.y0 - gap - box.height
            if y0 < area[0]:
                break  # no room: leave it where it is
            box = Box(box.x0, y0, box.x1, y0 + box.height)
        taken.append(box)
        out.append(replace(obj, label_box=box) if box != obj.label_box else obj)
    return tuple(out)


def _free_spot(box: Box, taken: Sequence[Box], area: tuple[int, int]) -> Box | None:
    """``box``, or the nearest box of its size straight above or below it that overlaps
    none of ``taken`` (between the banner and the caption when it fits there, else
    anywhere in the frame), or ``None`` when there is none."""
    if not any(_overlap(box, t) for t in taken):
        return box
    top, bottom = area
    if bottom - top < box.height:
        top, bottom = 0, max(box.y1, bottom)
    gap = max(1, box.height // 8)
    # candidates: just below or above each taken box, nearest first
    spots = sorted(
        {y for t in taken for y in (t.y1 + gap, t.y0 - gap - box.height)},
        key=lambda y: abs(y - box.y0),
    )
    for y0 in spots:
        if top <= y0 and y0 + box.height <= bottom:
            moved = Box(box.x0, y0, box.x1, y0 + box.height)
            if not any(_overlap(moved, t) for t in taken):
                return moved
    return None


def _overlap(a: Box, b: Box) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1


def _cluster(box: Box, kind: ShapeKind, count: int, rng: random.Random) -> tuple[Box, ...]:
    """Boxes of a cluster's copies: a jittered grid inside the object's box."""
    shown = min(count, MAX_CLUSTER)
    columns = math.ceil(math.sqrt(shown * box.width / max(1, box.height)))
    columns = max(1, min(shown, columns))
    rows = math.ceil(shown / columns)
    cell_w, cell_h = box.width / columns, box.height / rows
    side = min(cell_w, cell_h) * 0.78
    w = side * (1.35 if kind == "band" else 1.0)
    w = min(w, cell_w * 0.95)
    boxes = []
    for n in range(shown):
        r, c = divmod(n, columns)
        cx = box.x0 + (c + 0.5) * cell_w + rng.uniform(-0.1, 0.1) * cell_w
        cy = box.y0 + (r + 0.5) * cell_h + rng.uniform(-0.1, 0.1) * cell_h
        x0 = min(max(cx - w / 2, box.x0), box.x1 - w)
        y0 = min(max(cy - side / 2, box.y0), box.y1 - side)
        boxes.append(Box(round(x0), round(y0), round(x0 + w), round(y0 + side)))
    return tuple(boxes)


def _fit_label(
    label: str, face: Font, size: int, box: Box, width: int, area: tuple[int, int]
) -> tuple[str, Box]:
    """The label, shortened to fit the image, and the pill behind it: centred on the shape,
    or under it (over it at the bottom) when the shape is too small to hold it; always
    between the banner and the caption when there is room."""
    pad = max(2, size // 3)
    label = _ellipsize(label, face, width - 2 * pad)
    w = round(face.getlength(label)) + 2 * pad
    h = round(size * 1.2) + pad
    top, bottom = area
    if bottom - top < h:
        top, bottom = 0, max(h, bottom)
    cx, cy = box.center
    if box.height < h * 2.2 or box.width < w:
        cy = box.y1 + h / 2 + pad  # below the shape
        if cy + h / 2 > bottom:
            cy = box.y0 - h / 2 - pad  # above it
    x0 = max(0, round(min(max(cx - w / 2, 0), width - w)))
    y0 = max(0, round(min(max(cy - h / 2, top), bottom - h)))
    return label, Box(x0, y0, x0 + w, y0 + h)


def _place_texts(
    data: Mapping[str, Any],
    background: tuple[RGB, RGB],
    width: int,
    height: int,
    area: tuple[int, int],
) -> tuple[PlacedText, ...]:
    raw = data.get("text_render")
    items = raw[:MAX_TEXTS] if isinstance(raw, list) else []
    short = min(width, height)
    margin = max(2, round(short * 0.04))
    placed: list[PlacedText] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, Mapping):
            continue
        words = printable(_text(item.get("text"))).strip()
        if not words:
            continue
        location = _text(item.get("location"))
        row, column = _grid(location)
        align = _ALIGN[column]
        max_width = (width - 2 * margin) * (0.92 if column == 1 else 0.62)
        letter = _lookup(_text(item.get("size")), TEXT_SIZES, DEFAULT_TEXT_SIZE)
        font_size = max(7, round(letter * short))
        while True:
            lines, fits = _wrap(words, font(font_size), max_width, 3)
            if fits or font_size <= 8:
                break
            font_size = max(8, round(font_size * 0.85))
        if not any(lines):
            continue
        face = font(font_size)
        line_h = round(font_size * 1.18)
        text_w = min(round(max(face.getlength(line) for line in lines)), width - 2)
        text_h = min(line_h * len(lines), height - 2)
        if column == 0:
            x0 = margin
        elif column == 2:
            x0 = width - margin - text_w
        else:
            x0 = round((width - text_w) / 2)
        cy = height * (row + 0.5) / 3
        top, bottom = area[0] + margin // 2, area[1] - margin // 2
        if bottom - top < text_h:
            top, bottom = 0, height
        y0 = round(min(max(cy - text_h / 2, top), bottom - text_h))
        x0 = max(0, min(x0, width - text_w))
        y0 = max(0, min(y0, height - text_h))
        free = _free_spot(Box(x0, y0, x0 + text_w, y0 + text_h), [t.box for t in placed], area)
        if free is None:
            continue  # no room left that overlaps no other text: not drawn
        x0, y0 = free.x0, free.y0
        colours = colour_words(_text(item.get("color")))
        colour = colours[0] if colours else (WHITE if luma(background[0]) < 140 else BLACK)
        font_words = _text(item.get("font")).lower()
        details = _text(item.get("appearance_details")).lower()
        placed.append(
            PlacedText(
                index=index,
                text=words,
                lines=tuple(lines),
                box=Box(x0, y0, x0 + text_w, y0 + text_h),
                color=colour,
                font_size=font_size,
                line_height=line_h,
                align=align,
                cell=(row, column),
                bold=bool(re.search(r"bold|heavy|black|thick|extra", font_words)),
                shadow="shadow" in details,
            )
        )
    return tuple(placed)
