"""Path-addressed reads and style-preserving edits of a prompt's wire string.

An edit rewrites one node of the syntax tree and rebuilds the spine above it; every other
token keeps its bytes. The result is validated in the prompt's own mode (strict or lenient)
before it is returned, so an edit can never produce an invalid prompt.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from fibo_prompts import _jsoncst
from fibo_prompts._jsoncst import Arr, Node, Obj, Scalar
from fibo_prompts._jsontree import DETAILED, json_kind, problem
from fibo_prompts.errors import (
    PromptError,
    PromptParseError,
    PromptPathError,
    PromptValidationError,
)
from fibo_prompts.prompt import _parse
from fibo_prompts.prompt._jsonload import MAX_DEPTH
from fibo_prompts.prompt._validate import key_order_for
from fibo_prompts.prompt.paths import (
    ItemLabel,
    PathPart,
    format_path,
    parse_path,
    resolve_labels,
    shorten_path,
)
from fibo_prompts.prompt.wire_edit import insert_position, same_scalar

if TYPE_CHECKING:
    from fibo_prompts.prompt.models import StructuredPrompt


def get_value(prompt: StructuredPrompt, path: str) -> Any:
    """Plain JSON data at ``path``."""
    value: Any = prompt.to_dict()
    parts = resolve_labels(parse_path(path), value)
    for depth, part in enumerate(parts):
        value = _step(value, part, parts, depth)
    return value


def _step(value: Any, part: PathPart, parts: Sequence[PathPart], depth: int) -> Any:
    here = format_path(parts[:depth]) or "the prompt"
    if isinstance(value, dict):
        if isinstance(part, str) and part in value:
            return value[part]
        keys = ", ".join(value) or "nothing"
        near = difflib.get_close_matches(str(part), [str(k) for k in value], n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise PromptPathError(
            f"{here} has no key {part!r}{hint} (it has: {keys})", path=_fmt(parts)
        )
    if isinstance(value, list):
        if isinstance(part, int) and -len(value) <= part < len(value):
            return value[part]
        raise PromptPathError(
            f"{here} has {len(value)} item{'s' if len(value) != 1 else ''}; "
            f"use an index from 0 to {len(value) - 1}"
            if value
            else f"{here} is empty",
            path=_fmt(parts),
        )
    raise PromptPathError(
        f"{here} is {json_kind(value)}, so it has no {_describe(part)}", path=_fmt(parts)
    )


def _describe(part: PathPart) -> str:
    return f"item [{part}]" if isinstance(part, int) else f"key {part!r}"


def _fmt(parts: Sequence[PathPart]) -> str:
    return format_path(parts)


def _json_value(value: Any, path: str, depth: int) -> Any:
    """``value`` as plain JSON data, fit to be written ``depth`` levels down a prompt."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_unset=True)
    try:
        # round-trip to reject what JSON cannot carry (sets, NaN, objects) up front
        data = json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        unsafe = problem(value, max_depth=MAX_DEPTH, dialect=DETAILED)
        if unsafe is None:
            raise PromptError(f"{shorten_path(path)}: value is not JSON data ({exc})") from None
        reason, where = unsafe
        inside = f" at {format_path(where[:8])}{'…' if len(where) > 8 else ''}" if where else ""
        raise PromptError(
            f"{shorten_path(path)}: value is not JSON data{inside}: {reason}"
        ) from None
    if data.__class__ is not dict and data.__class__ is not list:
        return data  # a scalar: the round trip has checked all there is
    unsafe = problem(data, max_depth=MAX_DEPTH - depth, dialect=DETAILED)
    if unsafe is not None:
        raise PromptError(
            f"{shorten_path(path)}: value is {unsafe[0]}, too deep for a structured prompt"
        )
    return data


def set_value(prompt: StructuredPrompt, path: str, value: Any) -> StructuredPrompt:
    """A new prompt with ``value`` written at ``path`` (see StructuredPrompt.set)."""
    parts = _parts(prompt, path)
    data = _json_value(value, path, len(parts))
    style = prompt.style
    parts, data = _missing_prefix(prompt.syntax_tree(), parts, data)

    def edit(parent: Node, parent_parts: tuple[PathPart, ...], part: PathPart) -> Node:
        depth = len(parent_parts) + 1
        existing = _jsoncst.child(parent, part)
        if existing is not None:
            if isinstance(existing, Scalar) and same_scalar(existing.raw, data):
                return parent
            new = _jsoncst.parse_value(_jsoncst.render_value(data, style, depth))
            return _jsoncst.replace_child(parent, part, new)
        return _insert(parent, parent_parts, part, data, style, depth)

    return _apply(prompt, parts, edit)


def delete_value(prompt: StructuredPrompt, path: str) -> StructuredPrompt:
    """A new prompt without the key or item at ``path`` (see StructuredPrompt.delete)."""
    parts = _parts(prompt, path)

    def edit(parent: Node, parent_parts: tuple[PathPart, ...], part: PathPart) -> Node:
        if _jsoncst.child(parent, part) is None:
            _step(_plain(parent), part, (*parent_parts, part), len(parent_parts))
        return _jsoncst.delete_child(parent, part)

    return _apply(prompt, parts, edit)


def _parts(prompt: StructuredPrompt, path: str) -> tuple[PathPart, ...]:
    """``path`` parsed, its diff labels (``objects[mug]``) resolved to indices."""
    parts = parse_path(path)
    if any(isinstance(part, ItemLabel) for part in parts):
        return resolve_labels(parts, prompt.to_dict())
    return parts


def _plain(node: Node) -> Any:
    return json.loads(_jsoncst.dump(_jsoncst.Doc("", node, "")))


def _insert(
    parent: Node,
    parent_parts: tuple[PathPart, ...],
    part: PathPart,
    data: Any,
    style: _jsoncst.WireStyle,
    depth: int,
) -> Node:
    here = format_path(parent_parts) or "the prompt"
    path = format_path((*parent_parts, part))
    if isinstance(parent, Obj) and isinstance(part, str):
        new = _jsoncst.parse_value(_jsoncst.render_value(data, style, depth))
        index = insert_position(parent, part, key_order_for(parent_parts))
        return _jsoncst.insert_member(parent, index, part, new, style, depth - 1)
    if isinstance(parent, Arr) and isinstance(part, int):
        if part != len(parent.items):
            count = len(parent.items)
            raise PromptPathError(
                f"{here} has {count} item{'s' if count != 1 else ''}; use [{count}] to append",
                path=path,
            )
        new = _jsoncst.parse_value(_jsoncst.render_value(data, style, depth))
        return _jsoncst.insert_item(parent, part, new, style, depth - 1)
    kind = "an object" if isinstance(parent, Obj) else "an array"
    if isinstance(parent, Scalar):
        kind = json_kind(json.loads(parent.raw))
    raise PromptPathError(f"{here} is {kind}, so it has no {_describe(part)}", path=path)


Editor = Callable[[Node, tuple[PathPart, ...], PathPart], Node]


def _apply(prompt: StructuredPrompt, parts: tuple[PathPart, ...], edit: Editor) -> StructuredPrompt:
    doc = prompt.syntax_tree()
    root = _rebuild(doc.root, (), parts, edit)
    if root is doc.root:
        return prompt
    new_doc = _jsoncst.Doc(doc.lead, root, doc.trail)
    text = _jsoncst.dump(new_doc)
    try:
        return _parse.validate_text(
            text, lenient=prompt.lenient, source_name=prompt.source_name, doc=new_doc
        )
    except PromptValidationError as exc:
        # The file was valid when read: every problem is the edit's. Positions in a text
        # that was never written anywhere, and the file's name, would blame the file.
        issues = [dataclasses.replace(i, line=None, column=None) for i in exc.issues]
        raise PromptValidationError(issues) from None
    except PromptParseError as exc:
        # only nesting can make the edited text unreadable; say it of the edit
        raise PromptError(f"{shorten_path(format_path(parts))}: {exc.message}") from None


def _rebuild(
    node: Node, done: tuple[PathPart, ...], rest: tuple[PathPart, ...], edit: Editor
) -> Node:
    part = rest[0]
    if isinstance(part, int) and isinstance(node, Arr) and part < 0:
        part += len(node.items)
    if len(rest) == 1:
        return edit(node, done, part)
    child = _jsoncst.child(node, part)
    if child is None:
        _step(_plain(node), part, (*done, *rest), len(done))
        raise AssertionError("unreachable")  # pragma: no cover - _step raised
    new_child = _rebuild(child, (*done, part), rest[1:], edit)
    if new_child is child:
        return node
    return _jsoncst.replace_child(node, part, new_child)


def _missing_prefix(
    doc: _jsoncst.Doc, parts: tuple[PathPart, ...], data: Any
) -> tuple[tuple[PathPart, ...], Any]:
    """Turn a path through missing containers into an insertion of nested data.

    ``photographic_characteristics.focus`` on a prompt without ``photographic_characteristics``
    becomes ``photographic_characteristics`` = ``{"focus": ...}``.
    """
    node: Node = doc.root
    for index, part in enumerate(parts[:-1]):
        child = _jsoncst.child(node, part)
        if child is None:
            if not isinstance(node, Obj) or not isinstance(part, str):
                return parts, data
            for inner in reversed(parts[index + 1 :]):
                if isinstance(inner, int) and inner != 0:
                    missing = format_path(parts[: index + 1])
                    raise PromptPathError(
                        f"{missing} does not exist; create its first item with [0]",
                        path=format_path(parts),
                    )
                data = {inner: data} if isinstance(inner, str) else [data]
            return parts[: index + 1], data
        node = child
    return parts, data
