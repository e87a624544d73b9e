"""``fibo diff`` and ``fibo patch``: exit codes like diff(1), exact output, files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts import StructuredPrompt
from fibo_prompts.cli._diff import register
from tests.conftest import MINIMAL, ROOT, bria_example

PRODUCT = str(ROOT / "examples" / "product_shot.json")


@pytest.fixture
def run() -> object:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """Test app."""

    register(app)
    runner = CliRunner()

    def invoke(*args: str, stdin: str | None = None) -> object:
        return runner.invoke(app, list(args), input=stdin)

    return invoke


@pytest.fixture
def warmer(tmp_path: Path) -> Path:
    prompt = StructuredPrompt.load(PRODUCT).set("lighting.conditions", "golden hour")
    path = tmp_path / "warmer.json"
    path.write_text(prompt.wire, encoding="utf-8")
    return path


def test_equal_prompts_exit_0(run: object) -> None:
    result = run("diff", PRODUCT, PRODUCT)  # type: ignore[operator]
    assert (result.exit_code, result.stdout) == (0, "no changes\n")


def test_different_prompts_exit_1_with_one_line_per_change(run: object, warmer: Path) -> None:
    result = run("diff", PRODUCT, str(warmer))  # type: ignore[operator]
    assert result.exit_code == 1
    assert result.stdout == (
        '1 change: lighting (1)\n~ lighting.conditions: "soft studio lighting" -> "golden hour"\n'
    )
    coloured = run("diff", PRODUCT, str(warmer), "--color")  # type: ignore[operator]
    assert "\x1b[" in coloured.stdout and coloured.exit_code == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.json"], "error: missing.json: no such file\n"),
        (["-", "-"], "error: only one of A and B can be - (stdin)\n"),
    ],
)
def test_errors_exit_2(run: object, args: list[str], message: str) -> None:
    result = run("diff", PRODUCT, *args) if len(args) == 1 else run("diff", *args)  # type: ignore[operator]
    assert (result.exit_code, result.stderr) == (2, message)


def test_invalid_prompt_exits_2(run: object, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"short_description": 1}', encoding="utf-8")
    result = run("diff", PRODUCT, str(bad))  # type: ignore[operator]
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    usage = run("diff", PRODUCT, PRODUCT, "--format", "yaml")  # type: ignore[operator]
    assert usage.exit_code == 2


def test_bria_refine_with_nulls_and_scores_ignored(run: object, tmp_path: Path) -> None:
    names = [
        "fibo_examples_outputs_refine_original.json",
        "fibo_examples_outputs_refine_edited.json",
    ]
    paths = []
    for name in names:
        path = tmp_path / name
        path.write_text(bria_example(name), encoding="utf-8")
        paths.append(str(path))
    result = run("diff", *paths, "--ignore-nulls", "--ignore-scores", "--lenient")  # type: ignore[operator]
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0] == (
        "12 changes: objects[zebra] (5), aesthetics (3), short_description (1), "
        "objects[hydrant] (1), lighting (1), photographic_characteristics (1)"
    )
    plain = run("diff", *paths, "--format", "json")  # type: ignore[operator]
    assert len(json.loads(plain.stdout)["changes"]) == 25


def test_json_and_html_formats(run: object, warmer: Path, tmp_path: Path) -> None:
    result = run("diff", PRODUCT, str(warmer), "--format", "json")  # type: ignore[operator]
    data = json.loads(result.stdout)
    assert data["headline"] == "1 change: lighting (1)" and data["single_attribute"]
    out = tmp_path / "diff.html"
    written = run("diff", PRODUCT, str(warmer), "--format", "html", "-o", str(out))  # type: ignore[operator]
    assert (written.exit_code, written.stdout) == (1, "")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


@pytest.mark.parametrize("fmt", ["patch", "delta"])
def test_patch_apply_and_revert_round_trip(
    run: object, warmer: Path, tmp_path: Path, fmt: str
) -> None:
    patch = tmp_path / f"warmer.{fmt}.json"
    made = run("diff", PRODUCT, str(warmer), "--format", fmt, "-o", str(patch))  # type: ignore[operator]
    assert made.exit_code == 1
    applied = run("patch", "apply", PRODUCT, str(patch))  # type: ignore[operator]
    assert (applied.exit_code, applied.stdout) == (0, warmer.read_text(encoding="utf-8"))
    out = tmp_path / "back.json"
    reverted = run("patch", "revert", str(warmer), str(patch), "-o", str(out))  # type: ignore[operator]
    assert reverted.exit_code == 0
    assert out.read_text(encoding="utf-8") == Path(PRODUCT).read_text(encoding="utf-8")


def test_patch_apply_from_stdin(run: object, warmer: Path, tmp_path: Path) -> None:
    patch = tmp_path / "p.json"
    run("diff", PRODUCT, str(warmer), "--format", "patch", "-o", str(patch))  # type: ignore[operator]
    result = run("patch", "apply", "-", str(patch), stdin=Path(PRODUCT).read_text("utf-8"))  # type: ignore[operator]
    assert result.stdout == warmer.read_text(encoding="utf-8")


def test_patch_apply_lists_conflicts_and_exits_1(run: object, tmp_path: Path) -> None:
    patch = tmp_path / "p.json"
    patch.write_text(
        json.dumps([{"op": "test", "path": "/context", "value": "x"}]), encoding="utf-8"
    )
    result = run("patch", "apply", PRODUCT, str(patch))  # type: ignore[operator]
    assert result.exit_code == 1
    assert result.stderr == (
        "error: the patch does not apply: 1 conflict (the base drifted)\n"
        '  context: expected "x", found "A product hero image for an online store\'s '
        'coffee-mug listing."\n'
    )
    patch.write_text("[1]", encoding="utf-8")
    malformed = run("patch", "revert", PRODUCT, str(patch))  # type: ignore[operator]
    assert (malformed.exit_code, malformed.stderr) == (
        1,
        "error: operation 1 is not a JSON object\n",
    )


def test_patch_carry(run: object, tmp_path: Path) -> None:
    a = StructuredPrompt.parse(MINIMAL)
    files = {
        "a": a,
        "b": a.set("lighting.direction", "backlit"),
        "c": a.set("context", "A sibling."),
    }
    for name, prompt in files.items():
        (tmp_path / f"{name}.json").write_text(prompt.wire, encoding="utf-8")
    paths = [str(tmp_path / f"{name}.json") for name in files]
    result = run("patch", "carry", *paths)  # type: ignore[operator]
    assert result.exit_code == 0
    assert result.stdout == files["c"].set("lighting.direction", "backlit").wire + "\n"
    conflicting = a.set("lighting.direction", "side-lit")
    (tmp_path / "c.json").write_text(conflicting.wire, encoding="utf-8")
    clash = run("patch", "carry", *paths)  # type: ignore[operator]
    assert clash.exit_code == 1
    assert clash.stderr.endswith('  lighting.direction: expected "front-lit", found "side-lit"\n')
