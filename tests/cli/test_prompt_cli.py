"""The fibo CLI: validate, get, set, fmt, schema — exact output and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fibo_prompts.cli import app
from tests.conftest import MINIMAL, ROOT

runner = CliRunner()
EXAMPLES = ROOT / "examples"


def run(*args: str, input: str | bytes | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def minimal(tmp_path: Path) -> Path:
    path = tmp_path / "minimal.json"
    path.write_text(json.dumps(MINIMAL, indent=2) + "\n", encoding="utf-8")
    return path


def test_validate_all_examples() -> None:
    files = sorted(str(p) for p in EXAMPLES.glob("*.json"))
    code, out, err = run("validate", *files)
    assert (code, out) == (0, "")
    assert err == f"{len(files)} files: {len(files)} valid, 0 invalid\n"


def test_validate_reports_one_line_per_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    data = {**MINIMAL, "lightning": {}, "context": 3}
    bad.write_text(json.dumps(data, indent=2), encoding="utf-8")
    code, out, _ = run("validate", str(bad))
    assert code == 1
    assert out == (
        f"{bad}:13:14: context: expected a string (got 3)\n"
        f"{bad}:14:3: lightning: unknown key; did you mean 'lighting'?\n"
    )


def test_validate_parse_errors_and_missing_files(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"a": 1,,}', encoding="utf-8")
    code, out, err = run("validate", str(broken), str(tmp_path / "nope.json"))
    assert code == 1
    assert out == (
        f"{broken}:1:9: not valid JSON: Expecting property name enclosed in double quotes\n"
        f"{tmp_path / 'nope.json'}: no such file\n"
    )
    assert err == "2 files: 0 valid, 2 invalid\n"


def test_validate_stdin_lenient_and_json_format() -> None:
    text = json.dumps({**MINIMAL, "seed": 1})
    code, out, _ = run("validate", "-", input=text)
    assert (code, out) == (
        1,
        "<stdin>:1:258: seed: unknown key (use --lenient / lenient=True to keep unknown keys)\n",
    )
    code, out, _ = run("validate", "--lenient", "-", input=text)
    assert (code, out) == (
        0,
        "<stdin>:1:258: seed: warning: unknown key, kept as is (FIBO's own cleaner would drop "
        "it)\n",
    )
    code, out, _ = run("validate", "--format", "json", "-", input=text)
    assert code == 1
    assert json.loads(out) == [
        {
            "file": "<stdin>",
            "valid": False,
            "errors": [
                {
                    "path": "seed",
                    "message": "unknown key (use --lenient / lenient=True to keep unknown keys)",
                    "code": "unknown_key",
                    "value": None,
                    "line": 1,
                    "column": 258,
                    "suggestion": None,
                }
            ],
            "warnings": [],
        }
    ]


def test_validate_bad_bytes_from_stdin() -> None:
    code, out, _ = run("validate", "-", input=b"\xef\xbb\xbf{}")
    assert code == 1
    assert out == (
        "<stdin>:1:1: input starts with a UTF-8 byte-order mark (JSON forbids it and FIBO would "
        "read it as part of the prompt; save the file as UTF-8 without BOM)\n"
    )


def test_usage_errors_exit_2() -> None:
    assert run("validate")[0] == 2
    assert run("validate", "--format", "xml", "x.json")[0] == 2
    assert run("fmt", "x.json", "--style", "fancy")[0] == 2


def test_get(minimal: Path) -> None:
    assert run("get", str(minimal), "lighting.conditions") == (0, "daylight\n", "")
    assert run("get", str(minimal), "lighting.conditions", "--json") == (0, '"daylight"\n', "")
    code, out, _ = run("get", str(minimal), "lighting")
    assert (code, json.loads(out)) == (0, MINIMAL["lighting"])
    code, out, err = run("get", str(minimal), "objects[0]")
    assert (code, out) == (1, "")
    assert err == (
        "error: argument PATH 'objects[0]': the prompt has no key 'objects' (it has: "
        "short_description, "
        "background_setting, lighting, aesthetics, context)\n"
    )


def test_set_to_stdout_file_and_in_place(minimal: Path, tmp_path: Path) -> None:
    original = minimal.read_text(encoding="utf-8")
    code, out, _ = run("set", str(minimal), "lighting.conditions", "golden hour")
    assert code == 0
    assert out == original.replace('"daylight"', '"golden hour"')
    target = tmp_path / "out.json"
    assert (
        run(
            "set",
            str(minimal),
            "objects[0]",
            '{"description": "An apple.", "location": "center", "relationship": "alone"}',
            "-o",
            str(target),
        )[0]
        == 0
    )
    assert json.loads(target.read_text())["objects"][0]["location"] == "center"
    assert minimal.read_text(encoding="utf-8") == original
    assert run("set", str(minimal), "context", "Calm.", "--in-place") == (0, "", "")
    assert minimal.read_text(encoding="utf-8") == original.replace("Still life.", "Calm.")


def test_set_in_place_that_fails_validation_leaves_the_file_untouched(minimal: Path) -> None:
    original = minimal.read_bytes()
    code, out, err = run("set", str(minimal), "context", "42", "--in-place")
    assert (code, out) == (1, "")
    # the VALUE argument is at fault, not the file (issue 13, item 21)
    assert err == "error: argument VALUE '42': expected a string (got 42)\n"
    assert minimal.read_bytes() == original
    assert run("set", str(minimal), "context", '"42"', "--in-place")[0] == 0
    assert json.loads(minimal.read_text())["context"] == "42"
    assert sorted(p.name for p in minimal.parent.iterdir()) == ["minimal.json"]  # no temp files


def test_set_option_conflicts(minimal: Path) -> None:
    assert run("set", str(minimal), "context", "x", "-i", "-o", "y.json")[0] == 2
    assert run("set", "-", "context", "x", "-i", input=minimal.read_text())[0] == 2


def test_fmt_styles(minimal: Path) -> None:
    assert run("fmt", str(minimal), "--style", "compact") == (
        0,
        json.dumps(MINIMAL, separators=(",", ":")) + "\n",
        "",
    )
    assert run("fmt", str(minimal)) == (0, json.dumps(MINIMAL, indent=2) + "\n", "")
    code, out, _ = run("fmt", str(minimal), "--style", "canonical")
    assert (code, json.loads(out)) == (0, MINIMAL)


def test_schema_command(tmp_path: Path) -> None:
    code, out, _ = run("schema")
    assert code == 0 and out == (ROOT / "schemas" / "structured_prompt.schema.json").read_text()
    code, out, _ = run("schema", "--lenient")
    assert json.loads(out)["additionalProperties"] is True
    code, out, _ = run("schema", "--export", str(tmp_path))
    assert code == 0 and "structured_prompt.schema.json" in out


def test_help_is_fast_to_import_and_python_dash_m_works() -> None:
    heavy = ("pydantic", "rich", "httpx", "anyio", "PIL", "jinja2", "starlette", "yaml")
    code = f"import sys, fibo_prompts.cli; print([m for m in {heavy!r} if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert (result.stdout, result.stderr) == ("[]\n", "")
    result = subprocess.run(
        [sys.executable, "-m", "fibo_prompts", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0
    for command in ("validate", "get", "set", "fmt", "schema"):
        assert f"  {command} " in result.stdout
