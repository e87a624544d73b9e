"""How the light is drawn: its direction, warmth, darkness and contrast, the mood's colour
grade and the shadows, read from ``lighting`` and ``aesthetics.mood_atmosphere``."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from fibo_prompts.preview._colours import BLACK, RGB, WHITE, mix
from fibo_prompts.preview._fields import RIGHT, read_field
from fibo_prompts.preview._fonts import printable

__all__ = ["LIGHT_DIRECTIONS", "LIGHT_SOURCES", "MOODS", "LightPlan", "plan_lighting"]

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

_FAINT_SHADOW: Final = re.compile(r"minimal|\bno\b|none|faint|subtle|barely|little|absent")
_HARD_SHADOW: Final = re.compile(r"harsh|hard|sharp|strong|deep|dramatic|dark|defined|crisp")
_LONG_SHADOW: Final = re.compile(r"\blong")
_SHORT_SHADOW: Final = re.compile(r"\bshort|small|contact")


@dataclass(frozen=True, slots=True)
class LightPlan:
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


def plan_lighting(data: Mapping[str, Any], width: int, height: int) -> LightPlan:
    direction_text = read_field(data, "lighting", "direction")
    conditions = read_field(data, "lighting", "conditions").lower()
    shadows = read_field(data, "lighting", "shadows").lower()
    lowered = direction_text.lower()
    name, source = "diffuse", (0.0, 0.0)
    earliest = len(lowered) + 1
    for pattern, found, where in LIGHT_DIRECTIONS:
        match = re.search(pattern, lowered)
        # the direction named first wins: "from the right, fill from the left" is right
        if match and match.start() < earliest:
            earliest, name, source = match.start(), found, where
    if name == "back":  # "backlit from the right": the glow sits on that side, not mid-frame
        side = -0.75 if re.search(r"\bleft", lowered) else 0.75 if RIGHT.search(lowered) else 0.0
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
    mood = read_field(data, "aesthetics", "mood_atmosphere").lower()
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
    return LightPlan(
        direction=name,
        source=source,
        falloff=falloff,
        tint=tint,
        shadow_offset=offset,
        shadow_alpha=alpha,
        glyph=glyph,
        text=printable(direction_text.strip())[:80],
    )
