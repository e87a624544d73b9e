"""Hostile brand input: YAML alias bombs, deep or huge kits and variables, and templates that
try to exhaust time or memory through the sandbox (issue 13, items 11, 12 and 16)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.brand import BrandKit, load_template
from fibo_prompts.cli._brand import register
from fibo_prompts.errors import BrandKitError, FiboPromptsError

ROOT = Path(__file__).resolve().parents[2]
KIT_PATH = ROOT / "templates" / "brands" / "northwind.yaml"
KIT_TEXT = KIT_PATH.read_text(encoding="utf-8")
NORTHWIND = BrandKit.load(KIT_PATH)
DIGITS = "9" * 5000

app = typer.Typer(rich_markup_mode=None)
register(app)


def cli(*args: str) -> tuple[int, str, str]:
    """Run the brand commands; a traceback (an uncaught exception) fails the test."""
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def alias_bomb(levels: int = 9) -> str:
    """A few hundred bytes of YAML whose aliases expand to 9**levels strings."""
    lines = ['a0: &a0 ["' + "x" * 10 + '"' + ', "xxxxxxxxxx"' * 8 + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    lines.append(f"mood: *a{levels - 1}")
    return "\n".join(lines) + "\n"


VALID_REST = (
    "short_description: s\nbackground_setting: b\nlighting: {conditions: a, direction: b}\n"
    "aesthetics: {composition: a, color_scheme: b, mood_atmosphere: c}\n"
)


def write_template(directory: Path, name: str, body: str, **variables: str) -> Path:
    """A build template ``name.yaml.j2`` declaring ``variables`` (name=type)."""
    declared = "".join(f"  {var}: {{type: {kind}}}\n" for var, kind in variables.items())
    head = f"{{#-\nname: {name}\ndescription: test\nkind: build\n"
    head += f"variables:\n{declared}" if declared else ""
    path = directory / f"{name}.yaml.j2"
    path.write_text(head + "-#}\n" + body + VALID_REST, encoding="utf-8")
    return path


def _deep_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# ---------------------------------------------------------------------- brand kits


def test_yaml_aliases_in_a_kit_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(KIT_TEXT + alias_bomb(), encoding="utf-8")
    with pytest.raises(BrandKitError) as info:
        BrandKit.load(path)
    line = KIT_TEXT.count("\n") + 2  # the first alias: a1: &a1 [*a0, ...
    assert str(info.value) == (
        f"{path}: line {line} column 10: YAML aliases (*name) are not allowed; "
        "write the value out in full"
    )


def test_a_merge_key_is_an_alias_too() -> None:
    text = "base: &base {name: x}\n<<: *base\nversion: '1'\n"
    with pytest.raises(BrandKitError, match="line 2 column 5: YAML aliases"):
        BrandKit.parse(text, source_name="kit.yaml")


def test_a_100000_deep_json_kit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"name": ' + _deep_json(100_000) + "}", encoding="utf-8")
    with pytest.raises(BrandKitError) as info:
        BrandKit.load(path)
    assert str(info.value) == f"{path}: nested deeper than 100 levels"


def test_a_150_deep_kit_value_is_refused() -> None:
    data: Any = "x"
    for _ in range(150):
        data = [data]
    with pytest.raises(BrandKitError) as info:
        BrandKit.parse({"name": "x", "version": "1", "mood": data})
    assert str(info.value) == "mood[0][0]...: nested deeper than 100 levels"
    with pytest.raises(BrandKitError, match="^kit.json: mood"):
        BrandKit.parse(json.dumps({"mood": data}), source_name="kit.json")


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_an_integer_of_5000_digits_in_a_kit_is_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big{suffix}"
    if suffix == ".json":
        path.write_text('{"name": "x",\n "version": ' + DIGITS + "}", encoding="utf-8")
        where = "line 2 column 13: a number of more than 4,300 digits"
    else:
        path.write_text("name: x\nversion: " + DIGITS + "\n", encoding="utf-8")
        where = "line 2 column 10: a number of more than 4,300 digits"
    with pytest.raises(BrandKitError) as info:
        BrandKit.load(path)
    assert str(info.value) == f"{path}: {where}"


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_duplicate_keys_in_a_kit_are_refused(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"dup{suffix}"
    if suffix == ".json":
        path.write_text('{"name": "a",\n "name": "b"}', encoding="utf-8")
        where = "duplicate key 'name'"
    else:
        path.write_text("name: a\nname: b\n", encoding="utf-8")
        where = "line 2 column 1: duplicate key 'name'"
    with pytest.raises(BrandKitError) as info:
        BrandKit.load(path)
    assert str(info.value) == f"{path}: {where}"


def test_non_finite_numbers_in_a_kit_are_refused() -> None:
    text = (
        "name: x\nversion: '1'\npalette: [{name: a, hex: '#000000', role: primary}]\n"
        "lint: {palette_tolerance: .inf}\n"
    )
    with pytest.raises(BrandKitError) as info:
        BrandKit.parse(text, source_name="kit.yaml")
    assert str(info.value) == "kit.yaml: lint.palette_tolerance: inf is not a finite number"


# ---------------------------------------------------------------------- through the CLI


@pytest.fixture
def vars_file(tmp_path: Path) -> Any:
    def write(text: str) -> str:
        path = tmp_path / "vars.yaml"
        path.write_text(text, encoding="utf-8")
        return str(path)

    return write


def test_cli_vars_alias_bomb(vars_file: Any) -> None:
    path = vars_file(alias_bomb())
    code, out, err = cli("render", "product_hero", "--brand", str(KIT_PATH), "--vars", path)
    assert (code, out, err) == (
        1,
        "",
        f"error: --vars {path}: line 2 column 10: YAML aliases (*name) are not allowed; "
        "write the value out in full\n",
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("product: " + DIGITS + "\n", "line 1 column 10: a number of more than 4,300 digits"),
        ("product: a\nproduct: b\n", "line 2 column 1: duplicate key 'product'"),
        (
            '{"product": ' + _deep_json(100_000) + "}",
            "line 1 column 1012: not valid YAML or JSON (exceeded",
        ),
    ],
)
def test_cli_vars_file_errors_are_one_line(vars_file: Any, text: str, message: str) -> None:
    path = vars_file(text)
    code, out, err = cli("render", "product_hero", "--brand", str(KIT_PATH), "--vars", path)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: --vars {path}: {message}")
    assert err.count("\n") == 1


def test_cli_long_integer_variable_is_one_short_line(tmp_path: Path) -> None:
    template = write_template(tmp_path, "count", "context: '{{ n }} things'\n", n="int")
    code, out, err = cli("render", str(template), "--brand", str(KIT_PATH), "--var", f"n={DIGITS}")
    assert (code, out) == (1, "")
    assert err == (
        f"error: {template}: variable 'n' (int): expected a whole number, "
        "got text of 5,000 characters\n"
    )


@pytest.mark.parametrize("command", ["render", "lint", "brand"])
@pytest.mark.parametrize(
    "kit",
    [
        '{"name": ' + _deep_json(100_000) + "}",
        '{"name": "x", "version": ' + DIGITS + "}",
        '{"name": "x", "name": "y"}',
    ],
)
def test_cli_hostile_kits_give_one_line(tmp_path: Path, command: str, kit: str) -> None:
    path = tmp_path / "kit.json"
    path.write_text(kit, encoding="utf-8")
    prompt = str(ROOT / "examples" / "product_shot.json")
    args = {
        "render": ["render", "product_hero", "--var", "product=beans"],
        "lint": ["lint", prompt],
        "brand": ["brand", "apply", prompt],
    }[command]
    code, out, err = cli(*args, "--brand", str(path))
    assert (code, out) == (1, "")
    assert err in (
        f"error: {path}: nested deeper than 100 levels\n",
        f"error: {path}: line 1 column 26: a number of more than 4,300 digits\n",
        f"error: {path}: duplicate key 'name'\n",
    )


def test_api_errors_are_fibo_prompts_errors() -> None:
    for bad in ("[" * 100_000, "name: " + DIGITS, alias_bomb()):
        with pytest.raises(FiboPromptsError):
            BrandKit.parse(bad)
    template = load_template("product_hero")
    with pytest.raises(FiboPromptsError):
        template.render(NORTHWIND, {"product": "x", "detail": int(DIGITS[:4000]) ** 2})
