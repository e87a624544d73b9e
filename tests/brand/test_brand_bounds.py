"""Hostile brand input: YAML alias bombs, deep or huge kits and variables, and templates that
try to exhaust time or memory through the sandbox (issue 13, items 11, 12 and 16)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.brand import BrandKit, RenderLimits, load_template
from fibo_prompts.cli._brand import register
from fibo_prompts.errors import (
    BrandKitError,
    FiboPromptsError,
    TemplateError,
    TemplateLimitError,
    TemplateSecurityError,
)

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
        # too large, and the 1 MB cut falls inside a two-byte character: the size is the news
        ("product: x" + "\u00e9" * 600_000, "over 1,000,000 bytes; not a variables file"),
        ("product: a\nproduct: b\n", "line 2 column 1: duplicate key 'product'"),
        ("-" + "9" * 4301, "line 1 column 1: a number of more than 4,300 digits"),
        ("product: 0x" + "f" * 4000, "line 1 column 10: a number of more than 4,300 digits"),
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


# ---------------------------------------------------------------------- template renders

LIMIT = "blocked by the sandbox: "


def render_error(
    tmp_path: Path, body: str, *, limits: Any = None, name: str = "bomb", where: str | None = None
) -> TemplateLimitError:
    """Render a build template with ``body`` first; it must hit a render limit."""
    path = write_template(tmp_path, name, body)
    template = load_template(path)
    with pytest.raises(TemplateLimitError) as info:
        if limits is None:
            template.render(NORTHWIND, {})
        else:
            template.render(NORTHWIND, {}, limits=limits)
    assert info.value.template == (where or str(path))
    return info.value


TEXT = "would build a string of more than 1,000,000 characters (RenderLimits.max_text)"
ITEMS = "would build a list of more than 100,000 items (RenderLimits.max_items)"

PADDING = [
    ("{{ '{:>10000000}'.format('x') }}", f"str.format {TEXT}"),
    ("{{ '{:>{w}}'.format('x', w=10000000) }}", f"str.format {TEXT}"),
    ("{{ '{:.10000000f}'.format(1.5) }}", f"str.format {TEXT}"),
    ("{{ 'x'|center(10000000) }}", f"|center {TEXT}"),
    ("{{ '%10000000s'|format('x') }}", f"|format {TEXT}"),
    ("{{ '%*s'|format(10000000, 'x') }}", f"|format {TEXT}"),
    ("{{ '%10000000s' % 'x' }}", f"% {TEXT}"),
    ("{{ ('x\\n' * 50000)|indent(1000) }}", f"|indent {TEXT}"),
    ("{{ 'x'.ljust(10000000) }}", f"str.ljust {TEXT}"),
    ("{{ 'x'.rjust(10000000) }}", f"str.rjust {TEXT}"),
    ("{{ '1'.zfill(10000000) }}", f"str.zfill {TEXT}"),
    ("{{ ('\\t' * 1000).expandtabs(10000) }}", f"str.expandtabs {TEXT}"),
    ("{{ ('x' * 10000)|replace('x', 'y' * 1000) }}", f"|replace {TEXT}"),
    ("{{ ('x' * 10000).replace('x', 'y' * 1000) }}", f"str.replace {TEXT}"),
    ("{{ (['y' * 200] * 10000)|join }}", f"|join {TEXT}"),
    ("{{ ','.join(['y' * 200] * 10000) }}", f"str.join {TEXT}"),
    ("{{ ([1]|slice(200000, 0)|list)|length }}", f"|slice {ITEMS}"),
    ("{{ ([1]|batch(200000, 0)|list)|length }}", f"|batch {ITEMS}"),
    ("{{ (range(100000)|list + range(100000)|list)|length }}", f"+ {ITEMS}"),
    ("{{ 'x' * 100000 ~ 'y' * 100000 }}", None),
]


@pytest.mark.parametrize(("expression", "message"), PADDING)
def test_padding_cannot_route_around_the_size_limits(
    tmp_path: Path, expression: str, message: str | None
) -> None:
    if message is None:  # under the limits: renders
        path = write_template(tmp_path, "fine", f"context: '{expression}'\n")
        assert len(load_template(path).render(NORTHWIND, {}).get("context")) == 200_000
        return
    error = render_error(tmp_path, f"context: '{expression}'\n")
    assert (error.line, error.message, error.limit) == (
        6,
        LIMIT + message,
        "max_items" if "items" in message else "max_text",
    )


DOUBLING = [
    # a namespace string doubled in a loop, with ~ and with +
    "{% set ns = namespace(s='xx') %}{% for i in range(25) %}{% set ns.s = ns.s ~ ns.s %}"
    "{% endfor %}",
    "{% set ns = namespace(s='xx') %}{% for i in range(25) %}{% set ns.s = ns.s + ns.s %}"
    "{% endfor %}",
    # a list nested by reference, then printed
    "{% set ns = namespace(s=['x' * 1000]) %}{% for i in range(12) %}"
    "{% set ns.s = [ns.s, ns.s] %}{% endfor %}{% set ns.s = ns.s|string %}",
    "{% set ns = namespace(s=['x' * 1000]) %}{% for i in range(12) %}"
    "{% set ns.s = [ns.s, ns.s] %}{% endfor %}{% set ns.s = ns.s|tojson %}",
    "{% set ns = namespace(s=['x' * 1000]) %}{% for i in range(12) %}"
    "{% set ns.s = [ns.s, ns.s] %}{% endfor %}{% set ns.s = '%s'|format(ns.s) %}",
]


@pytest.mark.parametrize("loop", DOUBLING)
def test_doubling_in_a_namespace_loop_is_stopped(tmp_path: Path, loop: str) -> None:
    error = render_error(tmp_path, f"context: '{loop}{{{{ ns.s|length }}}}'\n")
    assert error.line == 6
    assert error.limit == "max_text"
    assert error.message.startswith(LIMIT)
    assert error.message.endswith(TEXT)


def test_rendered_text_doubling_through_set_blocks_is_stopped(tmp_path: Path) -> None:
    body = (
        "{% set ns = namespace(s='x' * 1000) %}{% for i in range(12) %}"
        "{% set t %}{{ ns.s }}{{ ns.s }}{% endset %}{% set ns.s = t %}{% endfor %}\n"
        "context: '{{ ns.s }}'\n"
    )
    error = render_error(tmp_path, body)
    assert (error.line, error.limit) == (6, "max_output")
    # with room for the output, the value itself is over the limit
    error = render_error(tmp_path, body, limits=RenderLimits(max_output=10**9))
    assert (error.line, error.limit) == (6, "max_text")
    assert error.message == (
        LIMIT + "rendered text would expand to more than 1,000,000 characters "
        "(RenderLimits.max_text)"
    )


def test_rendered_text_nested_5000_deep_is_stopped(tmp_path: Path) -> None:
    body = (
        "{% set ns = namespace(s='x') %}{% for i in range(5000) %}"
        "{% set t %}{{ ns.s }}{% endset %}{% set ns.s = t %}{% endfor %}\n"
        "context: '{{ ns.s }}'\n"
    )
    error = render_error(tmp_path, body)
    assert (error.line, error.limit) == (6, "max_nesting")
    assert error.message == (
        LIMIT + "rendered text is nested in rendered text more than 50 levels deep "
        "(RenderLimits.max_nesting)"
    )


def test_nested_loops_stop_at_the_iteration_limit(tmp_path: Path) -> None:
    body = (
        "{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}\ncontext: x\n"
    )
    error = render_error(tmp_path, body)
    assert (error.line, error.limit) == (6, "max_iterations")
    assert error.message == (
        LIMIT + "loops ran more than 100,000 iterations (RenderLimits.max_iterations)"
    )


def test_iterating_filters_count_as_loops(tmp_path: Path) -> None:
    body = (
        "context: 'n={{ range(100000)|select|list|length + range(100000)|select|list|length }}'\n"
    )
    error = render_error(tmp_path, body)
    assert (error.line, error.limit) == (6, "max_iterations")


def test_a_fan_of_includes_stops_at_the_include_limit(tmp_path: Path) -> None:
    for level in range(4):
        inner = f"{{% include 'fan{level + 1}.j2' %}}" if level < 3 else "."
        header = f"{{#-\nname: fan{level}\ndescription: a fan\nkind: base\n-#}}"
        (tmp_path / f"fan{level}.j2").write_text(header + inner * 10, encoding="utf-8")
    body = "{% set x %}{% include 'fan0.j2' %}{% endset %}context: x\n"
    error = render_error(tmp_path, body, where=str(tmp_path / "fan0.j2"))
    assert (error.line, error.limit) == (5, "max_includes")
    assert error.message == (
        LIMIT + "more than 1,000 templates included or imported (RenderLimits.max_includes)"
    )


def test_recursive_macros_stop_at_the_call_limit(tmp_path: Path) -> None:
    body = (
        "{% set ns = namespace(x='') %}{% macro f(n) %}{% if n %}{% set ns.x = f(n - 1) %}"
        "{% set ns.x = f(n - 1) %}{% endif %}{% endmacro %}{% set ns.x = f(30) %}\ncontext: x\n"
    )
    error = render_error(tmp_path, body)
    assert (error.line, error.limit) == (6, "max_calls")
    assert error.message == LIMIT + "more than 100,000 calls (RenderLimits.max_calls)"


def test_render_time_is_bounded(tmp_path: Path) -> None:
    body = "{% for i in range(50000) %}{% set x = ('ab' * 50000)|upper %}{% endfor %}\ncontext: x\n"
    error = render_error(tmp_path, body, limits=RenderLimits(timeout=0.05, max_built=10**12))
    assert (error.line, error.limit) == (6, "timeout")
    assert error.message == LIMIT + "the render took more than 0.05 s (RenderLimits.timeout)"


def test_total_output_is_bounded(tmp_path: Path) -> None:
    body = "context: '{% for i in range(60) %}{{ 'x' * 20000 }}{% endfor %}'\n"
    error = render_error(tmp_path, body)
    assert (error.line, error.limit) == (6, "max_output")
    assert error.message == (
        LIMIT + "the render wrote more than 1,000,000 characters (RenderLimits.max_output)"
    )
    literal = "context: '{% for i in range(20000) %}" + "x" * 100 + "{% endfor %}'\n"
    assert render_error(tmp_path, literal, name="literal").limit == "max_output"


def test_many_results_under_the_size_limit_add_up_to_the_build_limit(tmp_path: Path) -> None:
    # each padded string is well under max_text; a thousand of them are 100 MB
    body = "context: 'n={{ range(1000)|map('center', 100000)|list|length }}'\n"
    error = render_error(tmp_path, body)
    assert (error.line, error.limit) == (6, "max_built")
    assert error.message == (
        LIMIT + "the render built more than 10,000,000 characters in all (RenderLimits.max_built)"
    )


SHARED = [
    # lists nested in themselves by reference: a few hundred objects, a billion values
    "{% set ns = namespace(s=['x' * 1000], t=['x' * 1000]) %}{% for i in range(30) %}"
    "{% set ns.s = [ns.s, ns.s] %}{% set ns.t = [ns.t, ns.t] %}{% endfor %}{{ ns.s == ns.t }}",
    "{% set ns = namespace(s=('x',)) %}{% for i in range(40) %}{% set ns.s = (ns.s, ns.s) %}"
    "{% endfor %}{{ [ns.s, ns.s]|unique|list|length }}",
    "{{ (['x' * 100000] * 100000)|sort|length }}",
]


@pytest.mark.parametrize("body", SHARED)
def test_shared_references_cannot_stand_for_billions_of_values(tmp_path: Path, body: str) -> None:
    error = render_error(tmp_path, f"{body}\ncontext: x\n")
    assert (error.line, error.limit) == (6, "max_built")
    assert error.message.endswith(
        "would hold more than 10,000,000 values in all (shared parts counted each time they "
        "occur) (RenderLimits.max_built)"
    )


def test_integers_stay_printable(tmp_path: Path) -> None:
    body = (
        "{% set ns = namespace(n=10 ** 256) %}{% for i in range(30) %}"
        "{% set ns.n = ns.n * ns.n %}{% endfor %}\ncontext: x\n"
    )
    path = write_template(tmp_path, "ints", body)
    with pytest.raises(TemplateSecurityError) as info:
        load_template(path).render(NORTHWIND, {})
    assert (info.value.line, info.value.message) == (
        6,
        LIMIT + "a number of more than 4,300 digits is over the sandbox limit",
    )


def test_limits_can_be_raised(tmp_path: Path) -> None:
    path = write_template(tmp_path, "wide", "context: '{{ 'x'|center(2000000) }}'\n")
    template = load_template(path)
    with pytest.raises(TemplateLimitError):
        template.render(NORTHWIND, {})
    wide = RenderLimits(max_text=3_000_000, max_output=3_000_000)
    assert len(template.render(NORTHWIND, {}, limits=wide).get("context")) == 2_000_000


def test_cli_render_limit_is_one_line(tmp_path: Path) -> None:
    path = write_template(tmp_path, "cli", "context: '{{ 'x'.ljust(10000000) }}'\n")
    code, out, err = cli("render", str(path), "--brand", str(KIT_PATH))
    assert (code, out) == (1, "")
    assert err == f"error: {path}:6: {LIMIT}str.ljust {TEXT}\n"


def test_a_template_file_over_1_mb_is_refused(tmp_path: Path) -> None:
    path = write_template(tmp_path, "huge", "context: x\n" + "# padding\n" * 100_001)
    with pytest.raises(TemplateError) as info:
        load_template(path)
    assert str(info.value) == f"{path}: over 1,000,000 bytes; not a brand template"


def test_shipped_templates_render_well_within_the_limits() -> None:
    from fibo_prompts.brand import list_templates

    small = RenderLimits(timeout=1.0, max_iterations=200, max_calls=2_000, max_includes=20)
    for template in list_templates():
        if template.kind == "build":
            sample = {n: v.examples[0] for n, v in template.variables.items() if v.examples}
            template.render(NORTHWIND, sample, limits=small)
