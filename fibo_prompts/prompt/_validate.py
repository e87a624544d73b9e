"""Turning validation failures into :class:`PromptIssue` lists with FIBO paths and positions.

Pydantic's messages are rewritten in the prompt's own terms ("expected a string, got a
number"), unknown keys get a "did you mean", and for text input each issue gets the line and
column of the offending key or value.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from collections.abc import Iterator, Sequence
from typing import Any, Final

from pydantic import ValidationError

from fibo_prompts._jsoncst import locate, parse
from fibo_prompts._jsontree import line_col
from fibo_prompts.errors import PromptIssue
from fibo_prompts.prompt import _fields
from fibo_prompts.prompt.paths import PathPart, format_path, parse_path

_NESTED: Final[dict[str, tuple[str, ...]]] = {
    "lighting": _fields.LIGHTING_ORDER,
    "aesthetics": _fields.AESTHETICS_ORDER,
    "photographic_characteristics": _fields.PHOTOGRAPHIC_ORDER,
}
_LISTS: Final[dict[str, tuple[str, ...]]] = {
    "objects": _fields.OBJECT_ORDER,
    "text_render": _fields.TEXT_RENDER_ORDER,
}
_ALL_KEYS: Final = frozenset(
    _fields.TOP_LEVEL_ORDER
    + _fields.OBJECT_ORDER
    + _fields.LIGHTING_ORDER
    + _fields.AESTHETICS_ORDER
    + _fields.PHOTOGRAPHIC_ORDER
    + _fields.TEXT_RENDER_ORDER
)

_KNOWN_SETS: Final = {
    order: frozenset(order)
    for order in (
        _fields.TOP_LEVEL_ORDER,
        _fields.OBJECT_ORDER,
        _fields.LIGHTING_ORDER,
        _fields.AESTHETICS_ORDER,
        _fields.PHOTOGRAPHIC_ORDER,
        _fields.TEXT_RENDER_ORDER,
    )
}

_EXPECTED: Final[dict[str, str]] = {
    "string_type": "a string",
    "int_type": "an integer",
    "int_from_float": "a whole number",
    "model_type": "an object {...}",
    "dict_type": "an object {...}",
    "list_type": "an array [...]",
    "bool_type": "true or false",
}
_MAX_VALUE: Final = 60


def key_order_for(parts: Sequence[PathPart]) -> tuple[str, ...]:
    """FIBO's key order for the object at ``parts`` (empty for unknown places)."""
    if not parts:
        return _fields.TOP_LEVEL_ORDER
    head = parts[0]
    if len(parts) == 1 and isinstance(head, str) and head in _NESTED:
        return _NESTED[head]
    if len(parts) == 2 and isinstance(head, str) and head in _LISTS and isinstance(parts[1], int):
        return _LISTS[head]
    return ()


def _walk_known(data: dict[str, Any]) -> Iterator[tuple[tuple[PathPart, ...], dict[str, Any]]]:
    """Every object of a prompt whose keys FIBO defines, with its path."""
    yield (), data
    for key in _NESTED:
        value = data.get(key)
        if isinstance(value, dict):
            yield (key,), value
    for key in _LISTS:
        value = data.get(key)
        if isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    yield (key, index), item


def unknown_key_issues(data: dict[str, Any]) -> list[PromptIssue]:
    """One issue per key FIBO does not define, with a "did you mean" where one is close."""
    issues: list[PromptIssue] = []
    for parts, obj in _walk_known(data):
        known = key_order_for(parts)
        extra = obj.keys() - _KNOWN_SETS[known]
        if not extra:
            continue
        for key in extra:
            path = format_path((*parts, key))
            close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
            if close:
                message = f"unknown key; did you mean {close[0]!r}?"
            elif key in _ALL_KEYS:
                message = "unknown key here (it belongs to another part of the prompt)"
            else:
                message = "unknown key (use --lenient / lenient=True to keep unknown keys)"
            issues.append(
                PromptIssue(
                    path=path,
                    message=message,
                    code="unknown_key",
                    suggestion=close[0] if close else None,
                )
            )
    if not issues:
        return issues
    # sets are unordered: report in document order
    order = {key: index for index, key in enumerate(_key_positions(data))}
    issues.sort(key=lambda issue: order.get(issue.path, len(order)))
    return issues


def _key_positions(data: dict[str, Any]) -> list[str]:
    """Every key path of the known part of a prompt, in document order."""
    paths: list[str] = []
    for key, value in data.items():
        paths.append(key)
        if key in _NESTED and isinstance(value, dict):
            paths.extend(format_path((key, inner)) for inner in value)
        elif key in _LISTS and isinstance(value, list):
            for index, item in enumerate(value):
                if isinstance(item, dict):
                    paths.extend(format_path((key, index, inner)) for inner in item)
    return paths


def unknown_key_paths(data: dict[str, Any]) -> list[str]:
    """Paths of the keys FIBO does not define, in document order."""
    return [issue.path for issue in unknown_key_issues(data)]


def shorten(value: Any) -> str:
    """A short JSON rendering of a value for messages."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= _MAX_VALUE else text[: _MAX_VALUE - 1] + "…"


def issues_from_pydantic(
    exc: ValidationError, *, prefix: tuple[PathPart, ...]
) -> list[PromptIssue]:
    """Rewrite pydantic's errors as PromptIssues with FIBO paths."""
    issues: list[PromptIssue] = []
    seen: set[tuple[str, str]] = set()
    unknown_paths: set[str] = set()
    for error in exc.errors(include_url=False):
        loc = tuple(part for part in error["loc"] if isinstance(part, str | int))
        # pydantic appends the union member or validator name to the location of some errors
        loc = tuple(part for part in loc if part not in ("function-after", "function-before"))
        path = format_path((*prefix, *loc))
        kind = error["type"]
        value = error.get("input")
        if kind == "missing":
            message, shown = "missing required key", None
        elif kind in _EXPECTED:
            message, shown = f"expected {_EXPECTED[kind]}", shorten(value)
        elif kind == "literal_error":
            levels = ", ".join(_fields.QUALITY_LEVELS)
            message, shown = f"expected one of: {levels}", shorten(value)
        elif kind == "extra_forbidden":
            unknown_paths.add(path)
            continue
        else:
            message, shown = str(error["msg"]), shorten(value)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        issues.append(PromptIssue(path=path, message=message, code=_code(kind), value=shown))
    return issues


def _code(kind: str) -> str:
    if kind == "missing":
        return "missing"
    if kind.endswith("_type") or kind in ("int_from_float", "literal_error"):
        return "type"
    return kind


def locate_issues(issues: list[PromptIssue], text: str | None) -> list[PromptIssue]:
    """Add line and column to each issue (when the prompt came from text) and tidy the list.

    A "missing required key" whose key is the suggestion of an unknown key (``lightning`` for
    ``lighting``) is dropped: the unknown key's message already says what to do.
    """
    suggested = {
        _sibling(issue.path, issue.suggestion)
        for issue in issues
        if issue.code == "unknown_key" and issue.suggestion
    }
    issues = [i for i in issues if not (i.code == "missing" and i.path in suggested)]
    if text is None or not issues:
        return issues
    doc = parse(text)
    located: list[PromptIssue] = []
    for issue in issues:
        parts = parse_path(issue.path) if issue.path else ()
        offset, _ = locate(doc, parts, key=issue.code in ("unknown_key",))
        line, column = line_col(text, offset)
        located.append(_with_position(issue, line, column))
    located.sort(key=lambda issue: (issue.line or 0, issue.column or 0))
    return located


def _sibling(path: str, key: str) -> str:
    parts = parse_path(path)
    return format_path((*parts[:-1], key))


def _with_position(issue: PromptIssue, line: int, column: int) -> PromptIssue:
    return dataclasses.replace(issue, line=line, column=column)
