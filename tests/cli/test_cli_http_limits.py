"""``--max-image-bytes`` and ``--request-timeout`` on every command that builds a client, and
``-o -`` refused for images (issue 13 follow-up)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fibo_prompts.cli import _generate, _provenance, _variation
from fibo_prompts.emulator import EmulatorConfig
from fibo_prompts.errors import ConfigurationError
from tests.conftest import StartEmulator

EXAMPLE = str(Path(__file__).parents[2] / "examples" / "minimal.json")
LIMITS = ["--max-image-bytes", "1234", "--request-timeout", "2.5"]


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    _generate.register(app)
    _variation.register(app)
    _provenance.register(app)
    return app


def _image(app: typer.Typer, tmp_path: Path) -> str:
    """A preview image carrying its provenance, for refine and reproduce."""
    out = tmp_path / "made.png"
    result = CliRunner().invoke(app, ["generate", EXAMPLE, "--seed", "3", "-o", str(out)])
    assert result.exit_code == 0, result.output
    return str(out)


class _Seen:
    """Stands in for Client: records the keyword arguments, then stops the command."""

    def __init__(self) -> None:
        self.kwargs: list[dict[str, Any]] = []

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.kwargs.append(kwargs)
        raise ConfigurationError("stopped by the test")


@pytest.mark.parametrize(
    "command",
    [
        ["generate", EXAMPLE],
        ["sweep", EXAMPLE, "--count", "1"],
        ["vary", EXAMPLE, "--set", "context=x"],
        ["grid", EXAMPLE, "--seeds", "1,2", "--column", "context=x"],
        ["refine", EXAMPLE, "--set", "context=x"],
        ["reproduce", "IMAGE"],
    ],
    ids=lambda command: command[0],
)
def test_the_limits_reach_the_client(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    command = [_image(app, tmp_path) if part == "IMAGE" else part for part in command]
    seen = _Seen()
    monkeypatch.setattr("fibo_prompts.generate.Client", seen)
    result = CliRunner().invoke(app, [*command, *LIMITS], catch_exceptions=False)
    assert (result.exit_code, result.output.splitlines()[-1]) == (1, "error: stopped by the test")
    [kwargs] = seen.kwargs
    assert (kwargs["max_image_bytes"], kwargs["request_timeout"]) == (1234, 2.5)


def test_the_defaults_are_the_clients(
    app: typer.Typer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _Seen()
    monkeypatch.setattr("fibo_prompts.generate.Client", seen)
    CliRunner().invoke(app, ["generate", EXAMPLE], catch_exceptions=False)
    [kwargs] = seen.kwargs
    assert "max_image_bytes" not in kwargs and "request_timeout" not in kwargs


def test_jobs_resume_passes_the_limits(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    monkeypatch.setenv("BRIA_API_TOKEN", "k")
    emu = start_emulator(EmulatorConfig(duration_s=30, duration_sigma=0))
    left = CliRunner().invoke(
        app, ["generate", EXAMPLE, "-b", "bria", "--base-url", emu.url, "--timeout", "0.3"]
    )
    assert left.exit_code == 1, left.output
    seen = _Seen()
    monkeypatch.setattr("fibo_prompts.generate.Client", seen)
    result = CliRunner().invoke(
        app, ["jobs", "resume", "--base-url", emu.url, *LIMITS], catch_exceptions=False
    )
    assert (result.exit_code, result.output) == (
        1,
        "error: bria: cannot resume: stopped by the test\n",
    )
    [kwargs] = seen.kwargs
    assert (kwargs["max_image_bytes"], kwargs["request_timeout"]) == (1234, 2.5)


def test_a_tiny_max_image_bytes_gives_one_line_naming_the_option(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    monkeypatch.setenv("BRIA_API_TOKEN", "k")
    emu = start_emulator(EmulatorConfig(duration_s=0.01, duration_sigma=0, image_size=64))
    result = CliRunner().invoke(
        app,
        [
            "generate",
            EXAMPLE,
            "-b",
            "bria",
            "--base-url",
            emu.url,
            "--expected-duration",
            "0.01",
            "--max-image-bytes",
            "1000",
            "-o",
            str(tmp_path / "x.png"),
        ],  # fmt: skip
    )
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert re.fullmatch(
        r"error: bria request [0-9a-f-]+: the image is [0-9]+ bytes \(its Content-Length\), "
        r"over the limit of 1000 bytes, so it was not downloaded; raise --max-image-bytes "
        r"\(the client's max_image_bytes=\) if images this large are expected",
        line,
    ), line
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--max-image-bytes", "0", "--max-image-bytes must be a positive number of bytes, got 0"),
        ("--max-image-bytes", "-5", "--max-image-bytes must be a positive number of bytes, got -5"),
        ("--request-timeout", "0", "--request-timeout must be a positive number of seconds, got 0"),
        (
            "--request-timeout",
            "-1.5",
            "--request-timeout must be a positive number of seconds, got -1.5",
        ),
        (
            "--request-timeout",
            "nan",
            "--request-timeout must be a positive number of seconds, got nan",
        ),
        (
            "--request-timeout",
            "inf",
            "--request-timeout must be a positive number of seconds, got inf",
        ),
    ],
)
@pytest.mark.parametrize("command", ["generate", "sweep"])
def test_limits_must_be_positive(
    app: typer.Typer, command: str, option: str, value: str, message: str
) -> None:
    extra = ["--count", "1"] if command == "sweep" else []
    result = CliRunner().invoke(app, [command, EXAMPLE, *extra, f"{option}={value}"])
    assert (result.exit_code, result.output) == (2, f"error: {message}\n")


TO_FILE = "--output -: images are not written to stdout; give a file name"
TO_FOLDER = "--out-dir -: a run's images are written to a folder, not to stdout; give a folder name"


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (["generate", EXAMPLE, "-o", "-"], TO_FILE),
        (["generate", EXAMPLE, "--output=-"], TO_FILE),
        (["refine", EXAMPLE, "--set", "context=x", "-o", "-"], TO_FILE),
        (["reproduce", "IMAGE", "-o", "-"], TO_FILE),
        (["sweep", EXAMPLE, "--count", "1", "-o", "-"], TO_FOLDER),
        (["grid", EXAMPLE, "--seeds", "1", "--column", "context=x", "--out-dir", "-"], TO_FOLDER),
    ],
    ids=lambda item: item[0] if isinstance(item, list) else "",
)
def test_images_are_not_written_to_stdout(
    app: typer.Typer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    message: str,
) -> None:
    command = [_image(app, tmp_path) if part == "IMAGE" else part for part in command]
    monkeypatch.chdir(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = CliRunner().invoke(app, command)
    assert (result.exit_code, result.output) == (
        2,
        f"error: {message}\n",
    )
    assert sorted(tmp_path.iterdir()) == before  # no file (or folder) named -


def test_a_cap_below_the_services_answers_never_cuts_a_submit(
    app: typer.Typer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, start_emulator: StartEmulator
) -> None:
    # The cap is for images: the service's JSON answers (the submit's among them) are read up
    # to MIN_ANSWER_BYTES whatever it says, so a tiny cap cannot make a paid job "unknown".
    monkeypatch.setenv("BRIA_API_TOKEN", "k")
    monkeypatch.setenv("FIBO_PROMPTS_HOME", str(tmp_path / "home"))
    emu = start_emulator(EmulatorConfig(duration_s=0.01, duration_sigma=0, image_size=64))
    result = CliRunner().invoke(
        app,
        [
            "generate",
            EXAMPLE,
            "-b",
            "bria",
            "--base-url",
            emu.url,
            "--expected-duration",
            "0.01",
            "--max-image-bytes",
            "10",
            "-o",
            str(tmp_path / "x.png"),
        ],  # fmt: skip
    )
    stats = emu.stats()
    assert result.exit_code == 1
    [line] = result.output.splitlines()
    assert "over the limit of 10 bytes, so it was not downloaded" in line, line
    assert "outcome" not in line and "unknown" not in line
    assert stats["billed_twice"] == 0
