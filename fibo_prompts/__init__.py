"""fibo_prompts: the structured-prompt workbench for Bria's FIBO text-to-image model.

Load, check, edit and write FIBO structured prompts without losing a byte::

    from fibo_prompts import StructuredPrompt

    prompt = StructuredPrompt.load("examples/product_shot.json")
    warmer = prompt.set("lighting.conditions", "golden hour")
    print(warmer.wire)            # the exact string FIBO reads; only that value changed

Names are imported on first use, so ``fibo --help`` does not pay for pydantic.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fibo_prompts.errors import (
        FiboPromptsError,
        FileAccessError,
        PromptError,
        PromptIssue,
        PromptParseError,
        PromptPathError,
        PromptTooLargeError,
        PromptValidationError,
    )
    from fibo_prompts.prompt import (
        DEFAULT_STYLE,
        Aesthetics,
        Lighting,
        PhotographicCharacteristics,
        PromptObject,
        StructuredPrompt,
        TextRender,
        WireStyle,
    )

__version__ = "0.1.0"

_LAZY: dict[str, str] = {
    "Aesthetics": "fibo_prompts.prompt",
    "DEFAULT_STYLE": "fibo_prompts.prompt",
    "FiboPromptsError": "fibo_prompts.errors",
    "FileAccessError": "fibo_prompts.errors",
    "Lighting": "fibo_prompts.prompt",
    "PhotographicCharacteristics": "fibo_prompts.prompt",
    "PromptError": "fibo_prompts.errors",
    "PromptIssue": "fibo_prompts.errors",
    "PromptObject": "fibo_prompts.prompt",
    "PromptParseError": "fibo_prompts.errors",
    "PromptPathError": "fibo_prompts.errors",
    "PromptTooLargeError": "fibo_prompts.errors",
    "PromptValidationError": "fibo_prompts.errors",
    "StructuredPrompt": "fibo_prompts.prompt",
    "TextRender": "fibo_prompts.prompt",
    "WireStyle": "fibo_prompts.prompt",
}

__all__ = [
    "DEFAULT_STYLE",
    "Aesthetics",
    "FiboPromptsError",
    "FileAccessError",
    "Lighting",
    "PhotographicCharacteristics",
    "PromptError",
    "PromptIssue",
    "PromptObject",
    "PromptParseError",
    "PromptPathError",
    "PromptTooLargeError",
    "PromptValidationError",
    "StructuredPrompt",
    "TextRender",
    "WireStyle",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fibo_prompts' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
