"""The provenance record (format 1): what an image carries so it can be reproduced from itself.

The record is JSON. It holds every generation parameter, the backend, model and request id,
timings, hashes of the prompt, and the library version once saved; the exact wire string
travels beside it (``fibo:structured_prompt``), never re-serialized. It never holds a key:
it is built only from the generation's own fields, and URLs lose their query strings and
credentials (signed URLs carry tokens there).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

from fibo_prompts._jsontree import json_kind

__all__ = ["FORMAT_VERSION", "SEED_RANGE", "build_record", "check_record", "infotext"]

#: The record format this version writes and reads; a higher number is refused with advice.
FORMAT_VERSION: Final = 1
#: The seeds a record may hold: the widest range any backend declares (bria, inferencesh,
#: preview and diffusers take 0..2,147,483,647; segmind 1..999,999,999).
SEED_RANGE: Final = (0, 2_147_483_647)
#: A record is three levels deep (record → parameters → a list of image hashes); more is junk.
MAX_RECORD_DEPTH: Final = 16
#: Request parameters that get their own top-level field in the record.
_TOP_LEVEL: Final = ("steps", "guidance", "aspect_ratio", "negative_prompt")


@functools.cache
def _tool() -> str:
    # looked up once: importlib.metadata costs about 1 ms, on every generation otherwise
    try:
        return f"fibo-prompts {version('fibo-prompts')}"
    except PackageNotFoundError:  # running from a source tree that is not installed
        return "fibo-prompts"


def _safe_url(value: str) -> str:
    """A URL without credentials, query or fragment; inline data as its hash."""
    if value.startswith("data:") or "://" not in value:
        return "sha256:" + hashlib.sha256(value.encode("utf-8")).hexdigest()
    parts = urlsplit(value)
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _clean_parameters(parameters: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in parameters.items():
        if key in _TOP_LEVEL or key in ("seed", "text") or value is None:
            continue
        if key == "webhook_url" and isinstance(value, str):
            value = _safe_url(value)
        elif key == "images" and isinstance(value, list | tuple):
            value = [_safe_url(str(item)) for item in value]
        out[key] = value
    return out


def build_record(
    *,
    backend: str,
    model: str,
    preview: bool,
    request_id: str,
    seed: int,
    parameters: Mapping[str, Any],
    text: str | None,
    wire: str | None,
    content_hash: str | None,
    width: int,
    height: int,
    media_type: str,
    timings: Mapping[str, float | None],
    cost: float | None,
    completed_at: float | None,
    received_sha256: str,
    library: Mapping[str, str] | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """The JSON record of one generation (see the module docstring).

    ``completed_at`` (epoch seconds) is left out for previews, so the same preview request
    gives the same file bytes every time. ``warnings`` (the service's, e.g. Bria's IP
    signal) are stored only when there are some, so a record without them reads as before.
    """
    created = None
    if completed_at is not None and not preview:
        created = datetime.fromtimestamp(completed_at, UTC).isoformat().replace("+00:00", "Z")
    wire_sha = None if wire is None else hashlib.sha256(wire.encode("utf-8")).hexdigest()
    record = {
        "format": FORMAT_VERSION,
        "tool": _tool(),
        "backend": backend,
        "model": model,
        "preview": preview,
        "request_id": request_id,
        "seed": seed,
        **{key: parameters.get(key) for key in _TOP_LEVEL},
        "text": text,
        "parameters": _clean_parameters(parameters),
        "width": width,
        "height": height,
        "media_type": media_type,
        "timings": dict(timings),
        "cost": cost,
        "created_at": created,
        "prompt": None
        if wire is None
        else {
            "wire_sha256": f"sha256:{wire_sha}",
            "content_hash": content_hash,
            "wire_chars": len(wire),
        },
        "received_sha256": f"sha256:{received_sha256}",
        "library": dict(library) if library else None,
    }
    if warnings:
        record["warnings"] = list(warnings)
    return record


def _quote(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    # A1111's rule: a value containing a comma, colon or newline is JSON-quoted
    if any(ch in text for ch in ",:\n"):
        return json.dumps(text, ensure_ascii=False)
    return text


def infotext(record: Mapping[str, Any], summary: str | None) -> str:
    """The A1111-style ``parameters`` text, so common image browsers show prompt and seed.

    ``summary`` (the prompt's short description, or the text prompt) is the first line; then
    ``Negative prompt:`` when set; then ``Key: value`` pairs.
    """
    lines = [" ".join((summary or "").split()) or "FIBO structured prompt"]
    if record.get("negative_prompt"):
        lines.append("Negative prompt: " + " ".join(str(record["negative_prompt"]).split()))
    pairs = {
        "Steps": record.get("steps"),
        "CFG scale": record.get("guidance"),
        "Seed": record.get("seed"),
        "Size": f"{record.get('width')}x{record.get('height')}",
        "Aspect ratio": record.get("aspect_ratio"),
        "Model": record.get("model"),
        "Backend": record.get("backend"),
        "Request id": record.get("request_id"),
        "Preview": "true" if record.get("preview") else None,
        "Version": record.get("tool"),
    }
    lines.append(", ".join(f"{k}: {_quote(v)}" for k, v in pairs.items() if v is not None))
    return "\n".join(lines)


# ---------------------------------------------------------------------- reading


def _kind(value: Any) -> str:
    """What a JSON value is, for messages: ``1.5``, ``true``, ``a string``, ``an object``."""
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int | float):
        text = json.dumps(value)
        return text if len(text) <= 24 else f"a number of {len(text):,} characters"
    return json_kind(value)


def _is_int(value: Any) -> bool:
    return type(value) is int  # bool is an int to Python, never to a record


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _is_bool(value: Any) -> bool:
    return isinstance(value, bool)


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _is_str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "an integer": _is_int,
    "a number": _is_number,
    "a string": _is_str,
    "true or false": _is_bool,
    "an object": _is_object,
    "a list of strings": _is_str_list,
}
#: Field → the JSON type it must have when present and not null (format and seed are
#: checked on their own: the reader needs them, with their ranges).
_FIELDS: Final = {
    "backend": "a string",
    "request_id": "a string",
    "tool": "a string",
    "model": "a string",
    "preview": "true or false",
    "steps": "an integer",
    "guidance": "a number",
    "aspect_ratio": "a string",
    "negative_prompt": "a string",
    "text": "a string",
    "parameters": "an object",
    "width": "an integer",
    "height": "an integer",
    "media_type": "a string",
    "timings": "an object",
    "cost": "a number",
    "created_at": "a string",
    "prompt": "an object",
    "received_sha256": "a string",
    "library": "an object",
    "warnings": "a list of strings",
}
_NESTED: Final = {
    "prompt": {"wire_sha256": "a string", "content_hash": "a string", "wire_chars": "an integer"},
    "library": {"name": "a string", "version": "a string"},
}
_REQUIRED: Final = ("seed", "backend", "request_id")


def check_record(record: Mapping[str, Any]) -> str | None:
    """What is wrong with a record read from an image (``"seed: expected an integer, got
    1.5"``), or ``None`` when every field has its type; ``format`` is checked by the caller.

    Untrusted input: a record may come from any file. Unknown fields are allowed (a newer
    fibo-prompts of the same format may add some); known ones must have their types, so
    ``inspect`` and ``reproduce`` never act on a seed of 1.5 or a ``parameters`` string.
    """
    for key in _REQUIRED:
        if key not in record:
            return f"no {key!r}"
    seed = record["seed"]
    low, high = SEED_RANGE
    if not _is_int(seed):
        return f"seed: expected an integer, got {_kind(seed)}"
    if not low <= seed <= high:
        return f"seed: {seed} is outside {low}..{high:,}"
    for key, expected in _FIELDS.items():
        value = record.get(key)
        if value is not None and not _TYPES[expected](value):
            return f"{key}: expected {expected}, got {_kind(value)}"
    for key, fields in _NESTED.items():
        inner = record.get(key) or {}
        for name, expected in fields.items():
            value = inner.get(name)
            if value is not None and not _TYPES[expected](value):
                return f"{key}.{name}: expected {expected}, got {_kind(value)}"
    for name, value in (record.get("timings") or {}).items():
        if value is not None and not _is_number(value):
            return f"timings.{name}: expected a number, got {_kind(value)}"
    for key in ("steps", "width", "height"):
        value = record.get(key)
        if value is not None and value < 0:
            return f"{key}: {value} is negative"
    return None
