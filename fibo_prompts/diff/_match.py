"""Identity of ``objects[]`` and ``text_render[]`` items: labels and matching.

FIBO list items carry no ids, and a refinement may reorder, add, drop or rewrite them. Items
are therefore matched by *identity*, not position:

1. Equal items pair first (same index preferred), so a pure reorder is all moves.
2. The rest are scored by similarity: every non-empty field counts, the identifying ones
   (``description`` or ``text``, and ``location``) more than the others; a string field
   that differs scores its word overlap (Jaccard over content words). Pairs scoring at least
   :data:`MATCH_THRESHOLD` are taken greedily, best first, ties to the nearest index.

A refine that turns the zebra into an elephant keeps its location, pose, expression and
orientation, so the pair scores well above the threshold and reports field changes; an object
replaced by an unrelated one shares little beyond perhaps its location and is reported as a
replacement (or a removal and an addition).

Labels name items in FIBO's own words: ``objects[zebra]`` takes the head noun of the
description's first phrase; ``text_render[summer-sale]`` the first words of the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "MATCH_THRESHOLD",
    "item_label",
    "longest_increasing",
    "match_items",
    "unique_labels",
]

#: Minimum similarity for two list items to count as the same item.
MATCH_THRESHOLD: Final = 0.5

_WEIGHTS: Final[dict[str, dict[str, float]]] = {
    "objects": {"description": 3.0, "location": 2.0},
    "text_render": {"text": 3.0, "location": 2.0},
}
_WORD: Final = re.compile(r"[a-z0-9]+")
_STOPWORDS: Final = frozenset(
    "a an the and or of with in on at to for from by its it is are as this that which "
    "their his her some into over under".split()
)

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


# --------------------------------------------------------------------------- matching


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str | list | dict) and not value)


def _profile(item: Any) -> dict[str, tuple[str, frozenset[str]]]:
    """Each non-empty field as (normalized text, content words)."""
    if not isinstance(item, Mapping):
        return {"": (repr(item), frozenset())}
    out: dict[str, tuple[str, frozenset[str]]] = {}
    for key, value in item.items():
        if _is_blank(value):
            continue
        if isinstance(value, str):
            text = value.lower()
            out[key] = (text, frozenset(_WORD.findall(text)) - _STOPWORDS)
        else:
            out[key] = (repr(value), frozenset())
    return out


def similarity(
    a: Mapping[str, tuple[str, frozenset[str]]],
    b: Mapping[str, tuple[str, frozenset[str]]],
    weights: Mapping[str, float],
) -> float:
    """Weighted share of fields two item profiles agree on (1.0 = same content)."""
    total = 0.0
    score = 0.0
    for key in a.keys() | b.keys():
        weight = weights.get(key, 1.0)
        total += weight
        left = a.get(key)
        right = b.get(key)
        if left is None or right is None:
            continue
        if left[0] == right[0]:
            score += weight
            continue
        words_a, words_b = left[1], right[1]
        if words_a and words_b:
            score += weight * len(words_a & words_b) / len(words_a | words_b)
    return score / total if total else 1.0


def match_items(list_key: str, a: Sequence[Any], b: Sequence[Any]) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``: ``a[i]`` and ``b[j]`` are the same item. Sorted by ``i``."""
    pairs: list[tuple[int, int]] = []
    used_a = [False] * len(a)
    used_b = [False] * len(b)
    # Equal items first: same index, then the first free equal one (so a swap is moves only).
    for i in range(min(len(a), len(b))):
        if a[i] == b[i]:
            pairs.append((i, i))
            used_a[i] = used_b[i] = True
    for i, item in enumerate(a):
        if used_a[i]:
            continue
        for j, other in enumerate(b):
            if not used_b[j] and item == other:
                pairs.append((i, j))
                used_a[i] = used_b[j] = True
                break
    rest_a = [i for i in range(len(a)) if not used_a[i]]
    rest_b = [j for j in range(len(b)) if not used_b[j]]
    if rest_a and rest_b:
        weights = _WEIGHTS.get(list_key, {})
        profiles_b = {j: _profile(b[j]) for j in rest_b}
        scored: list[tuple[float, int, int, int]] = []
        for i in rest_a:
            profile_a = _profile(a[i])
            for j in rest_b:
                score = similarity(profile_a, profiles_b[j], weights)
                if score >= MATCH_THRESHOLD:
                    scored.append((-score, abs(i - j), i, j))
        scored.sort()
        for _, _, i, j in scored:
            if not used_a[i] and not used_b[j]:
                pairs.append((i, j))
                used_a[i] = used_b[j] = True
    pairs.sort()
    return pairs


def longest_increasing(values: Sequence[int]) -> set[int]:
    """Positions of one longest strictly increasing subsequence of ``values``.

    Items on it keep their relative order; the others are the ones that moved.
    """
    if not values:
        return set()
    tails: list[int] = []  # position in values of the smallest tail of each length
    parent: list[int] = [-1] * len(values)
    for position, value in enumerate(values):
        low, high = 0, len(tails)
        while low < high:
            middle = (low + high) // 2
            if values[tails[middle]] < value:
                low = middle + 1
            else:
                high = middle
        if low > 0:
            parent[position] = tails[low - 1]
        if low == len(tails):
            tails.append(position)
        else:
            tails[low] = position
    keep: set[int] = set()
    position = tails[-1]
    while position != -1:
        keep.add(position)
        position = parent[position]
    return keep
