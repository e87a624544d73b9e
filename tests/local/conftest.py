"""Fixtures for the local ``diffusers`` backend: a tiny random-weight FIBO pipeline on disk.

The pipeline is built once per test run (local-fibo.md §4: no download, no GPU) and saved to
a temporary folder, which the backend's real loading code then reads. Tests that need torch
skip, with the reason, only where torch (or diffusers/transformers) is not installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fibo_prompts import StructuredPrompt

ROOT = Path(__file__).resolve().parents[2]
#: Small images and two steps keep each generation at a few tens of milliseconds.
TINY_SIZES = {"1:1": (32, 32), "16:9": (64, 32)}
MISSING = [n for n in ("torch", "diffusers", "transformers") if importlib.util.find_spec(n) is None]
needs_torch = pytest.mark.skipif(
    bool(MISSING),
    reason=f"{', '.join(MISSING)} not installed: pip install torch==2.13.0 'fibo-prompts[local]'",
)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny ``BriaFiboPipeline`` (folders ``model_index.json``, ``transformer``...)."""
    if MISSING:
        pytest.skip(f"{', '.join(MISSING)} not installed")
    import torch

    from fibo_prompts.generate.backends._diffusers_tiny import save_tiny_pipeline

    # one thread: the tiny models gain nothing from two, and OpenMP threads spinning on a
    # busy 2-core machine turn milliseconds into seconds
    torch.set_num_threads(1)
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny-fibo") / "pipeline")


@pytest.fixture
def options(tiny_dir: Path) -> dict[str, Any]:
    """Backend options for the tiny pipeline."""
    return {"model": str(tiny_dir), "resolutions": TINY_SIZES}


@pytest.fixture
def fresh_options(tiny_dir: Path, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Options for a pipeline of the test's own (a copy of the folder, so nothing is shared
    with the process-wide cache); unloaded afterwards."""
    import shutil

    copy = tmp_path / "pipeline"
    shutil.copytree(tiny_dir, copy)
    yield {"model": str(copy), "resolutions": TINY_SIZES}
    from fibo_prompts.generate.backends import _diffusers_runtime as runtime

    for spec in [s for s in runtime._cache if s.model == str(copy)]:
        runtime.unload(spec)


@pytest.fixture
def minimal() -> StructuredPrompt:
    """The project's minimal example (no ``style_medium``)."""
    return StructuredPrompt.load(ROOT / "examples" / "minimal.json")


@pytest.fixture
def photo() -> StructuredPrompt:
    """A prompt whose medium is a photograph (Bria's negative-prompt rule applies)."""
    return StructuredPrompt.load(ROOT / "examples" / "minimal.json").set(
        "style_medium", "Photograph"
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"
