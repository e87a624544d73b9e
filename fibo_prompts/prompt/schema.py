"""JSON Schemas (draft 2020-12) generated from the models: strict and lenient profiles.

The pydantic models are the source of truth; the checked-in files under ``schemas/`` are
written by ``fibo schema --export schemas`` (see :mod:`fibo_prompts.schemas`) and a test fails
when they are stale.

- strict (authoring): ``additionalProperties: false`` everywhere, so a typo such as
  ``lightning`` is an error; editors use it to autocomplete from descriptions and examples.
- lenient (API responses, raw VLM output): unknown keys allowed.
"""

from __future__ import annotations

import json
from typing import Any, Final

from fibo_prompts.prompt.models import StructuredPrompt

__all__ = ["SCHEMA_FILES", "prompt_schema", "schema_text"]

DRAFT: Final = "https://json-schema.org/draft/2020-12/schema"

#: File name of each generated schema, by profile.
SCHEMA_FILES: Final = {
    "strict": "structured_prompt.schema.json",
    "lenient": "structured_prompt.lenient.schema.json",
}


def prompt_schema(*, lenient: bool = False) -> dict[str, Any]:
    """The JSON Schema of a structured prompt in the strict or lenient profile."""
    schema = StructuredPrompt.model_json_schema()
    profile = "lenient" if lenient else "strict"
    _set_additional(schema, allowed=lenient)
    for definition in schema.get("$defs", {}).values():
        _set_additional(definition, allowed=lenient)
    title = (
        "FIBO structured prompt (lenient: unknown keys allowed)"
        if lenient
        else "FIBO structured prompt (strict authoring profile)"
    )
    head = {
        "$schema": DRAFT,
        "$id": f"https://fibo-prompts.dev/schemas/{SCHEMA_FILES[profile]}",
        "title": title,
    }
    schema.pop("title", None)
    return {**head, **schema}


def _set_additional(schema: dict[str, Any], *, allowed: bool) -> None:
    if schema.get("type") == "object":
        schema["additionalProperties"] = allowed


def schema_text(*, lenient: bool = False) -> str:
    """The schema as the exact text of its checked-in file (stable, 2-space indent)."""
    return json.dumps(prompt_schema(lenient=lenient), indent=2, ensure_ascii=False) + "\n"
