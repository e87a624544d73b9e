"""RFC 6902 JSON Patch on plain data: pointers, application with conflict reports, inversion.

Application is strict: a failing ``test`` or a path that does not exist is a *conflict*
(the base drifted). Instead of stopping at the first one, every operation is tried and all
conflicts are reported together, so a user sees everything that drifted at once; nothing is
returned unless there were none.

Inversion turns a patch from A to B into one from B to A. It needs the old value of every
replaced or removed member, which is exactly what the ``test`` operation in front of it
carries: a patch with tests is reversible.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fibo_prompts.errors import PatchConflictError, PatchError
from fibo_prompts.prompt.paths import PathPart, format_path

__all__ = [
    "apply_ops",
    "invert_ops",
    "json_equal",
    "parse_pointer",
    "pointer_path",
    "to_pointer",
    "validate_ops",
]

_OPS: Final = frozenset({"add", "remove", "replace", "move", "copy", "test"})
_INDEX: Final = re.compile(r"0|[1-9][0-9]*\Z")
_SHOWN: Final = 80  # characters of a value shown in a conflict message


class Conflict(Exception):
    """One operation did not apply (internal: collected into a PatchConflictError)."""


def to_pointer(parts: Sequence[PathPart]) -> str:
    """``("objects", 0, "pose")`` -> ``/objects/0/pose``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def parse_pointer(pointer: str) -> tuple[str, ...]:
    """Split a JSON Pointer (RFC 6901) into its unescaped tokens.

    Raises:
        PatchError: not a pointer (must be empty or start with ``/``; ``~`` only as
            ``~0`` or ``~1``).
    """
    if pointer == "":
        return ()
    if not pointer.startswith("/"):
        raise PatchError(f"invalid JSON Pointer {pointer!r}: it must start with '/'")
    tokens = pointer[1:].split("/")
    for token in tokens:
        if re.search(r"~(?![01])", token):
            raise PatchError(f"invalid JSON Pointer {pointer!r}: '~' must be '~0' or '~1'")
    return tuple(token.replace("~1", "/").replace("~0", "~") for token in tokens)


def pointer_path(pointer: str) -> str:
    """A pointer in FIBO path form for messages: ``/objects/0/pose`` -> ``objects[0].pose``."""
    try:
        tokens = parse_pointer(pointer)
    except PatchError:
        return pointer
    parts: list[PathPart] = [int(t) if _INDEX.match(t) else t for t in tokens]
    return format_path(parts) or "(the whole prompt)"


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality (RFC 6902 ``test``): numbers by value, ``true`` never equals ``1``."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(json_equal(a[key], b[key]) for key in a)
        )
    if isinstance(a, list):
        return (
            isinstance(b, list)
            and len(a) == len(b)
            and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and bool(a == b)


def _shown(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def validate_ops(ops: Any) -> list[dict[str, Any]]:
    """Check the shape of a JSON Patch document; return its operations.

    Raises:
        PatchError: not a list of operation objects with the members RFC 6902 requires.
    """
    if not isinstance(ops, list):
        raise PatchError("a JSON Patch must be a JSON array of operations")
    out: list[dict[str, Any]] = []
    for number, op in enumerate(ops, 1):
        where = f"operation {number}"
        if not isinstance(op, Mapping):
            raise PatchError(f"{where} is not a JSON object")
        name = op.get("op")
        if name not in _OPS:
            raise PatchError(
                f"{where}: unknown op {name!r} (use one of: {', '.join(sorted(_OPS))})"
            )
        if not isinstance(op.get("path"), str):
            raise PatchError(f"{where} ({name}): 'path' must be a string")
        parse_pointer(op["path"])
        if name in ("add", "replace", "test"):
            if "value" not in op:
                raise PatchError(f"{where} ({name}): 'value' is required")
            try:
                json.dumps(op["value"], allow_nan=False)
            except (TypeError, ValueError) as exc:
                raise PatchError(f"{where} ({name}): 'value' is not JSON data ({exc})") from None
        if name in ("move", "copy"):
            if not isinstance(op.get("from"), str):
                raise PatchError(f"{where} ({name}): 'from' must be a string")
            parse_pointer(op["from"])
        out.append(dict(op))
    return out


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def get(doc: Any, tokens: Sequence[str], pointer: str) -> Any:
    """The value at ``tokens``, or raise :class:`Conflict` saying what is missing."""
    value = doc
    for depth, token in enumerate(tokens):
        if isinstance(value, dict):
            if token not in value:
                raise Conflict(f"{pointer_path(pointer)}: not found (no key {token!r})")
            value = value[token]
        elif isinstance(value, list):
            if not _INDEX.match(token) or int(token) >= len(value):
                raise Conflict(
                    f"{pointer_path(pointer)}: not found (the list has {len(value)} items)"
                )
            value = value[int(token)]
        else:
            here = pointer_path(to_pointer(tokens[:depth]))
            raise Conflict(f"{pointer_path(pointer)}: not found ({here} is not a container)")
    return value


def _set(doc: Any, tokens: Sequence[str], value: Any, pointer: str, *, insert: bool) -> Any:
    """Add (``insert``) or replace the value at ``tokens``; returns the new root."""
    if not tokens:
        return value
    parent = get(doc, tokens[:-1], pointer)
    last = tokens[-1]
    if isinstance(parent, dict):
        if not insert and last not in parent:
            raise Conflict(f"{pointer_path(pointer)}: not found (no key {last!r})")
        parent[last] = value
    elif isinstance(parent, list):
        size = len(parent)
        if insert and last == "-":
            parent.append(value)
        elif not _INDEX.match(last) or int(last) > size or (not insert and int(last) == size):
            raise Conflict(f"{pointer_path(pointer)}: not found (the list has {size} items)")
        elif insert:
            parent.insert(int(last), value)
        else:
            parent[int(last)] = value
    else:
        raise Conflict(f"{pointer_path(pointer)}: its parent is not a container")
    return doc


def _remove(doc: Any, tokens: Sequence[str], pointer: str) -> tuple[Any, Any]:
    if not tokens:
        raise Conflict("cannot remove the whole prompt")
    parent = get(doc, tokens[:-1], pointer)
    value = get(parent, tokens[-1:], pointer)
    if isinstance(parent, dict):
        del parent[tokens[-1]]
    else:
        del parent[int(tokens[-1])]
    return doc, value


def apply_one(doc: Any, op: Mapping[str, Any]) -> Any:
    """Apply one (validated) operation in place; returns the new root.

    Raises:
        Conflict: a failing test or a missing path.
    """
    name = op["op"]
    pointer = op["path"]
    tokens = parse_pointer(pointer)
    if name == "test":
        actual = get(doc, tokens, pointer)
        if not json_equal(actual, op["value"]):
            raise Conflict(
                f"{pointer_path(pointer)}: expected {_shown(op['value'])}, found {_shown(actual)}"
            )
        return doc
    if name == "add":
        return _set(doc, tokens, _copy(op["value"]), pointer, insert=True)
    if name == "replace":
        get(doc, tokens, pointer)
        return _set(doc, tokens, _copy(op["value"]), pointer, insert=False)
    if name == "remove":
        doc, _ = _remove(doc, tokens, pointer)
        return doc
    source = parse_pointer(op["from"])
    if name == "copy":
        return _set(doc, tokens, _copy(get(doc, source, op["from"])), pointer, insert=True)
    # move
    if tokens[: len(source)] == source and len(tokens) > len(source):
        raise Conflict(f"{pointer_path(pointer)}: cannot move a value into itself")
    get(doc, source, op["from"])
    get(doc, tokens[:-1], pointer)  # the destination's parent must exist before removing
    doc, value = _remove(doc, source, op["from"])
    return _set(doc, tokens, value, pointer, insert=True)


def apply_ops(
    doc: Any, ops: Sequence[Mapping[str, Any]], *, message: str = "the patch does not apply"
) -> Any:
    """Apply a JSON Patch to a copy of ``doc``.

    Raises:
        PatchConflictError: any test failed or any path was missing; ``conflicts`` lists
            every one.
    """
    result = _copy(doc)
    conflicts: list[str] = []
    for op in ops:
        try:
            result = apply_one(result, op)
        except Conflict as exc:
            conflicts.append(str(exc))
    if conflicts:
        plural = "s" if len(conflicts) != 1 else ""
        raise PatchConflictError(
            f"{message}: {len(conflicts)} conflict{plural} (the base drifted)",
            conflicts=conflicts,
        )
    return result


def invert_ops(ops: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The patch that undoes ``ops`` (applied to the result of ``ops``).

    Raises:
        PatchError: an operation whose old value the patch does not carry (a ``replace``
            or ``remove`` without a ``test`` in front, an ``add`` at ``-``).
    """
    units: list[list[dict[str, Any]]] = []
    index = 0
    while index < len(ops):
        op = ops[index]
        following = ops[index + 1] if index + 1 < len(ops) else None
        if op["op"] == "test" and following is not None and _guards(op, following):
            units.append(_invert_guarded(op, following))
            index += 2
            continue
        units.append(_invert_single(op))
        index += 1
    return [inverse for unit in reversed(units) for inverse in unit]


def _guards(test: Mapping[str, Any], op: Mapping[str, Any]) -> bool:
    if op["op"] in ("replace", "remove"):
        return bool(op["path"] == test["path"])
    return op["op"] == "move" and bool(op["from"] == test["path"])


def _invert_guarded(test: Mapping[str, Any], op: Mapping[str, Any]) -> list[dict[str, Any]]:
    old = test["value"]
    path = op["path"]
    if op["op"] == "replace":
        return [
            {"op": "test", "path": path, "value": op["value"]},
            {"op": "replace", "path": path, "value": old},
        ]
    if op["op"] == "remove":
        return [{"op": "add", "path": path, "value": old}]
    return [
        {"op": "test", "path": path, "value": old},
        {"op": "move", "from": path, "path": op["from"]},
    ]


def _invert_single(op: Mapping[str, Any]) -> list[dict[str, Any]]:
    name = op["op"]
    path = op["path"]
    where = pointer_path(path)
    if name == "test":
        return [dict(op)]
    if name in ("add", "copy"):
        if path.endswith("/-"):
            raise PatchError(f"cannot revert: the {name} at {where} appends with '-'")
        inverse: list[dict[str, Any]] = []
        if name == "add":
            inverse.append({"op": "test", "path": path, "value": op["value"]})
        inverse.append({"op": "remove", "path": path})
        return inverse
    if name == "move":
        return [{"op": "move", "from": path, "path": op["from"]}]
    raise PatchError(
        f"cannot revert: the {name} at {where} has no 'test' of the old value in front of it"
    )
