"""Reading a prompt's fields leniently: values as text, locations as grid cells and depths,
size phrases through keyword tables. Nothing here raises on an odd value."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    from fibo_prompts.prompt.models import StructuredPrompt

__all__ = [
    "DEFAULT_SIZE",
    "DEFAULT_TEXT_SIZE",
    "LEFT",
    "RIGHT",
    "SIZES",
    "TEXT_SIZES",
    "Depth",
    "as_text",
    "depth_of",
    "grid_cell",
    "lookup",
    "prompt_data",
    "read_field",
]

Depth = Literal["background", "midground", "foreground"]


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

_FOREGROUND: Final = re.compile(r"\b(?:foreground|front|near|nearest|close|closest)\b")
_BACKGROUND: Final = re.compile(r"\b(?:background|behind|distant|distance|far|horizon|back)\b")
LEFT: Final = re.compile(r"\bleft")
RIGHT: Final = re.compile(r"\bright")
_TOP: Final = re.compile(r"\b(?:top|upper|above|sky|ceiling|overhead)")
_BOTTOM: Final = re.compile(r"\b(?:bottom|lower|below|beneath|floor|ground)")


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


def as_text(value: Any, limit: int = 2000) -> str:
    """A field as text: strings as they are, numbers written out, anything else empty."""
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, int | float):
        return str(value)
    return ""


def read_field(data: Mapping[str, Any], *keys: str) -> str:
    value: Any = data
    for key in keys:
        if not isinstance(value, Mapping):
            return ""
        value = value.get(key)
    return as_text(value)


def grid_cell(location: str) -> tuple[int, int]:
    """(row, column) of a location phrase; the first of left/right and top/bottom named."""
    text = location.lower()
    left, right = LEFT.search(text), RIGHT.search(text)
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


def depth_of(location: str) -> Depth:
    text = location.lower()
    front, back = _FOREGROUND.search(text), _BACKGROUND.search(text)
    if front and (not back or front.start() < back.start()):
        return "foreground"
    if back:
        return "background"
    return "midground"


def lookup(text: str, table: Sequence[tuple[str, float]], default: float) -> float:
    lowered = text.lower()
    percent = re.search(r"(\d{1,3}(?:\.\d+)?)\s*%", lowered)
    if percent and table is SIZES:
        return min(0.95, max(0.08, math.sqrt(float(percent.group(1)) / 100)))
    for pattern, value in table:
        if re.search(pattern, lowered):
            return value
    return default
