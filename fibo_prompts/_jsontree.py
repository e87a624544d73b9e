"""The one strict reader of untrusted JSON, and the check of JSON-like Python data.

``json.loads`` raises ``RecursionError`` on deep nesting and ``ValueError`` on integers of
more than 4,300 digits (Python's int/str conversion limit), keeps the last of two equal keys
without a word and reads ``NaN`` and ``1e400`` as numbers no JSON reader accepts back. Code
that walks the data recursively (copies, comparisons, ``json.dumps``) fails on nesting far
below the parser's own limit. So untrusted JSON text is read with :func:`loads` and Python
data from callers is checked with :func:`problem` before anything walks it.

Two families of callers word the refusals differently, and their messages are part of their
tests: :data:`TERSE` (brand kits, patches, YAML) and :data:`DETAILED` (prompts, command-line
values, provenance records). A :class:`Dialect` holds only those words; the rules are one.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any, Final, Literal, NamedTuple

from fibo_prompts._jsoncst import find_duplicate_key_offset, find_scalar
from fibo_prompts._text import shorten

PathPart = str | int
Kind = Literal["syntax", "encoding", "duplicate", "number", "deep"]

__all__ = [
    "DETAILED",
    "MAX_DEPTH",
    "MAX_INT_DIGITS",
    "TERSE",
    "Dialect",
    "Duplicated",
    "JSONTextError",
    "TextProblem",
    "json_kind",
    "json_size",
    "line_col",
    "loads",
    "problem",
]

#: Deepest nesting accepted in untrusted data by default (kits, patches). Recursive code
#: (copies, comparisons, serialization) must stay far from Python's recursion limit; prompts
#: and provenance records pass their own limits.
MAX_DEPTH: Final = 100
#: Longest integer accepted, in digits: Python's own default limit for converting between
#: int and text (``sys.int_info.default_max_str_digits``); beyond it ``str(n)`` raises.
MAX_INT_DIGITS: Final = 4_300
_INT_LIMIT: Final = 10**MAX_INT_DIGITS


class Dialect(NamedTuple):
    """How one family of callers words each refusal (``str.format`` templates).

    Fields: ``long_int`` (text; ``{digits}``, ``{limit}``), ``long_value`` (data;
    ``{limit}``), ``non_finite`` (``1e400``; ``{token}``), ``constant`` (``NaN``;
    ``{token}``), ``deep_text`` and ``deep_value`` (``{depth}``), ``bad_key`` and
    ``bad_value`` (``{type}``), and ``key_types``: the dict key types taken as JSON.
    """

    long_int: str
    long_value: str
    non_finite: str
    constant: str
    deep_text: str
    deep_value: str
    bad_key: str
    bad_value: str
    key_types: tuple[type, ...]


#: Brand kits, YAML, patches and deltas.
TERSE: Final = Dialect(
    long_int="a number of more than {limit:,} digits",
    long_value="a number of more than {limit:,} digits",
    non_finite="{token} is not a finite number",
    constant="{token} is not a finite number",
    deep_text="nested deeper than {depth} levels",
    deep_value="nested deeper than {depth} levels",
    bad_key="a key that is {type}, not a string",
    bad_value="{type} is not JSON",
    key_types=(str,),
)
#: Prompts, command-line values and provenance records; their keys are what ``json.dumps``
#: accepts, as these values are serialized with it.
DETAILED: Final = Dialect(
    long_int="an integer of {digits:,} digits is too long (at most {limit:,} digits)",
    long_value="an integer of more than {limit:,} digits is too long",
    non_finite="{token} is not a finite number (out of range for JSON)",
    constant="{token} is not valid JSON (numbers must be finite)",
    deep_text="JSON nested too deeply",
    deep_value="nested more than {depth} levels deep",
    bad_key="a key of type {type} is not JSON data",
    bad_value="a {type} is not JSON data",
    key_types=(str, int, float, bool, type(None)),
)


class TextProblem(ValueError):
    """Text a strict reader (JSON or YAML) refuses; ``line``/``column`` (1-based) if known."""

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


class JSONTextError(TextProblem):
    """JSON text refused by :func:`loads`.

    ``kind`` says why: ``syntax`` (not JSON), ``encoding`` (not UTF-8), ``duplicate``,
    ``number`` (non-finite or too long) or ``deep``; ``offset`` is the character offset and
    ``path`` the JSON path (as parts) of the offending token, where known.
    """

    def __init__(
        self,
        message: str,
        line: int | None = None,
        column: int | None = None,
        *,
        kind: Kind,
        offset: int | None = None,
        path: tuple[PathPart, ...] = (),
    ) -> None:
        super().__init__(message, line, column)
        self.kind: Kind = kind
        self.offset = offset
        self.path = path


class Duplicated(dict[str, Any]):
    """A JSON object whose text repeated a key (``duplicate``); :func:`problem` reports it.

    With ``mark_duplicates`` the loader marks the object instead of failing at once, so that
    the caller can say where the object is (``operation 3``), which the parser cannot know.
    """

    duplicate: str = ""


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _BadNumber(Exception):
    def __init__(self, token: str, constant: bool = False) -> None:
        self.token = token
        self.constant = constant


def _mark_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
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


def _refuse_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


def _integer(token: str) -> int:
    # measured before int(), which raises past Python's (adjustable) limit
    if len(token) > MAX_INT_DIGITS and len(token.lstrip("-")) > MAX_INT_DIGITS:
        raise _BadNumber(token)
    return int(token)


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _BadNumber(token)  # 1e400: valid syntax, but inf once read
    return value


def _constant(token: str) -> Any:
    raise _BadNumber(token, constant=True)


def line_col(text: str, offset: int) -> tuple[int, int]:
    """Return the 1-based (line, column) of a character offset in ``text``."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _syntax_message(exc: json.JSONDecodeError, text: str) -> str:
    """The decoder's message as a whole sentence: its "Unterminated string starting at" is
    only the head of "... at: line 1 column 23 (char 22)", whose place we give apart; and a
    text that stops mid-value says so, since a cut-short file is the usual cause."""
    if exc.msg == "Unterminated string starting at":
        return (
            "unterminated string: the string that starts here has no closing quote "
            "(the text ends before it: is it cut short?)"
        )
    if text.strip() and exc.pos >= len(text.rstrip()):
        return f"{exc.msg} (the text ends here: is it cut short?)"
    return exc.msg


def json_kind(value: Any) -> str:
    """The JSON type of a Python value, with an article ("a number", "an array"): the one
    wording of JSON types in messages."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    if value is None:
        return "null"
    return type(value).__name__


def loads(
    text: str | bytes,
    *,
    dialect: Dialect = TERSE,
    max_depth: int = MAX_DEPTH,
    mark_duplicates: bool = True,
) -> Any:
    """Parse JSON text strictly.

    With ``mark_duplicates`` an object that repeats a key comes back as :class:`Duplicated`
    (check with :func:`problem`); without, it is refused. ``max_depth`` only words the
    message for nesting deeper than the parser follows: check the data with :func:`problem`.

    Raises:
        JSONTextError: not JSON, not UTF-8, ``NaN``/``Infinity`` or a number that overflows
            to infinity, an integer of more than :data:`MAX_INT_DIGITS` digits, a duplicate
            key (unless marked), or nesting deeper than the parser can follow.
    """
    # the class test first: this runs on every prompt parse that reaches json.loads
    if text.__class__ is not str and isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            message = f"not UTF-8 (byte 0x{text[exc.start]:02x} at offset {exc.start})"
            raise JSONTextError(message, kind="encoding", offset=exc.start) from None
    try:
        return json.loads(
            text,
            object_pairs_hook=_mark_duplicates if mark_duplicates else _refuse_duplicates,
            parse_int=_integer,
            parse_float=_float,
            parse_constant=_constant,
        )
    except json.JSONDecodeError as exc:
        message = _syntax_message(exc, text)
        raise JSONTextError(message, exc.lineno, exc.colno, kind="syntax", offset=exc.pos) from None
    except _DuplicateKey as exc:
        offset = _duplicate_offset(text, exc.key)
        line, column = line_col(text, offset) if offset is not None else (None, None)
        raise JSONTextError(
            f"duplicate key {exc.key!r}", line, column, kind="duplicate", offset=offset
        ) from None
    except _BadNumber as exc:
        raise _number_error(text, exc, dialect) from None
    except RecursionError:
        raise JSONTextError(dialect.deep_text.format(depth=max_depth), kind="deep") from None


def _number_error(text: str, exc: _BadNumber, dialect: Dialect) -> JSONTextError:
    token = exc.token
    if exc.constant:
        message = dialect.constant.format(token=token)
    elif "." in token or "e" in token or "E" in token:
        message = dialect.non_finite.format(token=shorten(token, 24))
    else:
        digits = len(token.lstrip("-"))
        message = dialect.long_int.format(digits=digits, limit=MAX_INT_DIGITS)
    offset, path = _locate_token(text, token)
    line, column = line_col(text, offset) if offset is not None else (None, None)
    return JSONTextError(message, line, column, kind="number", offset=offset, path=path)


def _duplicate_offset(text: str, key: str) -> int | None:
    # Only on the error path: find the second occurrence of the key inside its object.
    try:
        return find_duplicate_key_offset(text, key)
    except (ValueError, RecursionError):  # malformed after the duplicate, or very deep
        return None


def _locate_token(text: str, token: str) -> tuple[int | None, tuple[PathPart, ...]]:
    """Offset and JSON path of the first scalar whose raw text is ``token`` (error path)."""
    try:
        found = find_scalar(text, token)
    except (ValueError, RecursionError):  # malformed after the token, or very deep
        found = None
    if found is None:
        offset = text.find(token)
        return (offset if offset >= 0 else None), ()
    return found


def problem(
    value: Any,
    *,
    max_depth: int = MAX_DEPTH,
    dialect: Dialect = TERSE,
    plain: bool = True,
) -> tuple[str, tuple[PathPart, ...]] | None:
    """The first reason ``value`` is not plain JSON data, and where; ``None`` when it is.

    Plain JSON data: dicts with keys of ``dialect.key_types`` (no :class:`Duplicated`),
    lists, strings, finite floats, ints of at most :data:`MAX_INT_DIGITS` digits, booleans
    and ``None``, with containers nested at most ``max_depth`` levels (the outermost is level
    1). With ``plain=False`` other types (a YAML date, an int key) are let through for a
    validator to name; depth and numbers are still checked. The walk is iterative, in
    document order, so any depth is safe to check.
    """
    stack: list[tuple[Any, tuple[PathPart, ...]]] = [(value, ())]
    while stack:
        node, path = stack.pop()
        if node is None or isinstance(node, bool | str):
            continue
        if isinstance(node, int):
            if abs(node) >= _INT_LIMIT:
                return dialect.long_value.format(limit=MAX_INT_DIGITS), path
            continue
        if isinstance(node, float):
            if not math.isfinite(node):
                return f"{node} is not a finite number", path  # the same in both dialects
            continue
        if isinstance(node, dict | list | tuple) and len(path) >= max_depth:
            return dialect.deep_value.format(depth=max_depth), path
        if isinstance(node, dict):
            if isinstance(node, Duplicated):
                return f"duplicate key {node.duplicate!r}", path
            for key, item in reversed(node.items()):
                if plain and not isinstance(key, dialect.key_types):
                    return dialect.bad_key.format(type=type(key).__name__), path
                stack.append((item, (*path, key if isinstance(key, str) else str(key))))
            continue
        if isinstance(node, list | tuple):
            stack.extend((item, (*path, index)) for index, item in reversed(list(enumerate(node))))
            continue
        if plain:
            return dialect.bad_value.format(type=type(node).__name__), path
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
