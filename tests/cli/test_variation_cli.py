"""``fibo sweep|vary|grid|refine|inspect|reproduce``: offline on preview, exact outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fibo_prompts import StructuredPrompt
from fibo_prompts.cli import app
from fibo_prompts.provenance import read_provenance
from tests.conftest import ROOT

runner = CliRunner()
PRODUCT = str(ROOT / "examples" / "product_shot.json")
WIRE = (ROOT / "examples" / "product_shot.json").read_text(encoding="utf-8")


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def varied(tmp_path: Path) -> Path:
    out = tmp_path / "vary"
    code, stdout, stderr = run(
        "vary", PRODUCT, "--set", "lighting.conditions=golden hour",
        "--set", "lighting.conditions=overcast", "--seed", "7", "-o", str(out),
    )  # fmt: skip
    assert code == 0, stderr
    assert stdout == (
        f"2 of 2 PREVIEW images (not FIBO renders) in {out}/\n"
        "  01_conditions-golden-hour.png  lighting.conditions = golden hour  seed 7\n"
        "  02_conditions-overcast.png  lighting.conditions = overcast  seed 7\n"
        f"contact sheet: {out}/contact_sheet.png\n"
    )
    return out


def test_vary_then_inspect_returns_exactly_the_wire_sent(varied: Path) -> None:
    image = varied / "02_conditions-overcast.png"
    code, stdout, _ = run("inspect", str(image), "--wire")
    expected = StructuredPrompt.parse(WIRE).set("lighting.conditions", "overcast").wire
    assert (code, stdout) == (0, expected)
    code, stdout, _ = run("inspect", str(image), "--format", "json")
    data = json.loads(stdout)
    assert data["fibo:structured_prompt"] == expected
    assert data["fibo:generation"]["seed"] == 7 and data["image_intact"] is True


def test_inspect_text_summary(varied: Path) -> None:
    image = varied / "01_conditions-golden-hour.png"
    code, stdout, _ = run("inspect", str(image))
    info = read_provenance(image)
    lines = stdout.splitlines()
    assert code == 0
    assert lines[:6] == [
        f"image:      {image}  (layout PREVIEW, not a FIBO render)",
        "stored in:  PNG iTXt chunks",
        "backend:    preview (model layout-preview)",
        f"request:    {info.request_id}",
        "seed:       7",
        f"size:       {info.record['width']}x{info.record['height']} image/png",
    ]
    assert "pixels:     as the service sent them" in lines
    assert stdout.endswith(info.wire if info.wire.endswith("\n") else info.wire + "\n")


def test_reproduce_gives_the_identical_image(varied: Path, tmp_path: Path) -> None:
    image = varied / "01_conditions-golden-hour.png"
    out = tmp_path / "again.png"
    code, stdout, stderr = run("reproduce", str(image), "-o", str(out))
    assert code == 0, stderr
    assert stdout.endswith("same wire string: yes; identical image: yes\n")
    assert out.read_bytes() == image.read_bytes()


def test_refine_an_image_with_set(varied: Path, tmp_path: Path) -> None:
    out = tmp_path / "refined.png"
    code, stdout, stderr = run(
        "refine", str(varied / "01_conditions-golden-hour.png"),
        "--set", "aesthetics.mood_atmosphere=calm", "-o", str(out), "--format", "json",
    )  # fmt: skip
    assert code == 0, stderr
    data = json.loads(stdout)
    assert (data["seed"], data["changes"]) == (7, ["aesthetics.mood_atmosphere"])
    assert read_provenance(out).wire == data["wire"]


def test_refine_a_prompt_with_an_instruction_on_preview(tmp_path: Path) -> None:
    out = tmp_path / "r.png"
    code, stdout, stderr = run(
        "refine", PRODUCT, "-i", "warmer", "--seed", "5", "-o", str(out),
        "--prompt-output", str(tmp_path / "r.json"),
    )  # fmt: skip
    assert code == 0, stderr
    assert stdout.startswith(f"PREVIEW (not a FIBO render) written to {out} (backend preview, ")
    assert "~ short_description:" in stdout
    assert (tmp_path / "r.json").read_text() == read_provenance(out).wire


def test_sweep_json_and_grid(tmp_path: Path) -> None:
    code, stdout, _ = run("sweep", PRODUCT, "--seeds", "1,2,3", "-o", str(tmp_path / "s"),
                          "--format", "json")  # fmt: skip
    data = json.loads(stdout)
    assert code == 0 and [c["seed"] for c in data["cells"]] == [1, 2, 3]
    assert data["out_dir"] == str(tmp_path / "s")
    code, stdout, _ = run(
        "grid", PRODUCT, "--seeds", "1,2", "--column", "guidance=3", "--column", "guidance=5",
        "-o", str(tmp_path / "g"),
    )  # fmt: skip
    assert code == 0
    assert stdout.splitlines()[1:5] == [
        "  01_seed-1_guidance-3.png  seed 1, guidance = 3",
        "  02_seed-1_guidance-5.png  seed 1, guidance = 5",
        "  03_seed-2_guidance-3.png  seed 2, guidance = 3",
        "  04_seed-2_guidance-5.png  seed 2, guidance = 5",
    ]
    assert (tmp_path / "g" / "contact_sheet.png").is_file()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["sweep", PRODUCT], 2, "error: give --seeds 1,2,3 or --count N (one of them)\n"),
        (["sweep", PRODUCT, "--seeds", "1,x"], 2, "error: --seeds takes comma-separated "
         "integers from 0 to 2,147,483,647, got '1,x'\n"),
        (["vary", PRODUCT, "--seed", "1"], 2, "error: give at least one --set PATH=VALUE\n"),
        (["vary", PRODUCT, "--set", "novalue"], 2, "error: expected PATH=VALUE, got 'novalue'\n"),
        (["grid", PRODUCT, "--seeds", "1"], 2, "error: a grid needs one row axis (--row "
         "NAME=VALUE or --seeds) and one column axis (--column NAME=VALUE), each repeated per "
         "value\n"),
        (["refine", PRODUCT], 2, "error: refine needs --instruction TEXT, or --set "
         "PATH=VALUE and/or --patch FILE\n"),
    ],
)  # fmt: skip
def test_usage_errors(args: list[str], code: int, message: str, tmp_path: Path) -> None:
    got, _, stderr = run(*args, "-o", str(tmp_path / "x"))
    assert (got, stderr.splitlines()[-1] + "\n") == (code, message)


def test_inspect_errors(tmp_path: Path) -> None:
    plain = tmp_path / "plain.png"
    from PIL import Image

    Image.new("RGB", (4, 4)).save(plain)
    code, _, stderr = run("inspect", str(plain))
    assert code == 1 and stderr.startswith(f"error: {plain}: no fibo:generation provenance")
    code, _, stderr = run("inspect", PRODUCT)
    assert (code, stderr) == (
        1,
        f"error: {PRODUCT}: not an image fibo-prompts can read (PNG, JPEG or WebP)\n",
    )
    code, _, stderr = run("reproduce", str(tmp_path / "missing.png"))
    assert code == 1 and "cannot read the image" in stderr
