"""What tripped a newcomer up on the command line (issue 15): exact messages and exit codes."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fibo_prompts import _limits
from fibo_prompts.cli import app, main
from fibo_prompts.generate import AsyncClient, Client
from fibo_prompts.generate.contact_sheet import DEFAULT_CELL_SIZE
from fibo_prompts.generate.variation import VariationRun
from fibo_prompts.library import Library
from fibo_prompts.prompt import DEFAULT_MAX_BYTES
from tests.conftest import ROOT

runner = CliRunner()
PRODUCT = str(ROOT / "examples" / "product_shot.json")
KIT = str(ROOT / "templates" / "brands" / "northwind.yaml")
KEYS = (
    "BRIA_API_TOKEN",
    "BRIA_API_KEY",
    "SEGMIND_API_KEY",
    "INFERENCE_API_KEY",
    "INFERENCESH_API_KEY",
    "FIBO_PROMPTS_BACKEND",
)


@pytest.fixture(autouse=True)
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No API key in the environment: the preview backend, as for a newcomer."""
    for name in KEYS:
        monkeypatch.delenv(name, raising=False)


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_lint_of_a_missing_file_does_not_also_say_no_findings(tmp_path: Path) -> None:
    gone = tmp_path / "missing.json"
    code, out, err = run("lint", str(gone), "--brand", KIT)
    assert (code, out, err) == (1, f"error: {gone}: no such file\n", "1 file: 1 unreadable\n")
    code, _, err = run("lint", PRODUCT, str(gone), "--brand", KIT)
    assert (code, err) == (1, "2 files: 1 unreadable\n")


def test_lint_lists_every_word_of_any_of(tmp_path: Path) -> None:
    code, out, _ = run("lint", str(ROOT / "examples" / "portrait.json"), "--brand", KIT)
    assert code == 1
    words = "coffee, mug, cup, beans, pour-over, kettle, espresso"
    assert out.splitlines()[0].endswith(
        f"(looked for: {words}) [missing-required] "
        f"(add an object whose description names one of: {words})"
    )


def test_lib_diff_exits_1_when_the_versions_differ(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    with Library(path) as lib:
        lib.save(Path(PRODUCT).read_text(encoding="utf-8"), "hero")
        lib.save(Path(ROOT / "examples" / "minimal.json").read_text(encoding="utf-8"), "hero")
    code, out, _ = run("lib", "diff", "hero@1", "hero@2", "--library", str(path))
    assert code == 1 and out
    code, _, _ = run("lib", "diff", "hero@1", "hero@1", "--library", str(path))
    assert code == 0


def test_rollback_names_the_to_flag(tmp_path: Path) -> None:
    path = tmp_path / "lib.sqlite"
    with Library(path) as lib:
        lib.save(Path(PRODUCT).read_text(encoding="utf-8"), "hero")
        lib.set_label("hero@1", "prod")
    code, _, err = run("lib", "rollback", "hero", "prod", "--library", str(path))
    assert (code, err) == (
        1,
        "error: hero@prod has no earlier target to roll back to; give one with --to REF\n",
    )


def test_refine_without_an_edit_names_the_flags(tmp_path: Path) -> None:
    code, out, err = run("refine", PRODUCT, "-o", str(tmp_path / "x.png"))
    assert (code, out) == (2, "")
    assert (
        err == "error: refine needs --instruction TEXT, or --set PATH=VALUE and/or --patch FILE\n"
    )
    code, _, err = run(
        "refine", PRODUCT, "-i", "warmer", "--set", "lighting.conditions=x", "-o", "x.png"
    )
    assert (code, err) == (2, "error: give --instruction or --set/--patch, not both\n")


def test_a_missing_key_names_the_variable_not_api_key(tmp_path: Path) -> None:
    code, _, err = run("generate", PRODUCT, "--backend", "bria", "-o", str(tmp_path / "x.png"))
    assert (code, err) == (
        1,
        "error: bria: no API key: set BRIA_API_TOKEN (or use --backend preview)\n",
    )
    assert not (tmp_path / "x.png").exists()


def test_the_no_key_note_comes_after_input_errors(tmp_path: Path) -> None:
    gone = tmp_path / "gone.json"
    code, _, err = run("generate", str(gone), "-o", str(tmp_path / "x.png"))
    assert (code, err) == (1, f"error: {gone}: no such file\n")
    code, _, err = run("generate", PRODUCT, "--seed", "-3", "-o", str(tmp_path / "x.png"))
    assert code == 1 and err.startswith("error: ") and "note:" not in err
    code, _, err = run("generate", PRODUCT, "--seed", "3", "-o", str(tmp_path / "x.png"))
    assert code == 0 and err.startswith("note: no API key configured")


def test_get_suggests_the_nearest_key() -> None:
    code, _, err = run("get", PRODUCT, "lighting.conditon")
    assert (code, err) == (
        1,
        "error: argument PATH 'lighting.conditon': lighting has no key 'conditon'; "
        "did you mean 'conditions'? (it has: conditions, direction, shadows)\n",
    )


def test_usage_errors_start_with_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["fibo", "lint", PRODUCT])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.splitlines()[-1] == "error: Missing option '--brand' / '-b'."
    assert "Error:" not in err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"short_description": "abc',
            "1:23: not valid JSON: unterminated string: the string that starts here has no "
            "closing quote (the text ends before it: is it cut short?)",
        ),
        (
            '{"short_description": "x",\n "lighting": {"conditions": "a"',
            "2:32: not valid JSON: Expecting ',' delimiter (the text ends here: is it cut short?)",
        ),
        ('{"a": tru}', "1:7: not valid JSON: Expecting value"),
    ],
)
def test_json_errors_are_whole_sentences(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(text, encoding="utf-8")
    code, out, _ = run("validate", str(path))
    assert (code, out) == (1, f"{path}:{message}\n")


# ---------------------------------------------------------------------- contact sheets (item 7)

ANGLE = "photographic_characteristics.camera_angle"


def _vary(out: Path, *extra: str) -> None:
    code, _, err = run(
        "vary", PRODUCT, "--seed", "3", "-o", str(out),
        "--set", f"{ANGLE}=low angle shot from the floor level",
        "--set", f"{ANGLE}=low angle shot from the floor, wide", *extra,
    )  # fmt: skip
    assert code == 0, err


def test_contact_sheet_cells_are_256_px_by_default_and_cell_size_changes_them(
    tmp_path: Path,
) -> None:
    from PIL import Image

    _vary(tmp_path / "a")
    with Image.open(tmp_path / "a" / "contact_sheet.png") as sheet:
        assert sheet.width == 2 * (256 + 12) + 12
    _vary(tmp_path / "b", "--cell-size", "320")
    with Image.open(tmp_path / "b" / "contact_sheet.png") as sheet:
        assert sheet.width == 2 * (320 + 12) + 12
    code, _, err = run("vary", PRODUCT, "--set", "seed=1", "--cell-size", "10", "-o", "x")
    assert code == 2 and "--cell-size" in err


def test_sheet_labels_keep_what_tells_them_apart() -> None:
    from fibo_prompts.generate.contact_sheet import label_lines

    a = label_lines(f"seed 1, {ANGLE} = low angle shot from the floor level", 256)
    b = label_lines(f"seed 1, {ANGLE} = low angle shot from the floor, wide", 256)
    assert a != b
    assert len(a) <= 2 and len(b) <= 2
    assert a[-1].endswith("floor level") and b[-1].endswith("floor, wide")
    assert all(len(line) <= 256 // 7 for line in a + b)


def test_inspect_shows_a_contact_sheets_manifest(tmp_path: Path) -> None:
    import json

    _vary(tmp_path)
    sheet = str(tmp_path / "contact_sheet.png")
    code, out, err = run("inspect", sheet)
    assert (code, err) == (0, "")
    assert out.splitlines()[:3] == [
        "a contact sheet of a vary run on preview (PREVIEW images), 2 cells",
        f"  01_camera_angle-low-angle-shot-from-the.png  {ANGLE} = low angle shot from the "
        "floor level  seed 3",
        f"  02_camera_angle-low-angle-shot-from-the.png  {ANGLE} = low angle shot from the "
        "floor, wide  seed 3",
    ]
    code, out, _ = run("inspect", sheet, "--format", "json")
    manifest = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    assert code == 0 and json.loads(out) == {"fibo:contact_sheet": manifest}
    code, _, err = run("inspect", sheet, "--wire")
    assert (code, err) == (
        1,
        f"error: {sheet}: a contact sheet has no structured prompt; inspect one of its images\n",
    )


def test_the_cli_defaults_are_the_librarys() -> None:
    """The defaults the CLI declares and prints (without importing the library, to keep
    ``fibo --help`` fast) are the library's own."""
    assert _limits.DEFAULT_CELL_SIZE == DEFAULT_CELL_SIZE == 256
    thumb = inspect.signature(VariationRun.contact_sheet_png).parameters["thumb"].default
    assert thumb == DEFAULT_CELL_SIZE
    assert _limits.DEFAULT_MAX_BYTES == DEFAULT_MAX_BYTES == 1_000_000
    for client in (Client, AsyncClient):
        parameters = inspect.signature(client).parameters
        assert parameters["max_image_bytes"].default == _limits.MAX_IMAGE_BYTES == 50 * 2**20
        assert parameters["request_timeout"].default == _limits.REQUEST_TIMEOUT == 600
    code, out, _ = run("generate", "--help")
    assert code == 0
    assert "Default 52428800 (50 MiB)." in out
    assert "Default 600." in out
