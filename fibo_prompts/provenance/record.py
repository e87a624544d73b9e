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
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

__all__ = ["FORMAT_VERSION", "build_record", "infotext"]

#: The record format this version writes and reads; a higher number is refused with advice.
FORMAT_VERSION: Final = 1
#: Request parameters that get their own top-level field in the record.
_TOP_LEVEL: Final = ("steps", "guidance", "aspect_ratio", "negative_prompt")


@functools.cache
def _tool() -> str:
    # looked up once: importlib.metadata costs about 1 ms, on every generation otherwise
    from importlib.metadata import PackageNotFoundError, version

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
) -> dict[str, Any]:
    """The JSON record of one generation (see the module docstring).

    ``completed_at`` (epoch seconds) is left out for previews, so the same preview request
    gives the same file bytes every time.
    """
    created = None
    if completed_at is not None and not preview:
        created = datetime.fromtimestamp(completed_at, UTC).isoformat().replace("+00:00", "Z")
    wire_sha = None if wire is None else hashlib.sha256(wire.encode("utf-8")).hexdigest()
    return {
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
