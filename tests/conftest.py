"""Shared fixtures: the project's examples, Bria's reference examples (skipped if absent), an
isolated data folder, and the emulator."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from fibo_prompts.emulator import Emulator, EmulatorConfig

ROOT = Path(__file__).resolve().parent.parent
PROJECT_EXAMPLES = sorted((ROOT / "examples").glob("*.json"))
BRIA_EXAMPLES_DIR = ROOT.parent / "shared" / "reference" / "examples"
BRIA_EXAMPLE_NAMES = [
    "bria_skill_vgl_example_output.json",
    "fibo_default_json_caption.json",
    "fibo_examples_outputs_generate.json",
    "fibo_examples_outputs_inspire.json",
    "fibo_examples_outputs_refine_edited.json",
    "fibo_examples_outputs_refine_original.json",
    "fibo_fine_tuning_example_structured_prompt.json",
    "fibo_finetune_metadata_5ef348c8_text_render.json",
]


def bria_example(name: str) -> str:
    """The text of one of Bria's reference examples, or skip the test when it is absent."""
    path = BRIA_EXAMPLES_DIR / name
    if not path.is_file():
        pytest.skip(f"Bria reference example {name} not available")
    return path.read_text(encoding="utf-8")


@pytest.fixture(params=BRIA_EXAMPLE_NAMES)
def bria_text(request: pytest.FixtureRequest) -> str:
    """Each of Bria's eight reference examples, as text."""
    return bria_example(request.param)


@pytest.fixture(params=[p.name for p in PROJECT_EXAMPLES])
def project_text(request: pytest.FixtureRequest) -> str:
    """Each of the project's own examples, as text."""
    return (ROOT / "examples" / request.param).read_text(encoding="utf-8")


MINIMAL: dict[str, object] = {
    "short_description": "An apple.",
    "background_setting": "White wall.",
    "lighting": {"conditions": "daylight", "direction": "front-lit"},
    "aesthetics": {"composition": "centered", "color_scheme": "red", "mood_atmosphere": "calm"},
    "context": "Still life.",
}


@pytest.fixture(autouse=True)
def isolated_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Path:
    """Point FIBO_PROMPTS_HOME (journal, image store) at a fresh folder: tests never write to
    the user's data directory, and never pick up a developer's API keys."""
    home = tmp_path_factory.mktemp("fibo_home")
    monkeypatch.setenv("FIBO_PROMPTS_HOME", str(home))
    for key in ("BRIA_API_TOKEN", "SEGMIND_API_KEY", "INFERENCE_API_KEY", "FIBO_PROMPTS_BACKEND"):
        monkeypatch.delenv(key, raising=False)
    return home


@pytest.fixture
def emulator_config() -> EmulatorConfig:
    """Override in a test module to change the emulator's behaviour."""
    return EmulatorConfig(duration_s=0.05, seed=1, image_size=64)


#: what ``start_emulator`` gives: ``start_emulator(EmulatorConfig(...))`` (default: the
#: module's ``emulator_config``), a running emulator
StartEmulator = Callable[..., Emulator]


@pytest.fixture
def start_emulator(emulator_config: EmulatorConfig) -> Iterator[StartEmulator]:
    """The one way the tests run the emulator: on 127.0.0.1 and a free port, with
    the config given (default: ``emulator_config``) and ``Emulator``'s other options
    (``tls=``); every one started is stopped after the test, whatever happened."""
    with ExitStack() as running:

        def start(config: EmulatorConfig | None = None, **options: Any) -> Emulator:
            return running.enter_context(Emulator(config or emulator_config, **options))

        yield start


@pytest.fixture
def emulator(start_emulator: StartEmulator) -> Emulator:
    """The emulator with the module's ``emulator_config``, stopped after the test."""
    return start_emulator()
