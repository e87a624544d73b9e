"""Colours named in free text: CSS names, the words prompts use that CSS lacks, modifiers
("pale", "deep"), scheme words ("earth tones"), and the arithmetic the preview mixes them with.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

from fibo_prompts._colorwords import css_colours, css_name_at, vocabulary

__all__ = [
    "BASIC_COLOURS",
    "BLACK",
    "EXTRA_COLOURS",
    "MODIFIERS",
    "NEUTRAL",
    "PALETTE_WORDS",
    "RGB",
    "WHITE",
    "colour_words",
    "distinct",
    "listed_colours",
    "luma",
    "mix",
    "scheme_colours",
]

RGB = tuple[int, int, int]


WHITE: Final[RGB] = (255, 255, 255)
BLACK: Final[RGB] = (0, 0, 0)
NEUTRAL: Final[RGB] = (222, 220, 214)

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
    return BASIC_COLOURS.get(word) or css_colours().get(word) or EXTRA_COLOURS.get(word)


def _single(word: str) -> RGB | None:
    """The colour of one word ("blue", "teal", "copper"), or ``None``."""
    return BASIC_COLOURS.get(word) or css_colours().get(word) or EXTRA_COLOURS.get(word)


def distinct(colours: Iterable[RGB]) -> tuple[RGB, ...]:
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
    words = [token[0] for token in tokens]
    # every CSS name counts here, "linen" and "snow" included: a linen napkin is linen-coloured
    css, prefixes = css_colours(), vocabulary()[1]
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
            best, length = css_name_at(words, index, joined_to, css, prefixes)
            if best:
                size = length
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
    colours = distinct(f.color for f in found)
    if len(colours) == 1 and any(word in _MONOCHROME for word in weak):
        base = colours[0]
        return (mix(base, BLACK, 0.45), base, mix(base, WHITE, 0.55))
    if colours:
        return colours[:6]
    for word in weak:
        if word in _WEAK_PALETTE:
            return _WEAK_PALETTE[word]
    return ()
