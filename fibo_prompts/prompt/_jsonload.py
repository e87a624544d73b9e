"""Safe JSON loading for structured prompts: size limit, encoding, BOM, duplicates, NaN.

``json.loads`` is lenient in ways that change a prompt's meaning without a word: a later
duplicate key silently wins, ``NaN`` is accepted, ``1e400`` becomes ``inf`` (and is written
back as ``Infinity``, which no JSON reader accepts), an integer over 4,300 digits raises a
bare ``ValueError``, a BOM is an error message nobody understands. This module is the one
place that turns raw input into ``(text, data)`` or a
:class:`~fibo_prompts.errors.PromptParseError` with a line, a column and the JSON path.
:func:`strict_loads` is the same reader for other untrusted JSON (provenance records,
command-line values), raising :class:`JSONInputError` for the caller to word.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Iterator
from typing import Any, Final

from fibo_prompts.errors import PromptParseError, PromptTooLargeError

#: Default size limit. Real prompts are 2-5 kB and FIBO reads at most 3,000 tokens (~12 kB);
#: anything near a megabyte is a wrong file, not a prompt.
DEFAULT_MAX_BYTES: Final = 1_000_000

_BOMS: Final = (
    (b"\xef\xbb\xbf", "UTF-8"),
    (b"\xff\xfe\x00\x00", "UTF-32"),
    (b"\x00\x00\xfe\xff", "UTF-32"),
    (b"\xff\xfe", "UTF-16"),
    (b"\xfe\xff", "UTF-16"),
)


#: How deep a Python value handed to the prompt API (``parse(dict)``, ``set``) may nest: the
#: depth pydantic's JSON parser accepts for text, so a dict and its text agree.
MAX_DEPTH: Final = 200


DEEP_MESSAGE: Final = (
    f"JSON nested more than {MAX_DEPTH} levels deep, too deep to be a structured prompt"
)


class JSONInputError(ValueError):
    """Untrusted JSON that is syntactically JSON but unsafe to take as data.

    ``message`` says what (``duplicate key 'seed'``, ``1e400 is not a finite number``...);
    ``offset`` is the character offset of the offending token in the text when known;
    ``path`` its JSON path, as parts, when known.
    """

    def __init__(
        self, message: str, *, offset: int | None = None, path: tuple[str | int, ...] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.path = path


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _BadNumber(Exception):
    """A number token json.loads would accept (or choke on) that is not a finite JSON number."""

    def __init__(self, token: str, problem: str) -> None:
        self.token = token
        self.problem = problem


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return data


def _reject_constant(token: str) -> Any:
    raise _BadNumber(token, f"{token} is not valid JSON (numbers must be finite)")


def _parse_float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        # 1e400: valid JSON syntax, but inf once read, and written back as Infinity
        raise _BadNumber(
            token, f"{shorten_token(token)} is not a finite number (out of range for JSON)"
        )
    return value


def _parse_int(token: str) -> int:
    try:
        return int(token)
    except ValueError:
        # Python refuses str -> int conversions over sys.get_int_max_str_digits() (4,300)
        digits = len(token.lstrip("-"))
        raise _BadNumber(
            token,
            f"an integer of {digits:,} digits is too long "
            f"(at most {sys.get_int_max_str_digits():,} digits)",
        ) from None


def shorten_token(token: str, width: int = 24) -> str:
    """A long token cut in the middle for messages: ``1111…1111``."""
    if len(token) <= width:
        return token
    half = width // 2 - 1
    return f"{token[:half]}…{token[-half:]}"


def line_col(text: str, offset: int) -> tuple[int, int]:
    """Return the 1-based (line, column) of a character offset in ``text``."""
    line = text.count("\n", 0, offset) + 1
    start = text.rfind("\n", 0, offset) + 1
    return line, offset - start + 1


def decode(raw: bytes, *, source: str | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """Decode prompt bytes as UTF-8, refusing oversize input, BOMs and invalid bytes."""
    if len(raw) > max_bytes:
        raise PromptTooLargeError(size=len(raw), limit=max_bytes, source=source)
    for bom, name in _BOMS:
        if raw.startswith(bom):
            raise _bom_error(name, source)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = line_col(raw[: exc.start].decode("utf-8", "replace"), exc.start)
        raise PromptParseError(
            f"invalid UTF-8: byte 0x{raw[exc.start]:02x} at byte offset {exc.start}",
            source=source,
            line=line,
            column=column,
            hint="structured prompts are UTF-8 JSON; re-save the file as UTF-8",
        ) from None


def _bom_error(name: str, source: str | None) -> PromptParseError:
    return PromptParseError(
        f"input starts with a {name} byte-order mark",
        source=source,
        line=1,
        column=1,
        hint="JSON forbids it and FIBO would read it as part of the prompt; "
        "save the file as UTF-8 without BOM",
    )


def check_text(text: str, *, source: str | None, max_bytes: int) -> None:
    """Refuse oversize text and a leading BOM character."""
    # Characters never outnumber UTF-8 bytes, so encode only when the count is ambiguous.
    if len(text) > max_bytes or (len(text) * 4 > max_bytes and len(text.encode()) > max_bytes):
        raise PromptTooLargeError(size=len(text.encode()), limit=max_bytes, source=source)
    if text.startswith("\ufeff"):
        raise _bom_error("UTF-8", source)


_DUPLICATE_HINT: Final = "JSON readers keep only one of the values, silently; remove the other"


def strict_loads(text: str) -> Any:
    """Parse untrusted JSON text refusing what ``json.loads`` lets through silently.

    Refused: duplicate keys, ``NaN``/``Infinity``, numbers out of range (``1e400``), integers
    over Python's digit limit, and nesting deeper than the interpreter can follow.

    Raises:
        json.JSONDecodeError: the text is not JSON at all.
        JSONInputError: it is JSON, but one of the above (with offset and path where known).
    """
    try:
        return json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_constant=_reject_constant,
            parse_float=_parse_float,
            parse_int=_parse_int,
        )
    except _DuplicateKey as exc:
        offset = _duplicate_offset(text, exc.key)
        raise JSONInputError(f"duplicate key {exc.key!r}", offset=offset) from None
    except _BadNumber as exc:
        offset, path = _locate_token(text, exc.token)
        raise JSONInputError(exc.problem, offset=offset, path=path) from None
    except RecursionError:
        raise JSONInputError("JSON nested too deeply") from None


def loads(text: str, *, source: str | None = None) -> dict[str, Any]:
    """Parse JSON text that must be an object; raise PromptParseError with a position."""
    try:
        data = strict_loads(text)
    except json.JSONDecodeError as exc:
        raise PromptParseError(
            f"not valid JSON: {exc.msg}", source=source, line=exc.lineno, column=exc.colno
        ) from None
    except JSONInputError as exc:
        raise _parse_error(exc, text, source) from None
    if not isinstance(data, dict):
        kind = json_kind(data)
        raise PromptParseError(
            f"expected a JSON object {{...}}, got {kind}", source=source, line=1, column=1
        )
    return data


def json_kind(value: Any) -> str:
    """The JSON type of a Python value, with an article ("a number")."""
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


def _parse_error(exc: JSONInputError, text: str, source: str | None) -> PromptParseError:
    """The PromptParseError of a JSONInputError: position, JSON path and advice."""
    from fibo_prompts.prompt.paths import format_path

    line = column = None
    if exc.offset is not None:
        line, column = line_col(text, exc.offset)
    if exc.message == "JSON nested too deeply":
        return PromptParseError(DEEP_MESSAGE, source=source)
    message = f"{format_path(exc.path)}: {exc.message}" if exc.path else exc.message
    hint = _DUPLICATE_HINT if exc.message.startswith("duplicate key") else None
    return PromptParseError(message, source=source, line=line, column=column, hint=hint)


def _duplicate_offset(text: str, key: str) -> int | None:
    # Only on the error path: find the second occurrence of the key inside its object.
    from fibo_prompts.prompt._cst import find_duplicate_key_offset

    try:
        return find_duplicate_key_offset(text, key)
    except (ValueError, RecursionError):  # malformed after the duplicate, or very deep
        return None


def _locate_token(text: str, token: str) -> tuple[int | None, tuple[str | int, ...]]:
    """Offset and JSON path of the first scalar whose raw text is ``token`` (error path)."""
    from fibo_prompts.prompt._cst import find_scalar

    try:
        found = find_scalar(text, token)
    except (ValueError, RecursionError):  # malformed after the token, or very deep
        found = None
    if found is None:
        offset = text.find(token)
        return (offset if offset >= 0 else None), ()
    return found


def find_unsafe(value: Any, max_depth: int = MAX_DEPTH) -> tuple[tuple[str | int, ...], str] | None:
    """The JSON path of the first part of a Python value that is not JSON data, and why.

    Catches what ``json.dumps`` turns into an exception nobody can act on (a bare
    ``ValueError`` for a huge integer, ``RecursionError``) or lets through (``inf``, ``nan``
    with ``allow_nan``), plus nesting deeper than ``max_depth``. Iterative: any depth is safe.
    """
    for path, item, depth in _walk(value):
        problem = _unsafe_scalar(item)
        if problem is None and isinstance(item, dict | list | tuple) and depth > max_depth:
            problem = f"nested more than {max_depth} levels deep"
        if problem is None and isinstance(item, dict):
            bad = [k for k in item if not isinstance(k, str | int | float | bool | type(None))]
            if bad:
                problem = f"a key of type {type(bad[0]).__name__} is not JSON data"
        if problem is not None:
            return path, problem
    return None


def _walk(value: Any) -> Iterator[tuple[tuple[str | int, ...], Any, int]]:
    # depth first, in document order; a container's children are pushed only once the
    # consumer asks for more, so stopping at a too-deep container never walks below it
    stack: list[tuple[tuple[str | int, ...], Any, int]] = [((), value, 1)]
    while stack:
        path, item, depth = stack.pop()
        yield path, item, depth
        if isinstance(item, dict):
            children = [((*path, str(k)), v, depth + 1) for k, v in item.items()]
        elif isinstance(item, list | tuple):
            children = [((*path, i), v, depth + 1) for i, v in enumerate(item)]
        else:
            continue
        stack.extend(reversed(children))


def _unsafe_scalar(value: Any) -> str | None:
    if value is None or isinstance(value, str | bool | dict | list | tuple):
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{value!r} is not a finite number"
    if isinstance(value, int):
        try:
            str(value)
        except ValueError:
            return f"an integer of more than {sys.get_int_max_str_digits():,} digits is too long"
        return None
    return f"a {type(value).__name__} is not JSON data"
