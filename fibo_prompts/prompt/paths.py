"""FIBO paths: ``objects[1].location``, ``lighting.conditions``, ``text_render[-1].text``.

A path is a dotted list of keys with ``[N]`` list indices. ``objects.1.location`` is accepted
too; keys that are not identifiers are written ``["odd key"]``. Paths are always *shown* in the
bracket form, the one used in error messages and the CLI.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Final

from fibo_prompts.errors import PromptPathError

__all__ = ["PathPart", "format_path", "parse_path"]

PathPart = str | int

_SEGMENT: Final = re.compile(
    r"""
    (?P<dot>\.)?
    (?:
        (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | (?P<digits>-?\d+)
      | \[(?P<index>-?\d+)\]
      | \[(?P<quoted>"(?:[^"\\]|\\.)*")\]
    )
    """,
    re.VERBOSE,
)
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*\Z")
#: A path longer than the deepest nesting a prompt can have names nothing.
MAX_PARTS: Final = 200
_MAX_INDEX_DIGITS: Final = 9


def parse_path(path: str) -> tuple[PathPart, ...]:
    """Split a path into keys (``str``) and list indices (``int``).

    Raises:
        PromptPathError: the path is empty or malformed, with the column of the problem.

    Example:
        >>> parse_path("objects[1].location")
        ('objects', 1, 'location')
    """
    if not path or not path.strip():
        raise PromptPathError("empty path; use e.g. 'lighting.conditions'", path=path)
    parts: list[PathPart] = []
    pos = 0
    while pos < len(path):
        match = _SEGMENT.match(path, pos)
        bracketed = match is not None and (
            match["index"] is not None or match["quoted"] is not None
        )
        needs_dot = bool(parts) and not bracketed
        if match is None or (needs_dot and not match["dot"]) or (not parts and match["dot"]):
            raise PromptPathError(
                f"malformed path at column {pos + 1}: expected a key, '.key' or '[N]' "
                "(e.g. 'objects[0].location')",
                path=shorten_path(path),
            )
        if len(parts) == MAX_PARTS:
            raise PromptPathError(
                f"path of more than {MAX_PARTS} parts; a prompt never nests that deep",
                path=shorten_path(path),
            )
        if match["name"] is not None:
            parts.append(match["name"])
        elif match["digits"] is not None or match["index"] is not None:
            parts.append(_index(match["digits"] or match["index"], path, pos))
        else:
            parts.append(json.loads(match["quoted"]))
        pos = match.end()
    return tuple(parts)


def _index(digits: str, path: str, pos: int) -> int:
    if len(digits.lstrip("-")) > _MAX_INDEX_DIGITS:
        # int() of 5,000 digits is a bare ValueError; no list is that long anyway
        raise PromptPathError(
            f"index at column {pos + 1} has {len(digits.lstrip('-')):,} digits; "
            f"use an index below {10**_MAX_INDEX_DIGITS:,}",
            path=shorten_path(path),
        )
    return int(digits)


def shorten_path(path: str, width: int = 80) -> str:
    """A path cut to ``width`` characters for messages (a hostile one could be megabytes)."""
    return path if len(path) <= width else path[: width - 1] + "…"


def format_path(parts: Sequence[PathPart]) -> str:
    """Join keys and indices into the display form (``objects[1].location``)."""
    out: list[str] = []
    for part in parts:
        if isinstance(part, int):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)
