"""Writing patch results into a prompt's wire string, changing only the changed tokens.

Every way of changing a prompt in this package (apply, revert, carry) first computes the
target as plain data and checks it; then :func:`write_target` diffs the prompt against the
target and replays that diff's JSON Patch on the prompt's lossless syntax tree
(``fibo_prompts._jsoncst``). Values are rewritten in the prompt's own style; a value
that does not change keeps its token, and a *moved* list item keeps its exact bytes (it is
unlinked and relinked, never re-serialized), so reordering objects does not re-escape them.

This module uses the prompt package's private syntax-tree helpers, the same ones
``StructuredPrompt.set`` and ``delete`` are built on, because those two cannot insert a list
item in the middle or move one without re-rendering it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from fibo_prompts import _jsoncst
from fibo_prompts._jsoncst import Arr, Node, Obj, Scalar, WireStyle
from fibo_prompts.errors import PatchError
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.prompt._edit import insert_position
from fibo_prompts.prompt._validate import key_order_for
from fibo_prompts.prompt.paths import PathPart

__all__ = ["write_ops", "write_target"]

# room for a patched prompt to grow past the default read limit without being refused
_MIN_LIMIT = 1_000_000


def write_target(prompt: StructuredPrompt, target: Mapping[str, Any]) -> StructuredPrompt:
    """A new prompt whose data is ``target``, keeping every unchanged token of ``prompt``.

    Raises:
        PromptValidationError: ``target`` is not a valid prompt (e.g. a required field
            was removed).
    """
    from fibo_prompts.diff.engine import diff
    from fibo_prompts.diff.patch import json_patch

    changes = diff(prompt, target)
    if not changes:
        return prompt
    result = write_ops(prompt, json_patch(changes))
    if json.loads(result.wire) != target:  # pragma: no cover - a bug, never user input
        raise PatchError("internal error: the patched wire string does not match the target")
    return result


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
    from fibo_prompts.diff._jsonpatch import parse_pointer

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


def _same_scalar(raw: str, value: Any) -> bool:
    # keep the original token (and its escaping) when the value does not change
    if isinstance(value, dict | list):
        return False
    old = json.loads(raw)
    return type(old) is type(value) and old == value


def _write_value(
    root: Node, parts: tuple[PathPart, ...], value: Any, style: WireStyle, *, insert: bool
) -> Node:
    """Write ``value`` at ``parts``: ``insert`` (JSON Patch ``add``) inserts into an array."""
    depth = len(parts)

    def edit(parent: Node, done: tuple[PathPart, ...], last: PathPart) -> Node:
        if insert and isinstance(parent, Arr) and isinstance(last, int):
            return _jsoncst.insert_item(
                parent, last, _render(value, style, depth), style, depth - 1
            )
        existing = _jsoncst.child(parent, last)
        if existing is not None:
            if isinstance(existing, Scalar) and _same_scalar(existing.raw, value):
                return parent
            return _jsoncst.replace_child(parent, last, _render(value, style, depth))
        assert isinstance(parent, Obj) and isinstance(last, str)
        index = insert_position(parent, last, key_order_for(done))
        return _jsoncst.insert_member(
            parent, index, last, _render(value, style, depth), style, depth - 1
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


def _render(value: Any, style: WireStyle, depth: int) -> Node:
    return _jsoncst.parse_value(_jsoncst.render_value(value, style, depth))
