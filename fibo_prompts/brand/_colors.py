"""Colour words and hex codes in prose, measured against a brand palette.

Colour names are the CSS Color Module's named colours, read by the package's one colour-name
reader (:mod:`fibo_prompts._colorwords`); distances are CIEDE2000 (coloraide's
``delta_e(method="2000")``), which follows perceived difference far better than RGB distance.

How text is read:

- Palette colour names ("oat cream", "tomato red") are found first and count as on-palette
  by definition; their words are not re-read ("red" in "tomato red" is not a second colour).
- Then words are joined into CSS names, longest first and up to three at a time, so "light
  blue", "dark slate gray" and "lightblue" all read as the CSS colour. A colour word inside a
  longer word ("reddish") does not count: matches are whole words.
- ``#RRGGBB`` and ``#RGB`` codes are read as colours.
- A few CSS names are mostly materials or places in prompts ("linen", "snow", "peru") and are
  not read as colours; see :data:`NOT_COLOURS`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from fibo_prompts._colorwords import coloraide, css_name_at, vocabulary

if TYPE_CHECKING:
    from fibo_prompts.brand.kit import BrandKit, PaletteColor

#: CSS colour names that prompts use far more often as materials, food or places.
NOT_COLOURS: Final = frozenset({"linen", "snow", "peru", "seashell", "moccasin", "bisque"})

_WORD: Final = re.compile(r"#[0-9A-Fa-f]{6}\b|#[0-9A-Fa-f]{3}\b|[A-Za-z]+")


@dataclass(frozen=True)
class ColorMention:
    """A colour found in text: the words as written, and how close the palette comes."""

    text: str
    start: int
    end: int
    nearest: str
    nearest_hex: str
    distance: float


class PaletteMatcher:
    """Finds colour mentions in text and measures each against one kit's palette (cached)."""

    def __init__(self, kit: BrandKit) -> None:
        # coloraide takes some 60 ms to import: loading the brand package for templates
        # alone does not pay for it, linting does
        Color = coloraide().Color  # noqa: N806 - the class, as coloraide names it

        self.kit = kit
        self._colors = [(c, Color(c.hex)) for c in kit.palette]
        names = sorted((c.name for c in kit.palette), key=len, reverse=True)
        self._palette_names = re.compile(
            r"(?<![\w-])(?:" + "|".join(re.escape(n) for n in names) + r")(?![\w-])",
            re.IGNORECASE,
        )
        self._measured: dict[str, tuple[PaletteColor, float]] = {}
        # a cheap substring test before the palette-name regex (most text names no colour)
        self._palette_words = {n.lower().split()[0] for n in names}

    def measure(self, color_text: str) -> tuple[PaletteColor, float]:
        """The nearest palette colour to a CSS name or hex code, and the CIEDE2000 distance."""
        key = color_text.lower()
        found = self._measured.get(key)
        if found is None:
            color = coloraide().Color(key)
            found = min(
                ((entry, color.delta_e(value, method="2000")) for entry, value in self._colors),
                key=lambda pair: pair[1],
            )
            self._measured[key] = found
        return found

    def palette_mentions(self, text: str) -> list[tuple[int, int]]:
        """Spans of palette colour names in ``text``."""
        return [m.span() for m in self._palette_names.finditer(text)]

    def mentions(self, text: str) -> list[ColorMention]:
        """Every non-palette colour mentioned in ``text``, in order."""
        names, prefixes = vocabulary(NOT_COLOURS)
        taken = self.palette_mentions(text) if self._has_palette_word(text) else []
        words = [
            (m[0].lower(), m.start(), m.end())
            for m in _WORD.finditer(text)
            if not taken or not _inside(m.span(), taken)
        ]
        tokens = [word for word, _, _ in words]

        def joined(i: int) -> bool:  # one space or hyphen between words i - 1 and i
            return text[words[i - 1][2] : words[i][1]] in (" ", "-")

        found: list[ColorMention] = []
        index, count = 0, len(words)
        while index < count:
            word, start, end = words[index]
            if word[0] == "#":
                found.append(self._mention(text[start:end], start, end, word))
                index += 1
                continue
            if word not in prefixes:  # most words: not the start of any colour name
                index += 1
                continue
            name, match = css_name_at(tokens, index, joined, names, prefixes)
            if match:
                stop = words[index + match - 1][2]
                found.append(self._mention(text[start:stop], start, stop, name))
                index += match
            else:
                index += 1
        return found

    def _has_palette_word(self, text: str) -> bool:
        lowered = text.lower()
        return any(word in lowered for word in self._palette_words)

    def _mention(self, written: str, start: int, end: int, color: str) -> ColorMention:
        nearest, distance = self.measure(color)
        return ColorMention(written, start, end, nearest.name, nearest.hex, round(distance, 1))


def _inside(span: tuple[int, int], taken: list[tuple[int, int]]) -> bool:
    return any(start <= span[0] and span[1] <= end for start, end in taken)
