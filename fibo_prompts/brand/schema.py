"""The JSON Schema (draft 2020-12) of a brand kit, generated from :class:`BrandKit`.

The checked-in ``schemas/brand_kit.schema.json`` is exactly :func:`brand_kit_schema_text`; a
test regenerates it and fails on any byte difference, so a kit-model change is a reviewed diff.
"""

from __future__ import annotations

import json
from typing import Any, Final

__all__ = ["BRAND_KIT_SCHEMA_FILE", "brand_kit_schema", "brand_kit_schema_text"]

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"
#: File name of the generated schema under ``schemas/``.
BRAND_KIT_SCHEMA_FILE: Final = "brand_kit.schema.json"


def brand_kit_schema() -> dict[str, Any]:
    """The brand kit's JSON Schema as a dict (``$schema``, ``$id`` and title first)."""
    from fibo_prompts.brand.kit import BrandKit

    schema = BrandKit.model_json_schema()
    schema.pop("title", None)
    head = {
        "$schema": DRAFT,
        "$id": f"https://fibo-prompts.dev/schemas/{BRAND_KIT_SCHEMA_FILE}",
        "title": "fibo_prompts brand kit",
    }
    return {**head, **schema}


def brand_kit_schema_text() -> str:
    """The schema as the exact text of ``schemas/brand_kit.schema.json`` (2-space indent)."""
    return json.dumps(brand_kit_schema(), indent=2, ensure_ascii=False) + "\n"
