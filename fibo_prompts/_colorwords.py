"""Colour words: the CSS named colours, and the one reader of a colour name in prose.

The names are the CSS Color Module's, taken from coloraide (a maintained colour library)
rather than a hand-made table. A name may be written over up to three words joined by a space
or a hyphen: "light blue", "dark slate gray", "light-blue" and "lightblue" all read as CSS
``lightblue``. The brand lint (prose measured against a palette) and the layout preview (the
colours it paints) both read names with :func:`css_name_at`, each over its own word tokens
and its own vocabulary (the lint leaves out names that are mostly materials, the preview
keeps every one).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Container, Iterable, Sequence
from functools import lru_cache
from types import ModuleType
from typing import Final

__all__ = ["MAX_NAME_WORDS", "RGB", "coloraide", "css_colours", "css_name_at", "vocabulary"]

RGB = tuple[int, int, int]

#: The most words a colour name spans ("dark slate gray").
MAX_NAME_WORDS: Final = 3


_IMPORT_LOCK: Final = threading.Lock()


@lru_cache(maxsize=1)
def coloraide() -> ModuleType:
    """The coloraide package, imported on first use, once for the whole process.

    It takes some 60 ms to import, so only text that may name a colour pays for it. Its
    modules import each other in a circle (``coloraide.css.serialize`` and
    ``coloraide.css.color_names``), and two threads importing it at once (the emulator
    renders previews on many) can each see the other's half-made module (``ImportError:
    cannot import name 'to_name' from partially initialized module``): one lock lets one
    thread import it whole first, and later calls (the lint's per-colour hot path) take
    neither the lock nor the import machinery.
    """
    with _IMPORT_LOCK:
        import coloraide
        import coloraide.css.color_names

        return coloraide


@lru_cache(maxsize=1)
def css_colours() -> dict[str, RGB]:
    """Every CSS named colour (lower case, no spaces) and its sRGB value; ``transparent``
    is not a colour one paints or names."""
    color_names = coloraide().css.color_names
    return {
        name: (round(value[0]), round(value[1]), round(value[2]))
        for name, value in color_names.name2val_map.items()
        if name != "transparent"
    }


@lru_cache(maxsize=4)
def vocabulary(
    left_out: frozenset[str] = frozenset(),
) -> tuple[frozenset[str], frozenset[str]]:
    """The CSS names less ``left_out``, and every leading part of one (so a word can be
    known to start a colour name without trying each)."""
    names = frozenset(css_colours()) - left_out
    return names, _prefixes(names)


def _prefixes(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name[:i] for name in names for i in range(1, len(name) + 1))


def css_name_at(
    words: Sequence[str],
    index: int,
    joined: Callable[[int], bool],
    names: Container[str],
    prefixes: Container[str],
) -> tuple[str, int]:
    """The longest colour name that starts at ``words[index]``, and how many words it takes;
    ``("", 0)`` when none does.

    ``words`` are lower-case word tokens; ``joined(i)`` says whether word ``i`` follows word
    ``i - 1`` with only a space or a hyphen between them. ``names`` and ``prefixes`` come
    from :func:`vocabulary`.

    Example:
        >>> names, prefixes = vocabulary()
        >>> css_name_at(["a", "dark", "slate", "gray", "mug"], 1, lambda i: True, names, prefixes)
        ('darkslategray', 3)
    """
    name, best, size = "", "", 0
    for extra in range(MAX_NAME_WORDS):
        if extra and (index + extra >= len(words) or not joined(index + extra)):
            break
        name += words[index + extra]
        if name in names:
            best, size = name, extra + 1
        elif name not in prefixes:
            break
    return best, size
