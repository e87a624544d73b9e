"""Fixtures of the library tests: a fresh library on disk with a fixed clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fibo_prompts.library import Library
from tests.library.helpers import fixed_clock


@pytest.fixture
def lib_path(tmp_path: Path) -> Path:
    return tmp_path / "lib" / "prompts.sqlite"


@pytest.fixture
def lib(lib_path: Path) -> Iterator[Library]:
    library = Library(lib_path, author="ada", clock=fixed_clock())
    yield library
    library.close()
