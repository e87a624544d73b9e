"""Safe JSON loading for structured prompts: size limit, encoding, BOM, duplicates, NaN.

``json.loads`` is lenient in ways that change a prompt's meaning without a word: a later
duplicate key silently wins, ``NaN`` is accepted, ``1e400`` becomes ``inf`` (and is written
back as ``Infinity``, which no JSON reader accepts), an integer over 4,300 digits raises a
bare ``ValueError``, a BOM is an error message nobody understands. This module is the one
place that turns raw input into ``(text, data)`` or a
:class:`~fibo_prompts.errors.PromptParseError` with a line, a column and the JSON path. The
reading itself is :func:`fibo_prompts._jsontree.loads`, shared with all untrusted JSON; this
module adds what only prompts need (size, BOM, the prompt's depth limit and wording).
"""

from __future__ import annotations

from typing import Any, Final

from fibo_prompts._jsontree import DETAILED, JSONTextError, json_kind, line_col
from fibo_prompts._jsontree import loads as strict_loads
from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.errors import PromptParseError, PromptTooLargeError
from fibo_prompts.prompt.paths import format_path

__all__ = [
    "DEEP_MESSAGE",
    "MAX_DEPTH",
    "check_text",
    "decode",
    "loads",
]


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


def loads(text: str, *, source: str | None = None) -> dict[str, Any]:
    """Parse JSON text that must be an object; raise PromptParseError with a position."""
    try:
        data = strict_loads(text, dialect=DETAILED, max_depth=MAX_DEPTH, mark_duplicates=False)
    except JSONTextError as exc:
        raise _parse_error(exc, source) from None
    if not isinstance(data, dict):
        kind = json_kind(data)
        raise PromptParseError(
            f"expected a JSON object {{...}}, got {kind}", source=source, line=1, column=1
        )
    return data


def _parse_error(exc: JSONTextError, source: str | None) -> PromptParseError:
    """The PromptParseError of a JSONTextError: position, JSON path and advice."""
    if exc.kind == "syntax":
        message = f"not valid JSON: {exc.message}"
        return PromptParseError(message, source=source, line=exc.line, column=exc.column)
    if exc.kind == "deep":
        return PromptParseError(DEEP_MESSAGE, source=source)
    message = f"{format_path(exc.path)}: {exc.message}" if exc.path else exc.message
    hint = _DUPLICATE_HINT if exc.kind == "duplicate" else None
    return PromptParseError(message, source=source, line=exc.line, column=exc.column, hint=hint)
