"""Wire-level edits: write a change into a prompt's syntax tree, changing only its tokens.

:meth:`StructuredPrompt.set` and ``delete`` edit one path; :func:`write_ops` replays JSON Patch
operations (already checked on plain data), which can also insert a list item in the middle or
move one. Both rest on the helpers here. Values are rewritten in the prompt's own style; a
value that does not change keeps its token (:func:`same_scalar`), a new key lands where FIBO's
field order puts it (:func:`insert_position`), and a *moved* list item keeps its exact bytes
(it is unlinked and relinked, never re-serialized), so reordering objects does not re-escape
them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fibo_prompts import _jsoncst
from fibo_prompts._jsoncst import Arr, Node, Obj, Scalar, WireStyle
from fibo_prompts.errors import PatchError
from fibo_prompts.prompt._validate import key_order_for
from fibo_prompts.prompt.models import StructuredPrompt
from fibo_prompts.prompt.paths import PathPart, parse_pointer

__all__ = ["insert_position", "render_node", "same_scalar", "write_ops"]

# room for a patched prompt to grow past the default read limit without being refused
_MIN_LIMIT = 1_000_000


def same_scalar(raw: str, value: Any) -> bool:
    """Whether the scalar token ``raw`` already holds ``value`` (same JSON type and value):
    then the original token, and its escaping, is kept."""
    if isinstance(value, dict | list):
        return False
    old = json.loads(raw)
    return type(old) is type(value) and old == value


def insert_position(obj: Obj, key: str, order: tuple[str, ...]) -> int:
    """Where FIBO's field order puts ``key``: after the last sibling that precedes it."""
    if key not in order:
        return len(obj.members)
    rank = order.index(key)
    position = 0
    for index, member in enumerate(obj.members):
        other = member.key
        if other in order and order.index(other) < rank:
            position = index + 1
    return position


def write_ops(prompt: StructuredPrompt, ops: Sequence[Mapping[str, Any]]) -> StructuredPrompt:
    """Replay JSON Patch operations (already checked on plain data) on the wire string."""
    doc = prompt.syntax_tree()
    style = prompt.style
    root = doc.root
    for op in ops:
        name = op["op"]
        if name == "test":
            continue
        parts = _parts(root, op["path"])
        if name in ("add", "replace"):
            root = _write_value(root, parts, op["value"], style, insert=name == "add")
        elif name == "remove":
            root = _rebuild(root, (), parts, _delete)
        elif name == "move":
            source = _parts(root, op["from"])
            moved = _node(root, source)
            root = _rebuild(root, (), source, _delete)
            root = _insert_node(root, _parts(root, op["path"]), moved, style)
        else:  # pragma: no cover - write_target only emits test/add/replace/remove/move
            raise PatchError(f"cannot write a {name!r} operation to the wire string")
    text = _jsoncst.dump(_jsoncst.Doc(doc.lead, root, doc.trail))
    limit = max(_MIN_LIMIT, 2 * len(text.encode("utf-8")))
    return StructuredPrompt.parse(
        text, lenient=prompt.lenient, source_name=prompt.source_name, max_bytes=limit
    )


Editor = Callable[[Node, tuple[PathPart, ...], PathPart], Node]


def _parts(root: Node, pointer: str) -> tuple[PathPart, ...]:
    """Pointer tokens as keys and indices, following the tree (``-`` is the list's end)."""
    parts: list[PathPart] = []
    node: Node | None = root
    for token in parse_pointer(pointer):
        part: PathPart = token
        if isinstance(node, Arr):
            part = len(node.items) if token == "-" else int(token)
        parts.append(part)
        node = None if node is None else _jsoncst.child(node, part)
    return tuple(parts)


def _node(root: Node, parts: Sequence[PathPart]) -> Node:
    node = root
    for part in parts:
        child = _jsoncst.child(node, part)
        if child is None:  # pragma: no cover - checked on plain data first
            raise PatchError("internal error: a patched path is missing from the wire string")
        node = child
    return node


def _rebuild(
    node: Node, done: tuple[PathPart, ...], rest: tuple[PathPart, ...], edit: Editor
) -> Node:
    part = rest[0]
    if len(rest) == 1:
        return edit(node, done, part)
    child = _jsoncst.child(node, part)
    if child is None:  # pragma: no cover - checked on plain data first
        raise PatchError("internal error: a patched path is missing from the wire string")
    new_child = _rebuild(child, (*done, part), rest[1:], edit)
    if new_child is child:
        return node
    return _jsoncst.replace_child(node, part, new_child)


def _delete(parent: Node, done: tuple[PathPart, ...], last: PathPart) -> Node:
    del done  # the editor signature; deleting needs no position
    return _jsoncst.delete_child(parent, last)


def _write_value(
    root: Node, parts: tuple[PathPart, ...], value: Any, style: WireStyle, *, insert: bool
) -> Node:
    """Write ``value`` at ``parts``: ``insert`` (JSON Patch ``add``) inserts into an array."""
    depth = len(parts)

    def edit(parent: Node, done: tuple[PathPart, ...], last: PathPart) -> Node:
        if insert and isinstance(parent, Arr) and isinstance(last, int):
            return _jsoncst.insert_item(
                parent, last, render_node(value, style, depth), style, depth - 1
            )
        existing = _jsoncst.child(parent, last)
        if existing is not None:
            if isinstance(existing, Scalar) and same_scalar(existing.raw, value):
                return parent
            return _jsoncst.replace_child(parent, last, render_node(value, style, depth))
        assert isinstance(parent, Obj) and isinstance(last, str)
        index = insert_position(parent, last, key_order_for(done))
        return _jsoncst.insert_member(
            parent, index, last, render_node(value, style, depth), style, depth - 1
        )

    return _rebuild(root, (), parts, edit)


def _insert_node(root: Node, parts: tuple[PathPart, ...], node: Node, style: WireStyle) -> Node:
    depth = len(parts)

    def edit(parent: Node, done: tuple[PathPart, ...], last: PathPart) -> Node:
        if isinstance(parent, Arr) and isinstance(last, int):
            return _jsoncst.insert_item(parent, last, node, style, depth - 1)
        assert isinstance(parent, Obj) and isinstance(last, str)
        if _jsoncst.child(parent, last) is not None:
            return _jsoncst.replace_child(parent, last, node)
        index = insert_position(parent, last, key_order_for(done))
        return _jsoncst.insert_member(parent, index, last, node, style, depth - 1)

    return _rebuild(root, (), parts, edit)


def render_node(value: Any, style: WireStyle, depth: int) -> Node:
    """``value`` as a new syntax-tree node in ``style``, for a place ``depth`` levels deep."""
    return _jsoncst.parse_value(_jsoncst.render_value(value, style, depth))
