"""Labels of ``objects[]`` and ``text_render[]`` items, in FIBO's own words.

FIBO list items carry no ids. A label names an item by what it is: ``objects[zebra]`` takes
the head noun of the description's first phrase, ``text_render[summer-sale]`` the first words
of the text; repeated labels are numbered (``glass#1``, ``glass#2``). ``fibo diff`` prints
them, and paths accept them (``objects[zebra].pose``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = ["item_label", "unique_labels"]

_WORD: Final = re.compile(r"[a-z0-9]+")

# Label extraction: the first phrase of a description ends at punctuation or at a word that
# starts a qualifier ("A zebra with stripes", "A woman wearing a coat", "The dog is ...").
_PHRASE_END: Final = frozenset(
    "with without in on at that which who whose wearing holding standing sitting lying "
    "is are was were has have having from by for under over near beside behind against "
    "and or while where set placed resting featuring showing made covered".split()
)
# "A bunch of balloons": the collective word is not the thing; the noun after "of" is.
_COLLECTIVE: Final = frozenset(
    "bunch group cluster pair set stack pile sprig handful bouquet collection row couple "
    "herd flock swarm variety assortment number series piece slice bowl".split()
)
_DETERMINERS: Final = frozenset(
    "a an the this that these those some one two three four five six several many few "
    "its his her their our your my".split()
)
_ADJECTIVES: Final = frozenset(
    "red orange yellow green blue purple pink brown black white gray grey golden silver "
    "dark light bright pale deep tall short small large big tiny huge giant long wide thin "
    "thick round square old young new soft smooth shiny glossy matte warm cool".split()
)
_ADJECTIVE_ENDINGS: Final = ("ly", "ful", "ous", "ive", "al", "ic", "ish", "less", "able", "y")
_LABEL_WORD: Final = re.compile(r"[A-Za-z0-9][A-Za-z0-9'\u2019-]*|[,.;:!?()\"]")
_FALLBACK: Final = {"objects": "object", "text_render": "text"}


def item_label(list_key: str, item: Any) -> str:
    """A short label for a list item: ``zebra`` for an object, ``summer-sale`` for text.

    Example:
        >>> item_label("objects", {"description": "A full-grown zebra with stripes."})
        'zebra'
        >>> item_label("text_render", {"text": "SUMMER SALE"})
        'summer-sale'
    """
    fallback = _FALLBACK.get(list_key, "item")
    if not isinstance(item, Mapping):
        return fallback
    if list_key == "text_render":
        words = _WORD.findall(str(item.get("text") or "").lower())[:3]
        label = "-".join(words)[:24].strip("-")
    else:
        label = _head_noun(str(item.get("description") or ""))
    # a label of digits would read as a list index
    if not label or not re.search(r"[a-z]", label):
        return fallback
    return label


def _head_noun(description: str) -> str:
    """The last word of the description's first noun phrase ("A tall, red hat, ..." -> hat)."""
    words: list[str] = []
    for match in _LABEL_WORD.finditer(description):
        token = match.group().lower()
        has_noun = any(word not in _DETERMINERS for word in words)
        if not token[0].isalnum():
            # "A friendly, cartoon-style bear": a comma after an adjective continues the phrase
            if token == "," and (not has_noun or _adjective(words[-1])):
                continue
            if has_noun:
                break
            continue
        if token == "of" and has_noun:
            if words[-1] in _COLLECTIVE:
                words = []
                continue
            break
        if has_noun and (token in _PHRASE_END or _participle(token)):
            break
        words.append(token)
    words = [word for word in words if word not in _DETERMINERS]
    if not words:
        return ""
    head = words[-1]
    for suffix in ("'s", "\u2019s"):
        head = head.removesuffix(suffix)
    return head.strip("'\u2019-")


def _adjective(word: str) -> bool:
    return word in _ADJECTIVES or (len(word) > 4 and word.endswith(_ADJECTIVE_ENDINGS))


def _participle(word: str) -> bool:
    # "a bowl spinning on a wheel", "a zebra captured mid-air"; "red-capped" stays
    return "-" not in word and len(word) > 5 and word.endswith(("ing", "ed"))


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Make labels unique: repeated ones become ``glass#1``, ``glass#2`` in order."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    seen: dict[str, int] = {}
    out: list[str] = []
    for label in labels:
        if counts[label] == 1:
            out.append(label)
            continue
        seen[label] = seen.get(label, 0) + 1
        out.append(f"{label}#{seen[label]}")
    return out
