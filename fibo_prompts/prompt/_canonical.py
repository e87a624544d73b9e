"""The canonical form (hashing, equality, diffing) and the form FIBO's inference code feeds.

Both start from Bria's cleaner: ``null``, ``""``, ``[]`` and ``{}`` are dropped recursively
(FIBO ``parse_caption.py``: a ``boltons`` remap visitor). The canonical form is a *contract*:
changing it changes every content hash, so it only ever changes with a new hash tag.

Canonical form, version 1:
  1. clean as above;
  2. order keys by FIBO's field order (known keys), then unknown keys sorted by code point;
  3. keep list order (objects and text items are meaningful in order);
  4. serialize as ``json.dumps(..., separators=(",", ":"), ensure_ascii=True)``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fibo_prompts.prompt import _fields
from fibo_prompts.prompt._validate import key_order_for

_MODEL_KEYS: Final = _fields.TOP_LEVEL_ORDER[:-1]  # FIBO whitelists ten keys, not edit_instruction


def clean(value: Any) -> Any:
    """Drop ``null``, ``""``, ``[]`` and ``{}`` recursively, like Bria's cleaner."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            item = clean(item)
            if not _is_empty(item):
                out[key] = item
        return out
    if isinstance(value, list):
        return [item for item in (clean(v) for v in value) if not _is_empty(item)]
    return value


def _is_empty(value: Any) -> bool:
    # `0` and `False` are values, not emptiness; compare by type first
    return value is None or (isinstance(value, str | list | dict) and not value)


def _ordered(value: Any, parts: tuple[str | int, ...]) -> Any:
    if isinstance(value, dict):
        order = key_order_for(parts)
        known = [k for k in order if k in value]
        unknown = sorted(k for k in value if k not in order)
        return {k: _ordered(value[k], (*parts, k)) for k in known + unknown}
    if isinstance(value, list):
        return [_ordered(item, (*parts, index)) for index, item in enumerate(value)]
    return value


def canonical_data(data: dict[str, Any]) -> dict[str, Any]:
    """The canonical form as data (see the module docstring)."""
    result: dict[str, Any] = _ordered(clean(data), ())
    return result


def canonical_text(data: dict[str, Any]) -> str:
    """The canonical form as compact ASCII JSON text."""
    return json.dumps(canonical_data(data), separators=(",", ":"), ensure_ascii=True)


def model_text(data: dict[str, Any], *, edit: bool) -> str:
    """The prompt as FIBO's ``generate.py`` prepares it: cleaned, ten keys, quality scores."""
    keys = _MODEL_KEYS + ("edit_instruction",) if edit else _MODEL_KEYS
    cleaned = {k: v for k, v in clean(data).items() if k in keys}
    aesthetics = cleaned.get("aesthetics")
    if isinstance(aesthetics, dict):
        aesthetics.setdefault("preference_score", "very high")
        aesthetics.setdefault("aesthetic_score", "very high")
    return json.dumps(cleaned, separators=(",", ":"), ensure_ascii=True)
