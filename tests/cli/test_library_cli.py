"""``fibo lib``: exact output of every command, JSON for scripts, errors without tracebacks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.cli._library import register
from fibo_prompts.prompt import StructuredPrompt
from tests.conftest import ROOT

app = typer.Typer()
register(app)
runner = CliRunner()
PRODUCT = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")
PORTRAIT = (ROOT / "examples" / "portrait.json").read_text(encoding="utf-8")


def normalize(text: str) -> str:
    """Mask dates and hashes, the only volatile parts of the output."""
    text = re.sub(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d(:\d\d(\.\d+Z| UTC)?)?", "<date>", text)
    return re.sub(r"sha256:[0-9a-f]{12,64}", "sha256:<hash>", text)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("FIBO_LIBRARY", str(tmp_path / "prompts.sqlite"))
    monkeypatch.setenv("FIBO_PROMPTS_AUTHOR", "ada")
    warm = StructuredPrompt.parse(PRODUCT).set("lighting.conditions", "golden hour")
    (tmp_path / "warm.json").write_text(warm.wire, encoding="utf-8")
    return tmp_path


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, ["lib", *args], input=input)
    return result.exit_code, result.stdout, result.stderr


def test_save_show_log_label_history(env: Path) -> None:
    product = str(ROOT / "examples" / "product_shot.json")
    code, out, err = run("init")
    assert (code, out) == (0, f"library {env / 'prompts.sqlite'} (schema 3)\n")
    code, out, _ = run("save", "bottle", product, "-m", "first", "-t", "hero")
    assert (code, normalize(out)) == (0, "saved bottle@1 sha256:<hash> [initial version]\n")
    code, out, _ = run("save", "bottle", str(env / "warm.json"), "-m", "warmer")
    assert (code, normalize(out)) == (0, "saved bottle@2 sha256:<hash> [1 change: lighting (1)]\n")
    code, out, _ = run("save", "bottle", str(env / "warm.json"))
    assert normalize(out) == "unchanged: bottle@2 sha256:<hash> holds these exact bytes\n"
    assert run("label", "bottle@1", "production")[0] == 0
    code, out, _ = run("label", "bottle@2", "production", "-m", "ship it")
    assert normalize(out) == "<date> bottle@production move @1 -> @2 by ada: ship it\n"
    code, out, _ = run("label", "bottle@2", "production")
    assert out == "unchanged: production already points at bottle@2\n"
    code, out, _ = run("log", "bottle")
    assert normalize(out) == (
        "bottle@2 sha256:<hash> (production) <date> ada: warmer [1 change: lighting (1)]\n"
        "bottle@1 sha256:<hash> <date> ada: first [initial version]\n"
    )
    code, out, _ = run("rollback", "bottle", "production")
    assert normalize(out) == "<date> bottle@production rollback @2 -> @1 by ada\n"
    code, out, _ = run("history", "bottle")
    assert normalize(out) == (
        "<date> bottle@production set - -> @1 by ada\n"
        "<date> bottle@production move @1 -> @2 by ada: ship it\n"
        "<date> bottle@production rollback @2 -> @1 by ada\n"
    )
    code, out, _ = run("show", "bottle@production")
    assert normalize(out) == (
        "version:   bottle@1 sha256:<hash>\n"
        "content:   sha256:<hash>\n"
        "parents:   (root)\n"
        "labels:    production\n"
        "tags:      hero\n"
        "author:    ada\n"
        "date:      <date>\n"
        "message:   first\n"
        "summary:   initial version\n"
        "\n" + PRODUCT
    )
    code, out, _ = run("show", "bottle@1", "--wire")
    assert out == PRODUCT
    code, out, _ = run("list")
    assert out == "bottle: 2 versions production=@1\n"


def test_json_output(env: Path) -> None:
    run("save", "bottle", str(ROOT / "examples" / "product_shot.json"), "-m", "first")
    run("save", "bottle", str(env / "warm.json"), "--format", "json")
    code, out, _ = run("log", "bottle", "--format", "json")
    data = json.loads(out)
    assert [(d["ref"], d["parents"], d["summary"]) for d in data] == [
        ("bottle@2", ["bottle@1"], "1 change: lighting (1)"),
        ("bottle@1", [], "initial version"),
    ]
    code, out, _ = run("show", "bottle", "--format", "json")
    shown = json.loads(out)
    assert shown["wire"] == (env / "warm.json").read_text()
    code, out, _ = run("diff", "bottle@1", "bottle@2", "--format", "json")
    assert code == 1 and "lighting.conditions" in out
    code, out, _ = run("search", "--where", "lighting.conditions=golden hour", "--format", "json")
    assert [d["ref"] for d in json.loads(out)] == ["bottle@2"]


def test_diff_search_generations_export_import(env: Path) -> None:
    run("save", "bottle", str(ROOT / "examples" / "product_shot.json"), "-m", "first")
    run("save", "bottle", str(env / "warm.json"), "-m", "warm")
    run("save", "face", str(ROOT / "examples" / "portrait.json"), "-t", "people")
    code, out, _ = run("diff", "bottle@1", "bottle")
    assert code == 1  # they differ, as `fibo diff` says
    assert out.splitlines()[0] == "1 change: lighting (1)"
    code, out, _ = run("search", "golden")
    assert [line.split()[0] for line in out.splitlines()] == ["bottle@2"]
    code, out, _ = run("search", "--tag", "people")
    assert [line.split()[0] for line in out.splitlines()] == ["face@1"]
    assert run("generations")[:2] == (0, "")
    code, out, _ = run("export", str(env / "exported"))
    assert out == f"exported 3 versions to {env / 'exported'}\n"
    other = env / "other.sqlite"
    code, out, _ = run("import", str(env / "exported"), "--library", str(other))
    assert out == f"imported 3 versions into {other}\n"
    code, out, _ = run("list", "--library", str(other))
    assert out == "bottle: 2 versions\nface: 1 version\n"
    assert (env / "exported" / "prompts" / "face" / "0001.json").read_text() == PORTRAIT


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "nope"), "error: 'nope' matches nothing: no prompt named 'nope'"),
        (("show", "bottle@7"), "error: 'bottle@7' matches nothing: bottle has versions 1 to 1"),
        (("label", "bottle@1", "7up"), "error: invalid label name '7up': labels start with"),
        (("save", "a/b", "x.json"), "error: invalid prompt name 'a/b': it contains /"),
        (("search",), "error: give TEXT, --where PATH=VALUE, --tag or --name"),
        (("search", "--where", "novalue"), "error: 'novalue': a field query is PATH=VALUE"),
        (
            ("rollback", "bottle", "production"),
            "error: bottle@production has no earlier target to roll back to; give one",
        ),
    ],
)
def test_errors_are_one_line_without_traceback(
    env: Path, args: tuple[str, ...], message: str
) -> None:
    run("save", "bottle", str(ROOT / "examples" / "product_shot.json"))
    code, out, err = run(*args)
    assert code in (1, 2)
    assert out == ""
    assert err.startswith(message)
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_corrupt_library_is_a_clean_error(env: Path) -> None:
    (env / "prompts.sqlite").write_bytes(b"garbage" * 1000)
    code, out, err = run("log", "bottle")
    assert code == 1
    assert err.startswith(f"error: {env / 'prompts.sqlite'}: not a readable prompt library")
