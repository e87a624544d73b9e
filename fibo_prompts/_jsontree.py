"""Checks on untrusted JSON data (patches, brand kits, variables): the shapes that crash or
exhaust the process instead of failing cleanly.

``json.loads`` raises ``RecursionError`` on deep nesting and ``ValueError`` on integers of
more than 4,300 digits (Python's int/str conversion limit), keeps the last of two equal keys
without a word and reads ``1e400`` as infinity. Code that walks the data recursively
(copies, comparisons, ``json.dumps``) fails on nesting far below the parser's own limit. So
untrusted JSON is read with :func:`loads` and Python data from callers is checked with
:func:`problem` before anything walks it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator
from typing import Any, Final

PathPart = str | int

__all__ = [
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "Duplicated",
    "JSONTextError",
    "json_size",
    "loads",
    "problem",
]

#: Deepest nesting accepted in untrusted data. Prompts, patches and kits are a few levels
#: deep; recursive code (copies, comparisons, serialization) must stay far from Python's
#: recursion limit.
MAX_DEPTH: Final = 100
#: Longest integer accepted, in digits: Python's own limit for converting between int and
#: text (``sys.int_info.default_max_str_digits``); beyond it ``str(n)`` raises.
MAX_INT_DIGITS: Final = 4_300
_INT_LIMIT: Final = 10**MAX_INT_DIGITS
_LONG_NUMBER: Final = re.compile(rf"[0-9]{{{MAX_INT_DIGITS + 1},}}")


class Duplicated(dict[str, Any]):
    """A JSON object whose text repeated a key (``duplicate``); :func:`problem` reports it.

    The loader marks the object instead of failing at once so that the caller can say where
    the object is (``operation 3``), which the parser's hook cannot know.
    """

    duplicate: str = ""


class JSONTextError(ValueError):
    """JSON text that cannot be read safely; ``line`` and ``column`` say where, if known."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def where(self) -> str:
        """``line 3 column 7: `` (or nothing), to put before the message."""
        if self.line is None:
            return ""
        column = f" column {self.column}" if self.column is not None else ""
        return f"line {self.line}{column}: "


class _LongInteger(Exception):
    pass


class _NonFinite(Exception):
    def __init__(self, token: str) -> None:
        self.token = token


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) == len(pairs):
        return data
    seen: set[str] = set()
    marked = Duplicated(pairs[:0])
    for key, value in pairs:
        if key in seen:
            marked.duplicate = marked.duplicate or key
            continue  # the first value is kept; the object is refused anyway
        seen.add(key)
        marked[key] = value
    return marked


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise _LongInteger
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _NonFinite(text)
    return value


def _constant(token: str) -> Any:
    raise _NonFinite(token)


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def loads(text: str | bytes) -> Any:
    """Parse JSON text strictly.

    Objects that repeat a key come back as :class:`Duplicated` (check with :func:`problem`).

    Raises:
        JSONTextError: not JSON, not UTF-8, ``NaN``/``Infinity`` or a number that overflows
            to infinity, an integer of more than :data:`MAX_INT_DIGITS` digits, or nesting
            deeper than the parser can follow.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JSONTextError(
                f"not UTF-8 (byte 0x{text[exc.start]:02x} at offset {exc.start})"
            ) from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_pairs,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        raise JSONTextError(exc.msg, exc.lineno, exc.colno) from None
    except _LongInteger:
        found = _LONG_NUMBER.search(text)
        line, column = _line_col(text, found.start()) if found else (None, None)
        raise JSONTextError(
            f"a number of more than {MAX_INT_DIGITS:,} digits", line, column
        ) from None
    except _NonFinite as exc:
        offset = text.find(exc.token)
        line, column = _line_col(text, offset) if offset >= 0 else (None, None)
        raise JSONTextError(f"{exc.token} is not a finite number", line, column) from None
    except RecursionError:
        raise JSONTextError(f"nested deeper than {MAX_DEPTH} levels") from None


def problem(
    value: Any, *, max_depth: int = MAX_DEPTH, plain: bool = True
) -> tuple[str, tuple[PathPart, ...]] | None:
    """The first reason ``value`` is not plain JSON data, and where; ``None`` when it is.

    Plain JSON data: dicts with string keys (no :class:`Duplicated`), lists, strings, finite
    floats, ints of at most :data:`MAX_INT_DIGITS` digits, booleans and ``None``, nested at
    most ``max_depth`` levels. With ``plain=False`` other types (a YAML date, an int key) are
    let through for a validator to name; depth and numbers are still checked. The walk is
    iterative, so any depth is safe to check.
    """
    stack: list[tuple[Any, tuple[PathPart, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > max_depth:
            return f"nested deeper than {max_depth} levels", path[:max_depth]
        if node is None or isinstance(node, bool | str):
            continue
        if isinstance(node, int):
            if abs(node) >= _INT_LIMIT:
                return f"a number of more than {MAX_INT_DIGITS:,} digits", path
            continue
        if isinstance(node, float):
            if not math.isfinite(node):
                return f"{node} is not a finite number", path
            continue
        if isinstance(node, dict):
            if isinstance(node, Duplicated):
                return f"duplicate key {node.duplicate!r}", path
            for key, item in reversed(node.items()):
                if plain and not isinstance(key, str):
                    return f"a key that is {type(key).__name__}, not a string", path
                stack.append((item, (*path, key if isinstance(key, str | int) else str(key))))
            continue
        if isinstance(node, list | tuple):
            stack.extend((item, (*path, index)) for index, item in reversed(list(enumerate(node))))
            continue
        if plain:
            return f"{type(node).__name__} is not JSON", path
    return None


def _children(node: Any) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, item in node.items():
            yield key
            yield item
    elif isinstance(node, list | tuple):
        yield from node


def json_size(value: Any, limit: int) -> int:
    """About how many characters ``json.dumps(value)`` writes; stops counting past ``limit``.

    The walk visits each occurrence of a shared value again (as serialization would), so a
    value built by copying itself is measured at its full size; stopping at ``limit`` bounds
    the work by the limit, whatever the value.
    """
    total = 0
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            total += len(node) + 2
        elif node is None or isinstance(node, bool):
            total += 5
        elif isinstance(node, int):
            total += node.bit_length() * 3 // 10 + 2
        elif isinstance(node, float):
            total += 24
        elif isinstance(node, dict | list | tuple):
            total += 2 + 2 * len(node)
            if total > limit:
                return total
            stack.extend(_children(node))
        else:
            total += 16
        if total > limit:
            return total
    return total
