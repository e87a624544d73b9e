"""``diff(a, b)``: a purpose-built walk over two prompts' plain data.

The walk knows FIBO's structure: ``objects`` and ``text_render`` items are matched by identity
(:mod:`fibo_prompts.diff._match`), everything else by key. It compares whole subtrees with
``==`` first (C speed), so a diff costs little more than the fields that changed; generic
diff libraries walk every node and match list items by position, which turns a swap of two
objects into a pile of field changes. Unknown keys (lenient prompts) are walked the same way:
dicts by key, lists position by position when their lengths agree, otherwise as one value.

Numbers compare by value (``1 == 1.0``), as JSON Patch's ``test`` does, and ``true`` never
equals ``1``. (The fast path compares whole containers with Python's ``==``, which cannot
tell a nested ``true`` from ``1``; FIBO's own fields hold no booleans, so only unknown keys of
lenient prompts could meet this.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fibo_prompts.diff._match import longest_increasing, match_items
from fibo_prompts.diff.model import Change, ChangeKind, DiffOptions, ListPlan, PromptDiff
from fibo_prompts.errors import PromptError
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.prompt.labels import item_label, unique_labels
from fibo_prompts.prompt.paths import PathPart

__all__ = ["diff", "prompt_data"]

_IDENTITY_LISTS: Final = frozenset({"objects", "text_render"})
_SCORES: Final = frozenset({"preference_score", "aesthetic_score"})
_MISSING: Final[Any] = object()

PromptLike = StructuredPrompt | Mapping[str, Any]


def prompt_data(prompt: PromptLike) -> dict[str, Any]:
    """Plain JSON data of a prompt (wire order, nulls kept) or a copy of a mapping's data.

    Raises:
        PromptError: a mapping that is not JSON data.
    """
    if isinstance(prompt, StructuredPrompt):
        # json.loads of the wire is the prompt's exact data (to_dict would copy it twice)
        data: dict[str, Any] = json.loads(prompt.wire)
        return data
    if isinstance(prompt, Mapping):
        try:
            copied = json.loads(json.dumps(dict(prompt), allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise PromptError(f"cannot diff a mapping that is not JSON data: {exc}") from None
        return dict(copied)
    raise PromptError(f"cannot diff a {type(prompt).__name__}; pass a StructuredPrompt or a dict")


def diff(
    a: PromptLike,
    b: PromptLike,
    *,
    ignore_nulls: bool = False,
    ignore_scores: bool = False,
    ignore_case: bool = False,
    ignore_whitespace: bool = False,
) -> PromptDiff:
    """What changed from prompt ``a`` to prompt ``b``, in FIBO's vocabulary.

    Args:
        a: the old prompt (a :class:`StructuredPrompt`, or plain data as a dict).
        b: the new prompt.
        ignore_nulls: treat ``null``, ``""``, ``[]``, ``{}`` and absent keys alike.
        ignore_scores: skip the two quality labels in ``aesthetics``.
        ignore_case: ignore changes of letter case only.
        ignore_whitespace: ignore changes of whitespace only.

    Returns:
        A :class:`PromptDiff`; empty (falsy) when nothing changed under the options.

    Example:
        >>> from fibo_prompts import StructuredPrompt
        >>> a = StructuredPrompt.load("examples/product_shot.json")
        >>> b = a.set("lighting.conditions", "golden hour")
        >>> [(c.path, c.old, c.new) for c in diff(a, b)]
        [('lighting.conditions', 'soft studio lighting', 'golden hour')]
    """
    options = DiffOptions(
        ignore_nulls=ignore_nulls,
        ignore_scores=ignore_scores,
        ignore_case=ignore_case,
        ignore_whitespace=ignore_whitespace,
    )
    before = prompt_data(a)
    after = prompt_data(b)
    walker = Walker(options)
    walker.top(before, after)
    return PromptDiff(
        changes=tuple(walker.changes),
        options=options,
        before=before,
        after=after,
        lists=tuple(walker.plans),
        a_name=a.source_name if isinstance(a, StructuredPrompt) else None,
        b_name=b.source_name if isinstance(b, StructuredPrompt) else None,
    )


def is_blank(value: Any) -> bool:
    """Empty in the sense of Bria's cleaner (recursively): null, "", [], {}."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value
    if isinstance(value, dict):
        return all(is_blank(item) for item in value.values())
    if isinstance(value, list):
        return all(is_blank(item) for item in value)
    return False


def _same(x: Any, y: Any) -> bool:
    """The fast equality check that lets the walk skip a whole unchanged subtree."""
    # Python's True == 1 is not JSON's; bools are only ever equal to bools
    return bool(x == y) and (type(x) is bool) == (type(y) is bool)


_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")


def _display(prefix: str, part: PathPart) -> str:
    """Extend a display path by a key or index, the way ``format_path`` writes them."""
    if isinstance(part, int):
        return f"{prefix}[{part}]"
    if _IDENTIFIER.match(part):
        return f"{prefix}.{part}" if prefix else part
    return f"{prefix}[{json.dumps(part)}]"


class Walker:
    """Collects changes while walking two prompts' data side by side."""

    def __init__(self, options: DiffOptions) -> None:
        self.options = options
        self.changes: list[Change] = []
        self.plans: list[ListPlan] = []
        self.normalize = options.ignore_case or options.ignore_whitespace

    def add(
        self,
        kind: ChangeKind,
        path: str,
        group: str,
        old: Any,
        new: Any,
        a_parts: tuple[PathPart, ...] | None,
        b_parts: tuple[PathPart, ...] | None,
    ) -> None:
        """Record one change."""
        self.changes.append(Change(path, kind, old, new, group, a_parts, b_parts))

    # ------------------------------------------------------------------ equality

    def same_scalar(self, x: Any, y: Any) -> bool:
        """Whether two scalars count as equal under the options (case, whitespace)."""
        if type(x) is str and type(y) is str:
            if x == y:
                return True
            return self.normalize and self.norm(x) == self.norm(y)
        if isinstance(x, bool) or isinstance(y, bool):
            return x is y
        return bool(x == y)

    def norm(self, text: str) -> str:
        """Text as the options compare it (whitespace collapsed, case folded)."""
        if self.options.ignore_whitespace:
            text = " ".join(text.split())
        if self.options.ignore_case:
            text = text.casefold()
        return text

    # ------------------------------------------------------------------ walk

    def top(self, a: dict[str, Any], b: dict[str, Any]) -> None:
        """Walk two prompts' top-level fields."""
        for key in _union(a, b):
            va = a.get(key, _MISSING)
            vb = b.get(key, _MISSING)
            if va is not _MISSING and vb is not _MISSING and _same(va, vb):
                continue
            parts = (key,)
            display = _display("", key)
            if (
                key in _IDENTITY_LISTS
                and type(va) is list
                and type(vb) is list
                and not (self.options.ignore_nulls and (is_blank(va) or is_blank(vb)))
            ):
                self.identity_list(key, va, vb)
            else:
                self.member(va, vb, parts, parts, display, display)

    def member(
        self,
        va: Any,
        vb: Any,
        a_parts: tuple[PathPart, ...],
        b_parts: tuple[PathPart, ...],
        display: str,
        group: str,
    ) -> None:
        """Compare one member's values; either may be missing."""
        if self.options.ignore_nulls:
            if va is not _MISSING and is_blank(va):
                va = _MISSING
            if vb is not _MISSING and is_blank(vb):
                vb = _MISSING
        if va is _MISSING:
            if vb is not _MISSING:
                self.add("added", display, group, None, vb, a_parts, b_parts)
            return
        if vb is _MISSING:
            self.add("removed", display, group, va, None, a_parts, b_parts)
            return
        self.value(va, vb, a_parts, b_parts, display, group)

    def value(
        self,
        va: Any,
        vb: Any,
        a_parts: tuple[PathPart, ...],
        b_parts: tuple[PathPart, ...],
        display: str,
        group: str,
    ) -> None:
        """Compare two present values."""
        ta, tb = type(va), type(vb)
        if ta is dict and tb is dict:
            if va == vb:
                return
            skip_scores = self.options.ignore_scores and a_parts == ("aesthetics",)
            for key in _union(va, vb):
                if skip_scores and key in _SCORES:
                    continue
                xa = va.get(key, _MISSING)
                xb = vb.get(key, _MISSING)
                if xa is not _MISSING and xb is not _MISSING and _same(xa, xb):
                    continue
                self.member(xa, xb, (*a_parts, key), (*b_parts, key), _display(display, key), group)
            return
        if ta is list and tb is list:
            if va == vb:
                return
            if len(va) == len(vb):
                for index, (xa, xb) in enumerate(zip(va, vb, strict=True)):
                    self.member(
                        xa,
                        xb,
                        (*a_parts, index),
                        (*b_parts, index),
                        _display(display, index),
                        group,
                    )
                return
            self.add("changed", display, group, va, vb, a_parts, b_parts)
            return
        if ta in (dict, list) or tb in (dict, list) or not self.same_scalar(va, vb):
            self.add("changed", display, group, va, vb, a_parts, b_parts)

    # ------------------------------------------------------------------ identity lists

    def identity_list(self, key: str, a: list[Any], b: list[Any]) -> None:
        """Match items by identity; report removals, replacements, moves, field changes."""
        pairs = match_items(key, a, b)
        matched_a = {i for i, _ in pairs}
        matched_b = {j for _, j in pairs}
        removed = [i for i in range(len(a)) if i not in matched_a]
        added = [j for j in range(len(b)) if j not in matched_b]
        # an unmatched old item and an unmatched new item at the same index: a replacement
        replaced = sorted(set(removed) & set(added))
        if replaced:
            pairs = sorted([*pairs, *((i, i) for i in replaced)])
            removed = [i for i in removed if i not in replaced]
            added = [j for j in added if j not in replaced]
        b_order = [j for _, j in pairs]
        stay = longest_increasing(b_order)
        movers = frozenset(pairs[p][0] for p in range(len(pairs)) if p not in stay)
        a_labels, b_labels = self.labels(key, a, b, added)
        self.plans.append(
            ListPlan(
                key=key,
                pairs=tuple(pairs),
                removed=tuple(removed),
                added=tuple(added),
                movers=movers,
                replaced=frozenset(replaced),
                a_labels=tuple(a_labels),
                b_labels=b_labels,
            )
        )
        replaced_set = set(replaced)
        b_of = dict(pairs)
        for i, item in enumerate(a):
            label = f"{key}[{a_labels[i]}]"
            j = b_of.get(i)
            if j is None:
                self.add("removed", label, label, item, None, (key, i), None)
                continue
            if i in movers:
                self.add("moved", label, label, i, j, (key, i), (key, j))
            if i in replaced_set:
                if not self.equal_item(item, b[j]):
                    self.add("changed", label, label, item, b[j], (key, i), (key, j))
                continue
            if item != b[j]:
                self.member(item, b[j], (key, i), (key, j), label, label)
        for j in added:
            label = f"{key}[{b_labels[j]}]"
            self.add("added", label, label, None, b[j], None, (key, j))

    def equal_item(self, x: Any, y: Any) -> bool:
        """Whether two items are equal under the options (no change reported)."""
        if x == y:
            return True
        probe = Walker(self.options)
        probe.member(x, y, (), (), "", "")
        return not probe.changes

    def labels(
        self, key: str, a: Sequence[Any], b: Sequence[Any], added: Sequence[int]
    ) -> tuple[list[str], dict[int, str]]:
        """Unique labels for the old items and the added new ones."""
        raw = [item_label(key, item) for item in a]
        raw.extend(item_label(key, b[j]) for j in added)
        unique = unique_labels(raw)
        return unique[: len(a)], dict(zip(added, unique[len(a) :], strict=True))


def _union(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """Keys of ``a`` in order, then those only ``b`` has."""
    if a.keys() == b.keys():
        return list(a)
    return [*a, *(key for key in b if key not in a)]
