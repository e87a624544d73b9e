"""Fixtures for the emulator tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig


@pytest.fixture(autouse=True)
def _isolate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIBO_PROMPTS_HOME", str(tmp_path / "home"))


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Override in a test module to change the emulator's behaviour."""
    return EmulatorConfig(duration_s=0.05, seed=1, image_size=64)


@pytest.fixture
def emulator(emulator_config: EmulatorConfig) -> Iterator[Emulator]:
    """The emulator on 127.0.0.1 and a free port, stopped after the test."""
    with Emulator(emulator_config) as server:
        yield server
