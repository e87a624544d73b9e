"""The README stays true: its commands and its Python example run as written."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
BIN = Path(sys.executable).parent


def _blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.DOTALL)


def _commands() -> list[str]:
    lines = [line for block in _blocks("console") for line in block.splitlines()]
    return [line.removeprefix("$ ") for line in lines if line.startswith("$ ")]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of what the README's commands touch, so --in-place never edits the repository."""
    work = tmp_path_factory.mktemp("readme")
    for folder in ("examples", "schemas", "templates"):
        if (ROOT / folder).is_dir():
            shutil.copytree(ROOT / folder, work / folder)
    return work


def test_quick_start_has_exactly_two_commands() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    commands = [line.split("#")[0].strip() for line in _blocks("sh")[0].splitlines()]
    assert [c for c in commands if c] == ["make demo", "make test"]
    assert "```sh" in quick
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci


@pytest.mark.parametrize("command", _commands())
def test_readme_command_runs(command: str, workdir: Path) -> None:
    expected = 0
    match = re.search(r"#\s*exits? (\d)", command)
    if match:
        expected = int(match[1])
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.endswith(("_API_KEY", "_API_TOKEN")) and not key.startswith("FIBO_PROMPTS_")
    }
    env["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
    env["FIBO_PROMPTS_HOME"] = str(workdir / "home")
    result = subprocess.run(
        ["bash", "-c", command], cwd=workdir, env=env, capture_output=True, text=True
    )
    assert result.returncode == expected, result.stdout + result.stderr


def test_readme_python_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    for block in _blocks("python"):
        exec(compile(block, "README.md", "exec"), {})  # noqa: S102 - our own documentation
