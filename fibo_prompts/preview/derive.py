"""Deterministic structured prompts for the offline backends (preview, emulator).

Neither has a language model, so "text → structured prompt" and "refine" follow a fixed rule,
documented here because tests and users rely on it:

* **text → JSON**: a prompt whose ``short_description`` and single object's ``description``
  are the text; background, lighting, aesthetics and context are fixed sentences; the colour
  scheme is picked from a list of eight by ``sha256(text + seed)``.
* **refine** (existing JSON + instruction): the given wire string parsed, ``short_description``
  gets ``" Refinement: <instruction>."`` appended and ``edit_instruction`` is left unset; every
  other key keeps its value and order.
* **text + JSON without instruction**: the text is the instruction.

The result is serialized with ``json.dumps(..., ensure_ascii=False)`` (spaces after ``:`` and
``,``), unlike our default wire style, like a service returning its own formatting.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Final

__all__ = ["derive_structured_prompt"]

_SCHEMES: Final = (
    "warm reds and oranges",
    "cool blues and teals",
    "muted earth tones",
    "pastel pinks and mint",
    "high-contrast black and white",
    "vibrant primary colours",
    "soft golden neutrals",
    "deep greens and browns",
)


def derive_structured_prompt(
    text: str | None, wire: str | None = None, instruction: str | None = None, seed: int = 0
) -> str:
    """A structured prompt string derived deterministically from the inputs (rule above)."""
    if wire is not None:
        data: Any = json.loads(wire)
        if not isinstance(data, dict):
            raise ValueError("the structured prompt is not a JSON object")
        change = instruction or text or ""
        short = str(data.get("short_description", ""))
        data["short_description"] = f"{short} Refinement: {change}.".strip()
        return json.dumps(data, ensure_ascii=False)
    subject = (text or instruction or "an empty scene").strip()
    pick = hashlib.sha256(f"{subject}\0{seed}".encode()).digest()[0] % len(_SCHEMES)
    data = {
        "short_description": subject,
        "objects": [
            {
                "description": subject,
                "location": "center",
                "relationship": "the only subject",
                "relative_size": "medium-to-large within frame",
                "shape_and_color": "as described",
            }
        ],
        "background_setting": "A plain, softly lit studio backdrop.",
        "lighting": {
            "conditions": "soft studio lighting",
            "direction": "front-lit",
            "shadows": "soft",
        },
        "aesthetics": {
            "composition": "centered",
            "color_scheme": _SCHEMES[pick],
            "mood_atmosphere": "calm",
        },
        "style_medium": "photograph",
        "context": "A deterministic prompt derived offline by fibo_prompts (no language model).",
        "artistic_style": "realistic",
    }
    return json.dumps(data, ensure_ascii=False)
