"""Identity of ``objects[]`` and ``text_render[]`` items: matching.

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

Labels (``objects[zebra]``) come from :mod:`fibo_prompts.prompt.labels`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

__all__ = [
    "MATCH_THRESHOLD",
    "longest_increasing",
    "match_items",
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
