"""The brand kit's JSON Schema: generated, checked in, and true to the shipped kits."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from fibo_prompts.brand import brand_kit_schema, brand_kit_schema_text

ROOT = Path(__file__).resolve().parents[2]
SCHEMA_FILE = ROOT / "schemas" / "brand_kit.schema.json"
KITS = sorted((ROOT / "templates" / "brands").glob("*.yaml"))


def test_checked_in_schema_is_current() -> None:
    # regenerate with: python -c "from fibo_prompts.brand import brand_kit_schema_text; ..."
    # (or `fibo schema --export schemas` once it writes the brand kit schema too)
    assert SCHEMA_FILE.read_text(encoding="utf-8") == brand_kit_schema_text()


def test_schema_head() -> None:
    schema = brand_kit_schema()
    assert list(schema)[:3] == ["$schema", "$id", "title"]
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["additionalProperties"] is False
    palette_color = schema["$defs"]["PaletteColor"]
    assert palette_color["properties"]["role"]["enum"] == [
        "primary",
        "secondary",
        "accent",
        "neutral",
        "background",
        "text",
    ]
    assert palette_color["properties"]["hex"]["pattern"] == "^#(?:[0-9a-fA-F]{6}|[0-9a-fA-F]{3})$"
    jsonschema.Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("kit", KITS, ids=[k.stem for k in KITS])
def test_shipped_kits_validate_against_the_schema(kit: Path) -> None:
    data = yaml.safe_load(kit.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(json.loads(brand_kit_schema_text())).validate(data)


def test_schema_rejects_a_bad_hex() -> None:
    validator = jsonschema.Draft202012Validator(brand_kit_schema())
    bad = {
        "name": "x",
        "version": "1",
        "palette": [{"name": "x", "hex": "red", "role": "primary"}],
    }
    assert [e.json_path for e in validator.iter_errors(bad)] == ["$.palette[0].hex"]
