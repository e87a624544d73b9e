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

from fibo_prompts._jsontree import Duplicated, json_size, problem
from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.errors import PatchConflictError, PatchError
from fibo_prompts.prompt.paths import PathPart, format_path, parse_pointer

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
#: An array index as RFC 6901 writes it (use with ``fullmatch``): no sign, no leading zero,
#: no spaces.
_INDEX: Final = re.compile(r"0|[1-9][0-9]*")
#: More digits than any list's length can have; such an index is out of range, and ``int()``
#: on it would be slow (and raise past 4,300 digits).
_MAX_INDEX_DIGITS: Final = 18
_SHOWN: Final = 80  # characters of a value shown in a conflict message
_TOKEN_SHOWN: Final = 20  # characters of a very long pointer token shown in a message


class Conflict(Exception):
    """One operation did not apply (internal: collected into a PatchConflictError)."""


class _Malformed(Exception):
    """A pointer token that cannot address a list item (internal: becomes a PatchError)."""

    def __init__(self, message: str, pointer: str) -> None:
        super().__init__(message)
        self.pointer = pointer


class _TooLarge(Exception):
    """The patch adds more than its size budget (internal: becomes a PatchError)."""


class _TooDeep(Exception):
    """The patch would nest the document deeper than a prompt may be (internal)."""


#: a patched prompt may nest as deep as a parsed one (the prompt parser's limit): deeper, and
#: copying a value into itself 700 times would overflow Python's stack
MAX_RESULT_DEPTH = 200


def _check_depth(at: int, value: Any) -> None:
    """:class:`_TooDeep` when ``value`` written ``at`` levels down nests past the limit."""
    stack: list[tuple[Any, int]] = [(value, at)]
    while stack:
        node, level = stack.pop()
        if level > MAX_RESULT_DEPTH:
            raise _TooDeep
        if isinstance(node, dict):
            stack.extend((child, level + 1) for child in node.values())
        elif isinstance(node, list | tuple):
            stack.extend((child, level + 1) for child in node)


class Growth:
    """How much a patch has added to the document so far, against a limit.

    Removals do not give budget back: measuring what an operation removes would cost as much
    as what it adds, so a patch of a thousand copy/remove pairs could never be bounded.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.added = 0

    def add(self, value: Any) -> None:
        """Count a value about to be written; :class:`_TooLarge` past the limit."""
        self.added += json_size(value, self.limit - self.added)
        if self.added > self.limit:
            raise _TooLarge


def _list_index(token: str, size: int, pointer: str, *, end: bool = False) -> int:
    """The list index a pointer token names, checked against a list of ``size`` items.

    ``end`` allows ``size`` itself (and ``-``), the place after the last item, where ``add``
    inserts. Raises :class:`_Malformed` when the token is not an index at all (RFC 6901:
    ``0`` or digits without a leading zero; ``-`` only where an item may be appended), and
    :class:`Conflict` when it is out of range.
    """
    if token == "-":
        if end:
            return size
        raise _Malformed(
            "'-' (the end of the list) names no item; only add, and the path of move and "
            "copy, may append with it",
            pointer,
        )
    if not _INDEX.fullmatch(token):
        raise _Malformed(
            f"{_token(token)!r} is not a list index (RFC 6901: 0, or digits without a leading "
            "zero)",
            pointer,
        )
    index = int(token) if len(token) <= _MAX_INDEX_DIGITS else None
    if index is None or index > size or (index == size and not end):
        raise Conflict(f"{pointer_path(pointer)}: not found (the list has {size} items)")
    return index


def _token(token: str) -> str:
    """A pointer token as messages show it: very long ones cut short."""
    return token if len(token) <= 2 * _TOKEN_SHOWN else token[:_TOKEN_SHOWN] + "..."


def to_pointer(parts: Sequence[PathPart]) -> str:
    """``("objects", 0, "pose")`` -> ``/objects/0/pose``."""
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


def pointer_path(pointer: str) -> str:
    """A pointer in FIBO path form for messages: ``/objects/0/pose`` -> ``objects[0].pose``."""
    try:
        tokens = parse_pointer(pointer)
    except PatchError:
        return pointer
    parts: list[PathPart] = [
        int(t) if _INDEX.fullmatch(t) and len(t) <= _MAX_INDEX_DIGITS else _token(t) for t in tokens
    ]
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
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = f"<{type(value).__name__}>"
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
        if isinstance(op, Duplicated):
            # {"op": "test", ..., "op": "remove"}: readers disagree on which one counts
            raise PatchError(
                f"{where}: duplicate key {op.duplicate!r} (a JSON object must not repeat a key)"
            )
        name = op.get("op")
        if not isinstance(name, str) or name not in _OPS:
            shown = repr(name) if isinstance(name, str) else _shown(name)
            raise PatchError(f"{where}: unknown op {shown} (use one of: {', '.join(sorted(_OPS))})")
        if not isinstance(op.get("path"), str):
            raise PatchError(f"{where} ({name}): 'path' must be a string")
        parse_pointer(op["path"])
        if name in ("add", "replace", "test"):
            if "value" not in op:
                raise PatchError(f"{where} ({name}): 'value' is required")
            found = problem(op["value"])
            if found is not None:
                reason, path = found
                nested = path and "deeper" not in reason
                at = f" at {format_path(('value', *path))}" if nested else ""
                raise PatchError(f"{where} ({name}): 'value' is not JSON data ({reason}{at})")
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
            value = value[_list_index(token, len(value), pointer)]
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
        index = _list_index(last, len(parent), pointer, end=insert)
        if insert:
            parent.insert(index, value)
        else:
            parent[index] = value
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
        del parent[_list_index(tokens[-1], len(parent), pointer)]
    return doc, value


def apply_one(doc: Any, op: Mapping[str, Any], growth: Growth | None = None) -> Any:
    """Apply one (validated) operation in place; returns the new root.

    ``growth`` counts every value written (copies included) before it is built.

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
        if growth is not None:
            growth.add(op["value"])
        _check_depth(len(tokens), op["value"])
        return _set(doc, tokens, _copy(op["value"]), pointer, insert=True)
    if name == "replace":
        get(doc, tokens, pointer)
        if growth is not None:
            growth.add(op["value"])
        _check_depth(len(tokens), op["value"])
        return _set(doc, tokens, _copy(op["value"]), pointer, insert=False)
    if name == "remove":
        doc, _ = _remove(doc, tokens, pointer)
        return doc
    source = parse_pointer(op["from"])
    if name == "copy":
        value = get(doc, source, op["from"])
        if growth is not None:
            # copying a list into itself doubles the document: 22 copies reach gigabytes
            growth.add(value)
        _check_depth(len(tokens), value)
        return _set(doc, tokens, _copy(value), pointer, insert=True)
    # move
    if tokens[: len(source)] == source and len(tokens) > len(source):
        raise Conflict(f"{pointer_path(pointer)}: cannot move a value into itself")
    get(doc, source, op["from"])
    get(doc, tokens[:-1], pointer)  # the destination's parent must exist before removing
    doc, value = _remove(doc, source, op["from"])
    return _set(doc, tokens, value, pointer, insert=True)


def apply_ops(
    doc: Any,
    ops: Sequence[Mapping[str, Any]],
    *,
    message: str = "the patch does not apply",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Any:
    """Apply a JSON Patch to a copy of ``doc``.

    The values the patch writes (added, replaced and copied) may total at most ``max_bytes``
    of JSON, counted before each is built.

    Raises:
        PatchConflictError: any test failed or any path was missing; ``conflicts`` lists
            every one.
        PatchError: an operation names a list item with something that is not an index, or
            the patch writes more than ``max_bytes``.
    """
    result = _copy(doc)
    conflicts: list[str] = []
    growth = Growth(max_bytes)
    for number, op in enumerate(ops, 1):
        name = op["op"]
        try:
            result = apply_one(result, op, growth)
        except Conflict as exc:
            conflicts.append(str(exc))
        except _Malformed as exc:
            label = "from" if exc.pointer == op.get("from") != op["path"] else "path"
            raise PatchError(
                f"operation {number} ({name}): {label} {exc.pointer!r}: {exc}"
            ) from None
        except (_TooDeep, RecursionError):
            raise PatchError(
                f"operation {number} ({name}): the patched prompt would nest deeper than "
                f"{MAX_RESULT_DEPTH} levels"
            ) from None
        except _TooLarge:
            raise PatchError(
                f"operation {number} ({name}): the patch would add more than {max_bytes:,} "
                "bytes to the prompt (the size limit; raise it with max_bytes= or --max-bytes)"
            ) from None
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
