"""From a rendered skeleton to prompt data: YAML parse (cached), slot filling, locations.

See :mod:`fibo_prompts.brand._sandbox` for what skeletons and slots are. The skeleton holds
only template text and slot markers, so its YAML parse is cached by text: two renders that
take the same branches and loops share one parse, whatever their values.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

import yaml

from fibo_prompts._yaml import strict_loader, yaml_kind
from fibo_prompts.brand._sandbox import SLOT, SLOT_OPEN, expand

_WHOLE_SLOT: Final = re.compile("\ue000([0-9]+)\ue001")
_CACHE_SIZE: Final = 256


class SkeletonError(Exception):
    """The skeleton is not YAML the template engine accepts (internal; carries an offset)."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


class FillError(Exception):
    """A value cannot go where the template put it (internal; carries a path)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.parts: list[str | int] = []


def _loader_class() -> Any:
    base = strict_loader()  # refuses integers Python cannot print

    class StrictLoader(base):  # type: ignore[misc,valid-type]
        """Safe YAML without aliases (shared nodes) or duplicate keys."""

        def construct_object(self, node: Any, deep: bool = False) -> Any:
            if node in self.constructed_objects:
                # the anchored node is met a second time: point at its anchor
                raise SkeletonError(
                    "YAML anchors and aliases (&name, *name) are not allowed in templates",
                    node.start_mark.index,
                )
            return super().construct_object(node, deep=deep)

        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            seen: set[Any] = set()
            for key_node, _ in node.value:
                key = getattr(key_node, "value", None)
                if isinstance(key, str):
                    if key in seen:
                        raise SkeletonError(f"duplicate key {key!r}", key_node.start_mark.index)
                    seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


_loader: Any = None


def parse_skeleton(text: str, cache: dict[str, Any]) -> Any:
    """The YAML data of a skeleton (cached; callers must not mutate it)."""
    found = cache.get(text, cache)
    if found is not cache:
        return found
    global _loader
    if _loader is None:
        _loader = _loader_class()
    try:
        data = yaml.load(text, Loader=_loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise SkeletonError(f"the template renders invalid YAML: {problem}", _index(mark)) from None
    except yaml.YAMLError as exc:
        raise SkeletonError(f"the template renders invalid YAML: {exc}", 0) from None
    if len(cache) >= _CACHE_SIZE:
        cache.clear()
    cache[text] = data
    return data


def _index(mark: Any) -> int:
    return int(mark.index) if mark is not None else 0


def fill(node: Any, values: Sequence[Any]) -> Any:
    """A copy of skeleton data with slots replaced by their values.

    A string that is exactly one slot takes the value's type (so ``number_of_objects:
    {{ n }}`` gives an integer); slots inside longer strings are written as text. Keys with
    ``None`` or ``[]`` values are dropped (empty optional parts, as Bria's cleaner does).
    """
    kind = type(node)
    if kind is str:
        if SLOT_OPEN not in node:
            return node
        whole = _WHOLE_SLOT.fullmatch(node)
        if whole is not None:
            value = values[int(whole[1])]
            return expand(value, values) if isinstance(value, str) else value
        return SLOT.sub(lambda m: expand(values[int(m[1])], values), node)
    if kind is dict:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if type(key) is not str:
                error = FillError(f"a key must be text, not {yaml_kind(key)}; quote it")
                error.parts.insert(0, str(key))
                raise error
            if SLOT_OPEN in key:
                error = FillError(
                    "a variable cannot name a key: the template alone decides the structure"
                )
                error.parts.insert(0, key)
                raise error
            try:
                new = fill(value, values)
            except FillError as error:
                error.parts.insert(0, key)
                raise
            if new is None or new == []:
                continue
            out[key] = new
        return out
    if kind is list:
        items = []
        for index, item in enumerate(node):
            try:
                items.append(fill(item, values))
            except FillError as error:
                error.parts.insert(0, index)
                raise
        return items
    if node is None or kind in (int, float, bool):
        return node
    raise FillError(f"YAML read this as {yaml_kind(node)}; quote it to make it text")


def fill_key(key: str, values: Sequence[Any]) -> str:
    """An edit template's path key with slots replaced; only integers (indices) may go there."""

    def one(match: re.Match[str]) -> str:
        value = values[int(match[1])]
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
        raise FillError(
            "only a whole number (a list index) may be written into a path; "
            "the template alone decides which fields change"
        )

    return SLOT.sub(one, key)


def compose(text: str) -> Any:
    """The YAML node tree of a skeleton (for locating errors only)."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return None


def node_offset(root: Any, parts: Sequence[str | int]) -> int:
    """Offset in the skeleton of the key (or item) a path names, or of its deepest ancestor."""
    if root is None:
        return 0
    node = root
    offset = int(root.start_mark.index)
    for part in parts:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            for key_node, value_node in node.value:
                if getattr(key_node, "value", None) == part:
                    offset = int(key_node.start_mark.index)
                    node = value_node
                    break
            else:
                return offset
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not -len(node.value) <= part < len(node.value):
                return offset
            node = node.value[part]
            offset = int(node.start_mark.index)
        else:
            return offset
    return offset


def entry_offset(root: Any, index: int) -> int:
    """Offset of the ``index``-th key of a top-level mapping (an edit template's entries)."""
    if isinstance(root, yaml.MappingNode) and 0 <= index < len(root.value):
        return int(root.value[index][0].start_mark.index)
    return 0 if root is None else int(root.start_mark.index)
