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
                path=path,
            )
        if match["name"] is not None:
            parts.append(match["name"])
        elif match["digits"] is not None:
            parts.append(int(match["digits"]))
        elif match["index"] is not None:
            parts.append(int(match["index"]))
        else:
            parts.append(json.loads(match["quoted"]))
        pos = match.end()
    return tuple(parts)


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
