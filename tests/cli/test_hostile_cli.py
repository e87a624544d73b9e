"""The CLI with hostile arguments (issue 13, items 16, 17, 19, 20, 21): errors name the
argument at fault, values are strict JSON, seeds are integers in range, and nothing from the
input reaches the terminal as a control character."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fibo_prompts.cli import app
from tests.conftest import MINIMAL, ROOT

runner = CliRunner()
PRODUCT = str(ROOT / "examples" / "product_shot.json")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def hero(tmp_path: Path) -> Path:
    path = tmp_path / "hero.json"
    path.write_text(json.dumps(MINIMAL, indent=2) + "\n", encoding="utf-8")
    return path


# ---------------------------------------------------------------------- item 21


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["lighting.conditons", "x"],
         "argument PATH 'lighting.conditons': unknown key; did you mean 'conditions'?"),
        (["lighting.conditions", "5"], "argument VALUE '5': expected a string (got 5)"),
        (["objects[3].location", "x"],
         "argument PATH 'objects[3].location': objects does not exist; create its first "
         "item with [0]"),
        (["lighting..x", "x"],
         "argument PATH 'lighting..x': malformed path at column 9: expected a key, '.key' or "
         "'[N]' (e.g. 'objects[0].location')"),
        (["lighting", '{"conditions": "a", "direction": "b", "glow": 1}'],
         "argument VALUE '{\"conditions\": \"a\", \"direction\": \"b\", \"glow\": 1}': "
         "lighting.glow: unknown key (use --lenient / lenient=True to keep unknown keys)"),
        (["photographic_characteristics.focus", "sharp"],
         "argument PATH 'photographic_characteristics.focus': "
         "photographic_characteristics.depth_of_field: missing required key; "
         "photographic_characteristics.camera_angle: missing required key; "
         "photographic_characteristics.lens_focal_length: missing required key"),
        (["lighting", '{"conditions": "a", "conditions": "b"}'],
         "argument VALUE '{\"conditions\": \"a\", \"conditions\": \"b\"}': duplicate key "
         "'conditions'"),
    ],
)  # fmt: skip
def test_set_blames_the_argument_not_the_file(hero: Path, args: list[str], message: str) -> None:
    original = hero.read_bytes()
    code, stdout, stderr = run("set", str(hero), *args, "--in-place")
    assert (code, stdout, stderr) == (1, "", f"error: {message}\n")
    assert hero.read_bytes() == original


def test_get_blames_the_path_argument(hero: Path) -> None:
    code, _, stderr = run("get", str(hero), "lighting.conditons")
    assert (code, stderr) == (
        1,
        "error: argument PATH 'lighting.conditons': lighting has no key 'conditons'; "
        "did you mean 'conditions'? (it has: conditions, direction)\n",
    )


def test_a_bad_file_still_names_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**MINIMAL, "context": 3}), encoding="utf-8")
    _, _, stderr = run("set", str(bad), "lighting.conditions", "x")
    assert stderr.startswith(f"error: 1 problem in structured prompt {bad}:\n  {bad}:1:")


@pytest.mark.parametrize("command", ["vary", "refine"])
def test_set_options_blame_the_option(command: str, tmp_path: Path) -> None:
    out = ["-o", str(tmp_path / "out")]
    code, _, stderr = run(command, PRODUCT, "--set", "lighting.conditons=x", *out)
    assert (code, stderr) == (
        1,
        "error: option --set 'lighting.conditons=x': unknown key; did you mean 'conditions'?\n",
    )
    code, _, stderr = run(command, PRODUCT, "--set", "objects[0].location=[1]", *out)
    assert (code, stderr) == (
        1,
        "error: option --set 'objects[0].location=[1]': expected a string (got [1])\n",
    )
    assert not (tmp_path / "out").exists()


def test_grid_axes_blame_their_option(tmp_path: Path) -> None:
    code, _, stderr = run(
        "grid", PRODUCT, "--row", "seed=1", "--column", "lightning.conditions=a",
        "-o", str(tmp_path / "g"),
    )  # fmt: skip
    assert (code, stderr) == (
        1,
        "error: option --column 'lightning.conditions=a': lightning: unknown key; did you "
        "mean 'lighting'?\n",
    )


# ---------------------------------------------------------------------- items 16, 17: values


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("1e400", "1e400 is not a finite number (out of range for JSON)"),
        ("[NaN]", "NaN is not valid JSON (numbers must be finite)"),
        ("7" * 5000, "an integer of 5,000 digits is too long (at most 4,300 digits)"),
        ("[" * 100_000 + "]" * 100_000, "JSON nested too deeply"),
    ],
)
def test_set_values_are_strict_json(hero: Path, value: str, problem: str) -> None:
    code, stdout, stderr = run("set", "--lenient", str(hero), "x", value)
    shown = repr(value if len(value) <= 60 else value[:59] + "…")
    assert (code, stdout, stderr) == (1, "", f"error: argument VALUE {shown}: {problem}\n")


def test_set_with_deep_paths_and_values_is_one_error_line(hero: Path) -> None:
    path = ".".join(["a"] * 100_000)
    code, _, stderr = run("set", "--lenient", str(hero), path, "1")
    assert code == 1
    assert stderr == (
        f"error: argument PATH '{path[:59]}…': path of more than 200 parts; a prompt never "
        "nests that deep\n"
    )
    value = "[" * 190 + "]" * 190
    code, _, stderr = run("set", "--lenient", str(hero), "x.y.z.w.v.u.t.s.r.q.p", value)
    assert code == 1
    assert stderr == (
        f"error: argument VALUE '{value[:59]}…': value is nested more than 189 levels deep, "
        "too deep for a structured prompt\n"
    )


def test_fmt_of_a_lenient_prompt_with_1e400_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    text = json.dumps(MINIMAL)[:-1] + ', "x": 1e400}'
    path.write_text(text, encoding="utf-8")
    for command in (["fmt", "--style", "canonical"], ["fmt"], ["validate"]):
        code, stdout, stderr = run(*command, "--lenient", str(path))
        where = f"{path}:1:{text.index('1e400') + 1}"
        line = f"{where}: x: 1e400 is not a finite number (out of range for JSON)"
        assert code == 1
        assert (stdout, stderr) in (("", f"error: {line}\n"), (f"{line}\n", ""))


# ---------------------------------------------------------------------- item 19: seeds


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["vary", "--set", "seed=1.5"],
         "option --set 'seed=1.5': a seed is an integer from 0 to 2,147,483,647"),
        (["vary", "--set", "seed=true"],
         "option --set 'seed=true': a seed is an integer from 0 to 2,147,483,647"),
        (["vary", "--set", "seed=-3"],
         "option --set 'seed=-3': seed -3 is outside 0..2,147,483,647"),
        (["vary", "--set", "steps=2.5"], "option --set 'steps=2.5': steps is an integer"),
        (["grid", "--row", "seed=1.5", "--column", "lighting.conditions=a"],
         "option --row 'seed=1.5': a seed is an integer from 0 to 2,147,483,647"),
    ],
)  # fmt: skip
def test_seeds_from_text_are_integers_in_range(
    args: list[str], message: str, tmp_path: Path
) -> None:
    code, _, stderr = run(args[0], PRODUCT, *args[1:], "-o", str(tmp_path / "out"))
    assert (code, stderr) == (1, f"error: {message}\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("seeds", ["1,1.5", "1,-2", "2147483648", "1" * 5000])
def test_sweep_seeds_are_integers_in_range(seeds: str) -> None:
    code, _, stderr = run("sweep", PRODUCT, "--seeds", seeds)
    shown = repr(seeds if len(seeds) <= 60 else seeds[:59] + "…")
    assert (code, stderr) == (
        2,
        f"error: --seeds takes comma-separated integers from 0 to 2,147,483,647, got {shown}\n",
    )


# ---------------------------------------------------------------------- item 20


def test_error_messages_escape_control_characters(hero: Path) -> None:
    path = "x\x1b]52;c;aGk=\x07\r\x9b"
    code, _, stderr = run("get", str(hero), path)
    assert code == 1
    assert stderr == (
        "error: argument PATH 'x\\x1b]52;c;aGk=\\x07\\r\\x9b': malformed path at column 2: "
        "expected a key, '.key' or '[N]' (e.g. 'objects[0].location')\n"
    )


def test_validate_escapes_values_quoted_from_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**MINIMAL, "context": ["\u009b2J\u001b]0;x\u0007"]}), "utf-8")
    code, stdout, _ = run("validate", str(bad))
    assert code == 1
    assert not any(0x7F <= ord(c) <= 0x9F or (ord(c) < 32 and c != "\n") for c in stdout)
    code, stdout, _ = run("validate", str(bad), "--format", "json")
    assert code == 1 and "\u009b" not in stdout


def test_get_is_exact_when_piped_and_escaped_on_a_terminal(
    hero: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = "calm \u001b]52;c;aGk=\u0007 \u009b31m"
    assert run("set", str(hero), "context", json.dumps(text), "-i")[0] == 0
    assert run("get", str(hero), "context") == (0, text + "\n", "")
    code, stdout, _ = run("get", str(hero), "context", "--json")
    assert (code, stdout) == (0, '"calm \\u001b]52;c;aGk=\\u0007 \\u009b31m"\n')
    monkeypatch.setattr("fibo_prompts.cli._common.stdout_is_terminal", lambda: True)
    assert run("get", str(hero), "context") == (0, "calm \\x1b]52;c;aGk=\\x07 \\x9b31m\n", "")


# ------------------------------------------------------------- item 20: fibo diff output

HOSTILE = "calm \u001b]52;c;aGk=\u0007 \u009b31m \u202e"


def test_diff_output_escapes_control_characters(
    hero: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new = tmp_path / "new.json"
    data = dict(MINIMAL, context=HOSTILE)
    new.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    code, stdout, _ = run("diff", str(hero), str(new), "--format", "json")
    assert code == 1
    # the same data, every control character written as a JSON escape
    assert "\u001b" not in stdout and "\u009b" not in stdout and "\u202e" not in stdout
    assert "\\u009b31m \\u202e" in stdout
    assert json.loads(stdout)["changes"][0]["new"] == HOSTILE
    code, stdout, _ = run("diff", str(hero), str(new), "--format", "patch")
    assert (code, json.loads(stdout)[-1]["value"]) == (1, HOSTILE)
    assert "\u001b" not in stdout and "\\u009b" in stdout
    # text (values quoted as JSON, C0 already escaped) piped: exact; on a terminal: escaped
    code, stdout, _ = run("diff", str(hero), str(new), "--no-color")
    assert code == 1 and '"calm \\u001b]52;c;aGk=\\u0007 \u009b31m \u202e"' in stdout
    monkeypatch.setattr("fibo_prompts.cli._common.stdout_is_terminal", lambda: True)
    code, stdout, _ = run("diff", str(hero), str(new), "--no-color")
    assert code == 1 and '\\u0007 \\x9b31m \\u202e"' in stdout and "\u009b" not in stdout
    code, stdout, _ = run("diff", str(hero), str(new))
    assert code == 1 and "\u009b" not in stdout and "\u202e" not in stdout
    assert "\\u0007 \ufffd31m \ufffd" in stdout
    # -o writes the exact text whatever stdout is
    out = tmp_path / "diff.txt"
    assert run("diff", str(hero), str(new), "--no-color", "-o", str(out))[0] == 1
    assert '\\u0007 \u009b31m \u202e"' in out.read_text(encoding="utf-8")
