"""BrandKit: the shipped kits, validation errors in the kit's own terms, file handling."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fibo_prompts.brand import BrandKit
from fibo_prompts.errors import BrandKitError, FileAccessError

ROOT = Path(__file__).resolve().parents[2]
NORTHWIND = ROOT / "templates" / "brands" / "northwind.yaml"
SPROUT = ROOT / "templates" / "brands" / "sprout_lab.yaml"


def minimal(**extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Acme",
        "version": "1.0",
        "palette": [{"name": "acme red", "hex": "#C0392B", "role": "primary"}],
    }
    data.update(extra)
    return data


def problems(data: dict[str, Any]) -> str:
    with pytest.raises(BrandKitError) as info:
        BrandKit.parse(data)
    return str(info.value)


def test_shipped_kits_load() -> None:
    northwind = BrandKit.load(NORTHWIND)
    sprout = BrandKit.load(SPROUT)
    assert northwind.name == "Northwind Coffee Roasters"
    assert northwind.version == "2.1.0"
    assert [c.name for c in northwind.palette] == [
        "espresso brown",
        "sage green",
        "copper",
        "oat cream",
        "charcoal",
    ]
    assert northwind.color("background").name == "oat cream"
    assert northwind.color("neutral").name == "espresso brown"  # no neutral: falls to primary
    assert northwind.derived_color_scheme() == (
        "espresso brown and sage green, copper accents, oat cream and charcoal neutrals"
    )
    assert northwind.type_style("tagline") is not None
    assert northwind.photographic.is_complete()
    assert sprout.style_medium == "digital illustration"
    assert sprout.photographic.is_empty()
    assert sprout.aspect_ratios == ["1:1", "9:16", "4:5"]


def test_template_data_fills_every_role_with_fallbacks() -> None:
    data = BrandKit.load(NORTHWIND).template_data()
    assert data["color"]["text"] == "charcoal"
    assert data["colors"]["accent"] == ["copper"]
    assert data["type"]["headline"] == {
        "font": "bold condensed serif typeface",
        "color": "espresso brown",
        "size": "large within frame",
    }
    # no subheadline style: the headline's font and colour, the role's default size
    assert data["type"]["subheadline"] == {
        "font": "bold condensed serif typeface",
        "color": "espresso brown",
        "size": "medium",
    }
    assert data["mood_text"] == "warm, unhurried, inviting, crafted"
    assert "lint" not in data
    assert BrandKit.load(SPROUT).template_data()["photographic"] is None


def test_hex_is_normalised() -> None:
    kit = BrandKit.parse(minimal(palette=[{"name": "x", "hex": "#abc", "role": "accent"}]))
    assert kit.palette[0].hex == "#AABBCC"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            minimal(palette=[{"name": "x", "hex": "#12345G", "role": "primary"}]),
            "1 problem in brand kit:\n  palette[0].hex: '#12345G' is not a hex colour; write "
            "'#RRGGBB' or '#RGB' (and quote it in YAML, where '#' starts a comment)",
        ),
        (
            minimal(palette=[{"name": "x", "hex": "0F5257", "role": "primary"}]),
            "1 problem in brand kit:\n  palette[0].hex: '0F5257' is not a hex colour; write "
            "'#RRGGBB' or '#RGB' (and quote it in YAML, where '#' starts a comment)",
        ),
        (
            minimal(palette=[{"name": "x", "hex": None, "role": "primary"}]),
            "1 problem in brand kit:\n  palette[0].hex: expected a hex colour; in YAML quote "
            "it ('#0F5257'), '#' starts a comment",
        ),
        (
            minimal(palette=[{"name": "x", "hex": "#000000", "role": "primery"}]),
            "1 problem in brand kit:\n  palette[0].role: unknown role 'primery' (did you mean "
            "'primary'?); use one of: primary, secondary, accent, neutral, background, text",
        ),
        (
            minimal(typography=[{"role": "headlin", "font": "serif"}]),
            "1 problem in brand kit:\n  typography[0].role: unknown role 'headlin' (did you "
            "mean 'headline'?); use one of: headline, subheadline, body, caption, tagline, "
            "call_to_action, label",
        ),
        (
            minimal(pallete=[]),
            "1 problem in brand kit:\n  pallete: unknown field (did you mean 'palette'?)",
        ),
        (
            minimal(typography=[{"role": "body", "font": "serif", "color": "acme rde"}]),
            "1 problem in brand kit:\n  typography[0].color: 'acme rde' is not a palette "
            "colour (did you mean 'acme red'?)",
        ),
        (
            minimal(
                palette=[
                    {"name": "Red", "hex": "#FF0000", "role": "primary"},
                    {"name": "red", "hex": "#EE0000", "role": "accent"},
                ]
            ),
            "1 problem in brand kit:\n  palette[1]: duplicate colour name 'red'",
        ),
        (
            minimal(aspect_ratios=["16x9"]),
            "1 problem in brand kit:\n  aspect_ratios[0]: '16x9' is not an aspect ratio; "
            "write 'W:H', e.g. '16:9'",
        ),
        (
            minimal(required=[{"kind": "tagline", "description": "the tagline"}]),
            "1 problem in brand kit:\n  a required tagline needs the kit's 'tagline'",
        ),
        (
            minimal(required=[{"kind": "object", "description": "a product"}]),
            "1 problem in brand kit:\n  required[0]: a required object needs 'any_of': the "
            "terms to look for",
        ),
        (
            minimal(version=2),
            "1 problem in brand kit:\n  version: expected string, got a number",
        ),
        (
            {"name": "Acme", "palette": []},
            "2 problems in brand kit:\n  version: missing required field\n  palette: List "
            "should have at least 1 item after validation, not 0",
        ),
        (
            minimal(name="Acme \ue000"),
            "1 problem in brand kit:\n  text holds a reserved private-use character (U+E000 "
            "to U+E003)",
        ),
    ],
)
def test_invalid_kits_name_the_problem(data: dict[str, Any], message: str) -> None:
    assert problems(data) == message


def test_kit_file_errors(tmp_path: Path) -> None:
    with pytest.raises(FileAccessError) as missing:
        BrandKit.load(tmp_path / "nope.yaml")
    assert str(missing.value) == f"{tmp_path / 'nope.yaml'}: no such brand kit file"

    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"name: Acme\ndescription: caf\xe9\n")
    with pytest.raises(BrandKitError) as not_utf8:
        BrandKit.load(latin)
    assert str(not_utf8.value) == f"{latin}: line 2: not UTF-8 (byte 0xe9 at offset 27)"

    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [Acme\n", encoding="utf-8")
    with pytest.raises(BrandKitError) as not_yaml:
        BrandKit.load(broken)
    assert str(not_yaml.value).startswith(f"{broken}: line 2 column 1: not valid YAML")

    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(BrandKitError) as not_mapping:
        BrandKit.load(listed)
    assert str(not_mapping.value) == f"{listed}: a brand kit is a mapping of fields, not list"

    unquoted = tmp_path / "unquoted.yaml"
    unquoted.write_text(
        "name: Acme\nversion: '1'\npalette:\n  - name: red\n    role: primary\n    hex: #FF0000\n",
        encoding="utf-8",
    )
    with pytest.raises(BrandKitError) as comment:
        BrandKit.load(unquoted)
    assert str(comment.value) == (
        f"{unquoted}: 1 problem in brand kit:\n  palette[0].hex: expected a hex colour; in YAML "
        "quote it ('#0F5257'), '#' starts a comment"
    )


def test_json_kit(tmp_path: Path) -> None:
    path = tmp_path / "kit.json"
    path.write_text(json.dumps(minimal(mood=["bold"])), encoding="utf-8")
    assert BrandKit.load(path).mood == ["bold"]
    path.write_text("{", encoding="utf-8")
    with pytest.raises(BrandKitError) as info:
        BrandKit.load(path)
    assert str(info.value).startswith(f"{path}: line 1 column 2: not JSON")


def test_aspect_ratios() -> None:
    kit = BrandKit.load(NORTHWIND)
    assert kit.allows_aspect_ratio("16:9")
    assert kit.allows_aspect_ratio(" 4:5 ")
    assert not kit.allows_aspect_ratio("9:16")
    assert not kit.allows_aspect_ratio("wide")
    assert BrandKit.parse(minimal()).allows_aspect_ratio("21:9")


def test_a_copied_kit_does_not_share_caches() -> None:
    from fibo_prompts.brand import lint, load_template

    kit = BrandKit.load(NORTHWIND)
    hero = load_template("product_hero")
    first = hero.render(kit, {"product": "a mug of coffee"})
    assert lint(first, kit) == []
    lighting = kit.lighting.model_copy(update={"conditions": "neon glow"})
    changed = kit.model_copy(update={"lighting": lighting})
    second = hero.render(changed, {"product": "a mug of coffee"})
    assert second.get("lighting.conditions") == "neon glow"
    assert [f.rule for f in lint(second, changed)] == ["forbidden-term"]
    assert first.get("lighting.conditions") == "soft morning window light"
