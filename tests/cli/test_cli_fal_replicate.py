"""``fibo generate --backend fal|replicate`` against the emulator (issue 17 item 5): the key
from ``FAL_KEY`` / ``REPLICATE_API_TOKEN``, the service URL from its variable, and fal's
re-serialised wire as one ``note:`` line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.cli._generate import register
from fibo_prompts.emulator import EmulatorConfig
from fibo_prompts.provenance import read_provenance
from tests.conftest import StartEmulator

# the CLI shows the library's warnings as notes: let this one through pytest's "error" filter
pytestmark = pytest.mark.filterwarnings(
    "default::fibo_prompts.generate.backends.fal.WireChangedWarning"
)
ROOT = Path(__file__).resolve().parents[2]
PRETTY = str(ROOT / "examples" / "minimal.json")


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)
    return app


@pytest.fixture(autouse=True)
def _no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FAL_KEY", "FAL_KEY_ID", "FAL_KEY_SECRET", "REPLICATE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def test_fal_generate_notes_the_effective_wire(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_emulator: StartEmulator
) -> None:
    monkeypatch.setenv("FAL_KEY", "fal-key")
    out = tmp_path / "fal.png"
    emu = start_emulator(EmulatorConfig(duration_s=0.01, image_size=64))
    monkeypatch.setenv("FIBO_PROMPTS_FAL_BASE_URL", emu.url)
    result = CliRunner().invoke(
        app,
        [
            "generate",
            PRETTY,
            "--backend",
            "fal",
            "--seed",
            "4",
            "-o",
            str(out),
            "--expected-duration",
            "0.05",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "note: fal: fal takes the structured prompt as a JSON object and FIBO reads its "
        "re-serialization, not your wire (spacing change); provenance records the effective wire"
    ) in result.output
    assert "backend fal, seed 4" in result.output
    wire = Path(PRETTY).read_text(encoding="utf-8")
    assert read_provenance(out).wire == json.dumps(json.loads(wire))


def test_replicate_generate(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_emulator: StartEmulator
) -> None:
    monkeypatch.setenv("REPLICATE_API_TOKEN", "r8_token")
    out = tmp_path / "rep.png"
    emu = start_emulator(EmulatorConfig(duration_s=0.01, image_size=64))
    monkeypatch.setenv("FIBO_PROMPTS_REPLICATE_BASE_URL", emu.url)
    result = CliRunner().invoke(
        app,
        [
            "generate",
            PRETTY,
            "--backend",
            "replicate",
            "--seed",
            "5",
            "-o",
            str(out),
            "--expected-duration",
            "0.05",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "backend replicate, seed 5" in result.output and "note:" not in result.output
    assert read_provenance(out).wire == Path(PRETTY).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("backend", "variable"), [("fal", "FAL_KEY"), ("replicate", "REPLICATE_API_TOKEN")]
)
def test_a_missing_key_names_its_variable(app: typer.Typer, backend: str, variable: str) -> None:
    result = CliRunner().invoke(app, ["generate", PRETTY, "--backend", backend])
    assert result.exit_code == 1
    assert (
        result.output
        == f"error: {backend}: no API key: set {variable} (or use --backend preview)\n"
    )
