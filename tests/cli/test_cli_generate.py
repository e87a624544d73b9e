"""``fibo generate``, ``fibo jobs`` and ``fibo emulator`` through their own Typer app."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.cli._generate import PREVIEW_NOTE, register
from fibo_prompts.emulator import EmulatorConfig
from tests.conftest import StartEmulator

EXAMPLE = str(Path(__file__).parents[2] / "examples" / "minimal.json")


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


def test_generate_without_key_uses_preview(app: typer.Typer, tmp_path: Path) -> None:
    out = tmp_path / "out.png"
    result = CliRunner().invoke(app, ["generate", EXAMPLE, "--seed", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"note: {PREVIEW_NOTE}" in result.output
    assert result.output.splitlines()[-1].startswith(
        f"PREVIEW (not a FIBO render) written to {out} (backend preview, seed 3, request preview-"
    )
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_generate_against_emulator_and_jobs_list(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_emulator: StartEmulator
) -> None:
    monkeypatch.setenv("SEGMIND_API_KEY", "k")
    emu = start_emulator(EmulatorConfig(duration_s=0.01))
    monkeypatch.setenv("FIBO_PROMPTS_SEGMIND_BASE_URL", emu.url)
    out = tmp_path / "x.png"
    result = CliRunner().invoke(
        app, ["generate", EXAMPLE, "--seed", "9", "-o", str(out), "--expected-duration", "0.05"]
    )
    assert result.exit_code == 0, result.output
    assert "backend segmind, seed 9" in result.output and "note:" not in result.output
    listing = CliRunner().invoke(app, ["jobs", "list"])
    assert listing.exit_code == 0
    [line] = listing.output.splitlines()
    backend, _rid, state, image = line.split("\t")
    assert (backend, state) == ("segmind", "succeeded") and image.endswith(".png")
    assert CliRunner().invoke(app, ["jobs", "resume"]).output == "nothing to resume\n"


def test_generate_bad_parameter_is_one_line(app: typer.Typer) -> None:
    result = CliRunner().invoke(app, ["generate", EXAMPLE, "--backend", "bria"])
    assert result.exit_code == 1
    assert result.output.strip().endswith(
        "error: bria: no API key: set BRIA_API_TOKEN (or use --backend preview)"
    )


def test_emulator_command_serves(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "fibo_prompts.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("listening on http://127.0.0.1:")
        import httpx

        url = line.split()[-1]
        deadline = time.monotonic() + 5
        assert httpx.get(f"{url}/_emulator/stats", timeout=deadline).json()["accepted"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        assert proc.stdout is not None
        proc.stdout.close()
