"""The metadata keys provenance is written under, the caps it is read with, and where a
sidecar record lives."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final, Literal

from fibo_prompts.provenance import _jpeg, _png

__all__ = [
    "KEYS",
    "KEY_CONTACT_SHEET",
    "KEY_GENERATION",
    "KEY_PARAMETERS",
    "KEY_PROMPT",
    "KEY_RETURNED",
    "MAX_IMAGE_BYTES",
    "MAX_METADATA_BYTES",
    "MAX_PIXELS",
    "WRITTEN_ONCE",
    "Source",
    "sidecar_path",
]

KEY_PROMPT: Final = "fibo:structured_prompt"

KEY_GENERATION: Final = "fibo:generation"

KEY_RETURNED: Final = "fibo:returned_prompt"

KEY_PARAMETERS: Final = "parameters"

#: A contact sheet's run manifest (which images, seeds and values it shows), as JSON.
KEY_CONTACT_SHEET: Final = "fibo:contact_sheet"

KEYS: Final = frozenset({KEY_PROMPT, KEY_GENERATION, KEY_RETURNED, KEY_PARAMETERS})

#: fibo-prompts writes each of these once; two in one file cannot both be believed.
WRITTEN_ONCE: Final = frozenset({KEY_PROMPT, KEY_GENERATION, KEY_RETURNED})

#: The default caps of :func:`read_provenance` (the image is untrusted input).
MAX_IMAGE_BYTES: Final = 200 * 1024 * 1024

MAX_METADATA_BYTES: Final = _png.MAX_TEXT_TOTAL

MAX_PIXELS: Final = _jpeg.MAX_PIXELS


Source = Literal["png", "exif", "sidecar"]


def sidecar_path(image: str | os.PathLike[str]) -> Path:
    """Where an image's sidecar record lives: ``hero.jpg`` → ``hero.jpg.json``.

    The full file name is kept so the sidecar never collides with a prompt ``hero.json``.
    """
    path = Path(image)
    return path.with_name(path.name + ".json")
