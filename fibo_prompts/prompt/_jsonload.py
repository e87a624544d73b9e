"""Safe JSON loading for structured prompts: size limit, encoding, BOM, duplicates, NaN.

``json.loads`` is lenient in ways that change a prompt's meaning without a word: a later
duplicate key silently wins, ``NaN`` is accepted, a BOM is an error message nobody
understands. This module is the one place that turns raw input into ``(text, data)`` or a
:class:`~fibo_prompts.errors.PromptParseError` with a line and column.
"""

from __future__ import annotations

import json
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


class _DuplicateKey(Exception):
    def __init__(self, key: str) -> None:
        self.key = key


class _NonFiniteNumber(Exception):
    def __init__(self, token: str) -> None:
        self.token = token


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
    raise _NonFiniteNumber(token)


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


def loads(text: str, *, source: str | None = None) -> dict[str, Any]:
    """Parse JSON text that must be an object; raise PromptParseError with a position."""
    try:
        data = json.loads(
            text, object_pairs_hook=_reject_duplicates, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as exc:
        raise PromptParseError(
            f"not valid JSON: {exc.msg}", source=source, line=exc.lineno, column=exc.colno
        ) from None
    except _DuplicateKey as exc:
        line, column = _locate_duplicate(text, exc.key)
        raise PromptParseError(
            f"duplicate key {exc.key!r}",
            source=source,
            line=line,
            column=column,
            hint="JSON readers keep only one of the values, silently; remove the other",
        ) from None
    except _NonFiniteNumber as exc:
        offset = text.find(exc.token)
        line, column = line_col(text, max(offset, 0))
        raise PromptParseError(
            f"{exc.token} is not valid JSON", source=source, line=line, column=column
        ) from None
    except RecursionError:
        raise PromptParseError(
            "JSON nested too deeply to be a structured prompt", source=source
        ) from None
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


def _locate_duplicate(text: str, key: str) -> tuple[int | None, int | None]:
    # Only on the error path: find the second occurrence of the key inside its object.
    from fibo_prompts.prompt._cst import find_duplicate_key_offset

    offset = find_duplicate_key_offset(text, key)
    if offset is None:
        return None, None
    return line_col(text, offset)
