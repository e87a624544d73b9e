"""Fixtures of the notebook tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from notebook_helpers import png_bytes


@pytest.fixture
def image_file(tmp_path: Path) -> Path:
    """A 64x48 PNG on disk."""
    path = tmp_path / "image.png"
    path.write_bytes(png_bytes())
    return path
