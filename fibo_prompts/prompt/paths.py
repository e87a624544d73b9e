"""FIBO paths: ``objects[1].location``, ``lighting.conditions``, ``text_render[-1].text``.

A path is a dotted list of keys with ``[N]`` list indices. ``objects.1.location`` is accepted
too; keys that are not identifiers are written ``["odd key"]``. Paths are always *shown* in the
bracket form, the one used in error messages and the CLI.

A list item may also be named by the label ``fibo diff`` prints for it (``objects[mug]``,
``objects[glass#2]``, ``text_render[summer-sale]``): an :class:`ItemLabel` part, turned into
its index against the prompt at hand by :func:`resolve_labels`.

JSON Patch addresses values with JSON Pointers (``/objects/0/pose``): :func:`parse_pointer`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Final

from fibo_prompts.errors import PatchError, PromptPathError
from fibo_prompts.prompt.labels import item_label, unique_labels

__all__ = [
    "ItemLabel",
    "PathPart",
    "format_path",
    "parse_path",
    "parse_pointer",
    "resolve_labels",
]

PathPart = str | int


class ItemLabel(str):
    """A list item named by its diff label (``mug`` in ``objects[mug]``), not its index."""

    __slots__ = ()


_SEGMENT: Final = re.compile(
    r"""
    (?P<dot>\.)?
    (?:
        (?P<name>[A-Za-z_][A-Za-z0-9_\-]*)
      | (?P<digits>-?\d+)
      | \[(?P<index>-?\d+)\]
      | \[(?P<label>[A-Za-z0-9][A-Za-z0-9_'\u2019-]*(?:\#\d+)?)\]
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
            match["index"] is not None or match["quoted"] is not None or match["label"] is not None
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
        elif match["label"] is not None:
            parts.append(ItemLabel(match["label"]))
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
        if isinstance(part, int) or isinstance(part, ItemLabel):
            out.append(f"[{part}]")
        elif _IDENTIFIER.match(part):
            out.append(f".{part}" if out else part)
        else:
            out.append(f"[{json.dumps(part)}]")
    return "".join(out)


def resolve_labels(parts: Sequence[PathPart], data: Any) -> tuple[PathPart, ...]:
    """``parts`` with each :class:`ItemLabel` of a list replaced by that item's index in
    ``data``, labelling the items as ``fibo diff`` does (an :class:`ItemLabel` under an
    object is its key).

    Raises:
        PromptPathError: no item has the label, or several do (``mug`` where ``mug#1`` and
            ``mug#2`` are shown); the message lists the labels to use.
    """
    if not any(isinstance(part, ItemLabel) for part in parts):
        return tuple(parts)
    out: list[PathPart] = []
    value = data
    for part in parts:
        if isinstance(part, ItemLabel) and isinstance(value, list):
            list_key = out[-1] if out and isinstance(out[-1], str) else ""
            labels = unique_labels([item_label(list_key, item) for item in value])
            here = format_path(out)
            if part in labels:
                index = labels.index(part)
            else:
                numbered = [label for label in labels if label.startswith(f"{part}#")]
                if numbered:
                    uses = " or ".join(f"{here}[{label}]" for label in numbered)
                    message = (
                        f"{here} has {len(numbered)} items labelled {str(part)!r}: use {uses} "
                        "(or an index)"
                    )
                else:
                    shown = ", ".join(labels) or "none, it is empty"
                    message = (
                        f"{here} has no item labelled {str(part)!r} "
                        f"(labels, as fibo diff prints them: {shown})"
                    )
                raise PromptPathError(message, path=shorten_path(format_path(parts)))
            out.append(index)
            value = value[index]
            continue
        out.append(str(part) if isinstance(part, ItemLabel) else part)
        if isinstance(value, dict) and isinstance(part, str):
            value = value.get(part)
        elif isinstance(value, list) and isinstance(part, int) and -len(value) <= part < len(value):
            value = value[part]
        else:
            value = None  # the path goes past the data: the editor reports where
    return tuple(out)


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
