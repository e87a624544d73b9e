"""fibo templates / render / lint / brand apply: exact output and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.brand import BrandKit, load_template
from fibo_prompts.cli._brand import register
from fibo_prompts.prompt import StructuredPrompt

ROOT = Path(__file__).resolve().parents[2]
KIT = "templates/brands/northwind.yaml"

app = typer.Typer(rich_markup_mode=None)
register(app)
runner = CliRunner()


@pytest.fixture(autouse=True)
def at_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Paths in messages are shown relative to the working directory."""
    monkeypatch.chdir(ROOT)


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_templates_list() -> None:
    code, out, err = run("templates", "list")
    assert (code, err) == (0, "")
    assert out == (
        "flat_lay          build  Several products laid flat in a neat grid and shot from "
        "directly above.\n"
        "lifestyle_person  build  A person using the product in everyday life, in the brand's "
        "light and mood.\n"
        "product_hero      build  One product alone on a surface, lit and framed the brand's "
        "way.\n"
        "seasonal_variant  edit   Turn an existing prompt into a seasonal variant.\n"
        "social_post       build  A square social-media post.\n"
    )


def test_templates_list_with_a_user_directory(tmp_path: Path) -> None:
    (tmp_path / "aaa.yaml.j2").write_text(
        "{#-\nname: aaa\ndescription: Mine. Really.\nkind: build\n-#}\nshort_description: x\n",
        encoding="utf-8",
    )
    code, out, _ = run("templates", "list", "--dir", str(tmp_path))
    assert code == 0
    assert out.splitlines()[0] == "aaa               build  Mine."


def test_templates_show_text() -> None:
    code, out, _ = run("templates", "show", "seasonal_variant")
    assert code == 0
    assert out == (
        "seasonal_variant (edit)  templates/seasonal_variant.yaml.j2\n"
        "Turn an existing prompt into a seasonal variant: light, mood, setting and context "
        "change for the season; the scene, the products and everything else keep their exact "
        "bytes.\n"
        "Applied to an existing prompt: fibo render ... --base PROMPT\n"
        "\n"
        "Variables:\n"
        "  season  str        required\n"
        "      The season of the variant.\n"
        "      one of: winter, spring, summer, autumn\n"
        '      e.g. "winter"\n'
        "  touch   str        optional\n"
        "      A seasonal detail added to the background; by default one per season.\n"
        '      e.g. "a string of warm fairy lights along the shelf"\n'
    )


def test_templates_show_json() -> None:
    code, out, _ = run("templates", "show", "flat_lay", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert data == load_template("flat_lay").to_dict()
    assert data["variables"][0] == {
        "name": "products",
        "description": "The products, one description each (2 to 5); a JSON list or "
        "comma-separated.",
        "type": "list[str]",
        "required": True,
        "default": None,
        "examples": [["a bag of coffee beans", "a ceramic pour-over dripper", "a copper kettle"]],
        "choices": None,
        "min_items": 2,
        "max_items": 5,
    }


def test_templates_show_unknown() -> None:
    code, out, err = run("templates", "show", "hero")
    assert (code, out) == (1, "")
    assert err == (
        "error: no template named 'hero' (available: flat_lay, lifestyle_person, product_hero, "
        "seasonal_variant, social_post)\n"
    )


def test_render_build_matches_the_library(tmp_path: Path) -> None:
    code, out, err = run(
        "render", "product_hero", "--brand", KIT, "--var", "product=a bag of coffee beans"
    )
    assert (code, err) == (0, "")
    kit = BrandKit.load(KIT)
    expected = load_template("product_hero").render(kit, {"product": "a bag of coffee beans"})
    assert out == expected.wire + "\n"


def test_render_vars_file_and_overrides(tmp_path: Path) -> None:
    variables = tmp_path / "vars.yaml"
    variables.write_text(
        "products: [a bag of coffee beans, a mug]\nsurface: a slate board\n", encoding="utf-8"
    )
    target = tmp_path / "out.json"
    code, out, err = run(
        "render",
        "flat_lay",
        "-b",
        KIT,
        "--vars",
        str(variables),
        "--var",
        "surface=a sheet of paper",
        "-o",
        str(target),
    )
    assert (code, out, err) == (0, "", "")
    prompt = StructuredPrompt.load(target)
    assert len(prompt.get("objects")) == 2
    assert prompt.get("background_setting").startswith("A sheet of paper in oat cream")


def test_render_edit_with_base(tmp_path: Path) -> None:
    code, out, err = run(
        "render",
        "seasonal_variant",
        "--brand",
        KIT,
        "--var",
        "season=winter",
        "--base",
        "examples/product_shot.json",
    )
    assert code == 0
    assert err == (
        "changed: short_description\nchanged: background_setting\nchanged: lighting.conditions"
        "\nchanged: aesthetics.mood_atmosphere\nchanged: context\n"
    )
    edited = StructuredPrompt.parse(out.removesuffix("\n"))
    assert edited.get("lighting.conditions") == "crisp, low winter daylight"
    # the base's pretty style is kept
    assert out.startswith('{\n  "short_description": ')


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (
            ["seasonal_variant", "--var", "season=winter"],
            2,
            "error: seasonal_variant is an edit template: give the prompt to edit with --base\n",
        ),
        (
            ["product_hero", "--var", "product=x", "--base", "examples/minimal.json"],
            2,
            "error: product_hero is a build template: --base is for edit templates\n",
        ),
        (["product_hero", "--var", "product"], 2, "error: --var 'product': write NAME=VALUE\n"),
        (
            ["product_hero"],
            1,
            "error: templates/product_hero.yaml.j2: missing template variable: 'product'; "
            "pass --var NAME=VALUE\n",
        ),
        (
            ["product_hero", "--var", "prodcut=x"],
            1,
            "error: templates/product_hero.yaml.j2: unknown template variable 'prodcut' (did "
            "you mean 'product'?); product_hero takes: product, colors, surface, detail, "
            "purpose\n",
        ),
        (
            ["seasonal_variant", "--var", "season=fall", "--base", "examples/minimal.json"],
            1,
            "error: templates/seasonal_variant.yaml.j2: variable 'season' (str): 'fall' is not "
            "one of: winter, spring, summer, autumn\n",
        ),
    ],
)
def test_render_errors(args: list[str], code: int, message: str) -> None:
    result = run("render", *args, "--brand", KIT)
    assert result == (code, "", message)


def test_render_bad_kit(tmp_path: Path) -> None:
    kit = tmp_path / "kit.yaml"
    kit.write_text(
        "name: X\nversion: '1'\npalette:\n  - {name: x, hex: '#GGGGGG', role: primary}\n",
        encoding="utf-8",
    )
    code, out, err = run("render", "product_hero", "--brand", str(kit), "--var", "product=x")
    assert (code, out) == (1, "")
    assert err == (
        f"error: {kit}: 1 problem in brand kit:\n  palette[0].hex: '#GGGGGG' is not a hex "
        "colour; write '#RRGGBB' or '#RGB' (and quote it in YAML, where '#' starts a comment)\n"
    )


def test_lint_clean_and_dirty(tmp_path: Path) -> None:
    code, out, err = run("lint", "examples/product_shot.json", "--brand", KIT)
    assert (code, out, err) == (0, "", "1 file: no findings\n")

    code, out, err = run("lint", "examples/product_shot.json", "examples/portrait.json", "-b", KIT)
    assert code == 1
    assert out == (
        "examples/portrait.json:1:163: objects: error: no object shows a Northwind coffee "
        "product (looked for: coffee, mug, cup, beans, pour-over, kettle, espresso) "
        "[missing-required] (add an object whose description names one of: coffee, mug, cup, "
        "beans, pour-over, kettle, espresso)\n"
        "examples/portrait.json:1:444: objects[0].shape_and_color: warning: 'blue' is "
        "off-palette: the nearest brand colour is charcoal (#2E2B28), ΔE2000 37.3 > 20 "
        "[off-palette] (use 'charcoal')\n"
        "examples/portrait.json:1:1464: aesthetics.color_scheme: warning: 'blue' is "
        "off-palette: the nearest brand colour is charcoal (#2E2B28), ΔE2000 37.3 > 20 "
        "[off-palette] (use 'charcoal')\n"
    )
    assert err == "2 files: 1 error, 2 warnings\n"


def test_lint_warnings_only_exit_0(tmp_path: Path) -> None:
    prompt = StructuredPrompt.load("examples/product_shot.json")
    path = tmp_path / "p.json"
    path.write_text(prompt.set("background_setting", "a navy wall").wire, encoding="utf-8")
    code, out, err = run("lint", str(path), "--brand", KIT)
    assert code == 0
    assert out.startswith(f"{path}:23:3: background_setting: warning: 'navy' is off-palette")
    assert err == "1 file: 1 warning\n"


def test_lint_json_and_unreadable_files(tmp_path: Path) -> None:
    code, out, _ = run(
        "lint",
        "examples/minimal.json",
        str(tmp_path / "gone.json"),
        "-b",
        KIT,
        "--format",
        "json",
    )
    assert code == 1
    reports = json.loads(out)
    assert [r["file"] for r in reports] == ["examples/minimal.json", str(tmp_path / "gone.json")]
    assert reports[0]["errors"] == 1
    first = reports[0]["findings"][0]
    assert set(first) == {"path", "severity", "rule", "message", "suggestion", "line", "column"}
    assert [(f["rule"], f["line"]) for f in reports[0]["findings"]] == [
        ("missing-required", 1),
        ("off-palette", 1),
    ]
    assert reports[1] == {
        "file": str(tmp_path / "gone.json"),
        "error": f"{tmp_path / 'gone.json'}: no such file",
        "errors": 0,
        "findings": [],
    }


def test_lint_stdin_and_aspect_ratio() -> None:
    text = Path("examples/product_shot.json").read_text(encoding="utf-8")
    code, out, err = run("lint", "-", "--brand", KIT, "--aspect-ratio", "9:16", input=text)
    assert code == 1
    assert out == (
        "<stdin>:1:1: (prompt): error: aspect ratio 9:16 is not one of the brand's "
        "[aspect-ratio] (use one of: 1:1, 4:5, 16:9)\n"
    )


def test_brand_apply(tmp_path: Path) -> None:
    target = tmp_path / "branded.json"
    code, out, err = run(
        "brand", "apply", "examples/minimal.json", "--brand", KIT, "-o", str(target)
    )
    assert (code, out) == (0, "")
    assert err == (
        "filled: lighting.shadows\nfilled: photographic_characteristics\nfilled: style_medium\n"
        "filled: artistic_style\n"
    )
    branded = StructuredPrompt.load(target)
    assert branded.get("style_medium") == "photograph"
    code, out, err = run("brand", "apply", str(target), "--brand", KIT)
    assert (code, out, err) == (0, target.read_text(encoding="utf-8") + "\n", "nothing to fill\n")


def test_help_lists_the_commands() -> None:
    code, out, _ = run("--help")
    assert code == 0
    for command in ("render", "lint", "templates", "brand"):
        assert f"  {command} " in out
