"""The bundled font, text made printable in it, and wrapping or shortening text to a width."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache
from typing import Final

from PIL import ImageFont

__all__ = ["Font", "ellipsize", "font", "printable", "wrap"]

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont

_fonts = threading.local()


def font(size: int) -> Font:
    """Pillow's bundled default font at ``size`` pixels, cached per thread.

    The bundled font (Aileron, drawn with FreeType) gives the same pixels on every machine
    with the same Pillow version. FreeType faces are not thread-safe, hence one per thread.
    """
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


def wrap(text: str, face: Font, width: float, max_lines: int) -> tuple[list[str], bool]:
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
    return [ellipsize(line, face, width) for line in lines], fits


def ellipsize(line: str, face: Font, width: float) -> str:
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
