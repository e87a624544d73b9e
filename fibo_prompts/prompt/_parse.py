"""Turning text, bytes, dicts and files into validated :class:`StructuredPrompt` objects.

The fast path is ``json.loads`` (C) with a duplicate-key hook, then pydantic validation of the
resulting dict (Rust). The lossless syntax tree is only built when a prompt is edited or an
error needs a line and column.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, ValidationError

from fibo_prompts._jsoncst import Doc, WireStyle, render_value
from fibo_prompts._jsontree import DETAILED, problem
from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.errors import (
    FileAccessError,
    PromptError,
    PromptParseError,
    PromptTooLargeError,
    PromptValidationError,
)
from fibo_prompts.prompt import _jsonload
from fibo_prompts.prompt._validate import issues_from_pydantic, locate_issues, unknown_key_issues
from fibo_prompts.prompt.models import StructuredPrompt
from fibo_prompts.prompt.paths import format_path

#: The style of prompts created from scratch: FIBO's own form (what its inference code
#: feeds the model): compact separators, ASCII escapes, no trailing newline.
DEFAULT_STYLE: Final = WireStyle()
PRETTY_STYLE: Final = WireStyle(indent="  ", key_separator=": ", trailing_newline=True)

_JITER_POSITION: Final = re.compile(r"(.*?)(?: at line (\d+) column (\d+))?$", re.DOTALL)


def parse_prompt(
    source: str | bytes | Mapping[str, Any],
    *,
    lenient: bool = False,
    max_bytes: int | None = None,
    source_name: str | None = None,
) -> StructuredPrompt:
    """Parse JSON text, UTF-8 bytes or a dict into a validated prompt (see StructuredPrompt)."""
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    if type(source) is str:
        # the hot path (a few microseconds matter here): inline the cheap checks
        if len(source) * 4 > limit or source.startswith("\ufeff"):
            _jsonload.check_text(source, source=source_name, max_bytes=limit)
        return validate_text(source, lenient=lenient, source_name=source_name)
    if isinstance(source, str):
        _jsonload.check_text(source, source=source_name, max_bytes=limit)
        text = source
    elif isinstance(source, bytes | bytearray | memoryview):
        text = _jsonload.decode(bytes(source), source=source_name, max_bytes=limit)
    elif isinstance(source, Mapping):
        return from_data(dict(source), lenient=lenient, source_name=source_name)
    else:
        raise PromptParseError(
            f"cannot parse a {type(source).__name__}; pass JSON text, bytes or a dict",
            source=source_name,
        )
    return validate_text(text, lenient=lenient, source_name=source_name)


def validate_text(
    text: str, lenient: bool, source_name: str | None, doc: Doc | None = None
) -> StructuredPrompt:
    """Validate JSON text as a prompt that keeps ``text`` as its wire string.

    Fast path: pydantic parses and validates the text in one pass (Rust). Because that parser
    lets a later duplicate key win silently and accepts ``NaN``, the keys it kept are counted
    against the colons in the text; only when they differ (or unknown keys are present) does
    the careful ``json.loads`` path run, which pinpoints a duplicate.
    """
    try:
        # strict mode: pydantic itself refuses unknown keys, anywhere in the tree
        prompt: StructuredPrompt = _VALIDATE_JSON(text, extra="allow" if lenient else "forbid")
    except ValidationError as exc:
        raise _invalid(exc, text, lenient=lenient, source_name=source_name) from None
    # Count the keys pydantic kept, inline: this runs on every parse.
    fields = prompt.__dict__
    keys = (
        len(prompt.__pydantic_fields_set__)
        + len(fields["lighting"].__pydantic_fields_set__)
        + len(fields["aesthetics"].__pydantic_fields_set__)
    )
    photo = fields["photographic_characteristics"]
    if photo is not None:
        keys += len(photo.__pydantic_fields_set__)
    items = fields["objects"]
    if items:
        keys += sum([len(item.__pydantic_fields_set__) for item in items])
    items = fields["text_render"]
    if items:
        keys += sum([len(item.__pydantic_fields_set__) for item in items])
    unknown = lenient and any(model.__pydantic_extra__ for model in _models(prompt))
    data: dict[str, Any] | None = None
    # Every key is followed by a colon: with as many colons in the text as keys kept (plus
    # colons inside kept string values) there can be no duplicate key. Otherwise json.loads
    # finds out which it is. Unknown keys (and NaN, which can only hide there) take that path.
    colons = text.count(":")
    if unknown or (
        colons != keys
        # \u003a / \u003A is a colon the text count misses
        and (colons != keys + _value_colons(_models(prompt)) or "\\u003" in text)
    ):
        data = _jsonload.loads(text, source=source_name)
    state = {"wire": text, "lenient": lenient, "source": source_name}
    if doc is not None:
        state["doc"] = doc
    if data is not None:
        state["data"] = data
    object.__setattr__(prompt, "__pydantic_private__", state)
    return prompt


_VALIDATE_JSON: Final = StructuredPrompt.__pydantic_validator__.validate_json


def _models(prompt: StructuredPrompt) -> list[BaseModel]:
    """The prompt and every nested model in it."""
    models: list[BaseModel] = [prompt, prompt.lighting, prompt.aesthetics]
    if prompt.photographic_characteristics is not None:
        models.append(prompt.photographic_characteristics)
    if prompt.objects:
        models.extend(prompt.objects)
    if prompt.text_render:
        models.extend(prompt.text_render)
    return models


def _value_colons(models: list[BaseModel]) -> int:
    """Colons inside the string values of the models (escaped ``\\u003a`` ones included)."""
    count = 0
    for model in models:
        for value in model.__dict__.values():
            if value.__class__ is str and ":" in value:
                count += value.count(":")
    return count


def _invalid(
    exc: ValidationError, text: str, *, lenient: bool, source_name: str | None
) -> Exception:
    """The error to raise for text the fast path refused: a parse or a validation error."""
    errors = exc.errors(include_url=False)
    data = _jsonload.loads(text, source=source_name)  # raises the precise parse error, if any
    if any(error["type"] == "json_invalid" for error in errors):
        # json.loads accepted what pydantic's parser refused (a lone surrogate, very deep
        # nesting): report pydantic's reason and position
        message = str(errors[0]["msg"]).removeprefix("Invalid JSON: ")
        match = _JITER_POSITION.match(message)
        assert match is not None
        line = int(match[2]) if match[2] else None
        column = int(match[3]) if match[3] else None
        reason = f"not valid JSON: {match[1]}"
        if match[1] == "recursion limit exceeded":
            reason = _jsonload.DEEP_MESSAGE
        return PromptParseError(reason, source=source_name, line=line, column=column)
    issues = issues_from_pydantic(exc, prefix=())
    if not lenient:
        issues = unknown_key_issues(data) + issues
    return PromptValidationError(locate_issues(issues, text), source=source_name)


def from_data(
    data: dict[str, Any], *, lenient: bool, source_name: str | None = None
) -> StructuredPrompt:
    """Validate a dict; the wire string is its DEFAULT_STYLE serialization (dict order)."""
    try:
        text = render_value(data, DEFAULT_STYLE, 0)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _not_json_data(data, exc, source_name) from None
    unsafe = None
    if text.count("[") + text.count("{") > _jsonload.MAX_DEPTH:
        # possibly too deep for the validator: say where in the dict, not where in a text
        # the caller never saw
        unsafe = _unsafe(data)
    if unsafe is not None:
        raise _dict_error(unsafe, source_name)
    return validate_text(text, lenient=lenient, source_name=source_name)


def _not_json_data(data: Any, exc: BaseException, source_name: str | None) -> PromptParseError:
    unsafe = _unsafe(data)
    if unsafe is not None:
        return _dict_error(unsafe, source_name)
    reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
    return PromptParseError(f"the dict is not JSON data: {reason}", source=source_name)


def _unsafe(data: Any) -> tuple[str, tuple[str | int, ...]] | None:
    return problem(data, max_depth=_jsonload.MAX_DEPTH, dialect=DETAILED)


def _dict_error(
    unsafe: tuple[str, tuple[str | int, ...]], source_name: str | None
) -> PromptParseError:
    reason, parts = unsafe
    where = format_path(parts[:8]) + ("…" if len(parts) > 8 else "")
    return PromptParseError(f"{where or 'the dict'}: {reason}", source=source_name)


def load_prompt(
    path: str | os.PathLike[str], *, lenient: bool = False, max_bytes: int | None = None
) -> StructuredPrompt:
    """Read a prompt file without reading more than the size limit."""
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    name = os.fspath(path)
    raw = read_limited(name, limit)
    return parse_prompt(raw, lenient=lenient, max_bytes=limit, source_name=name)


def read_limited(name: str, limit: int) -> bytes:
    """Read at most ``limit`` bytes of a file, refusing larger ones with a clear error."""
    try:
        with Path(name).open("rb") as handle:
            raw = handle.read(limit + 1)
            if len(raw) > limit:
                size = os.fstat(handle.fileno()).st_size
                raise PromptTooLargeError(size=max(size, len(raw)), limit=limit, source=name)
            return raw
    except FileNotFoundError:
        raise FileAccessError(f"{name}: no such file", path=name) from None
    except IsADirectoryError:
        raise FileAccessError(f"{name}: is a directory, not a prompt file", path=name) from None
    except PermissionError:
        raise FileAccessError(f"{name}: permission denied", path=name) from None
    except OSError as exc:
        raise FileAccessError(f"{name}: cannot read ({exc.strerror})", path=name) from None


def default_wire(prompt: StructuredPrompt) -> str:
    """DEFAULT_STYLE text of a prompt built in Python (set fields only, FIBO order)."""
    data = prompt.model_dump(mode="json", exclude_unset=True)
    return render_value(data, DEFAULT_STYLE, 0)


def wire_data(prompt: StructuredPrompt) -> dict[str, Any]:
    """Plain JSON data of the wire string (a fresh copy each call)."""
    state = prompt._state
    data = state.get("data")
    if data is None:
        data = state["data"] = json.loads(prompt.wire)
    # callers may mutate what they get; the cache must stay the wire's truth
    return json.loads(json.dumps(data)) if data else {}


def to_json(prompt: StructuredPrompt, style: str | WireStyle) -> str:
    """Serialize a prompt in a named style or a WireStyle."""
    if style == "wire":
        return prompt.wire
    if style == "canonical":
        return prompt.canonical()
    if isinstance(style, str):
        styles = {"compact": DEFAULT_STYLE, "pretty": PRETTY_STYLE}
        if style not in styles:
            raise PromptError(
                f"unknown style {style!r}; use one of: wire, compact, pretty, canonical"
            )
        style = styles[style]
    text = render_value(prompt.to_dict(), style, 0)
    return text + "\n" if style.trailing_newline else text
