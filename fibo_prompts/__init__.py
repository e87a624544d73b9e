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
    from fibo_prompts.brand import (
        AppliedChange,
        BrandKit,
        Finding,
        Template,
        apply_brand,
        lint,
        list_templates,
        load_template,
    )
    from fibo_prompts.errors import (
        BrandKitError,
        FiboPromptsError,
        FileAccessError,
        MissingVariablesError,
        PromptError,
        PromptIssue,
        PromptParseError,
        PromptPathError,
        PromptTooLargeError,
        PromptValidationError,
        TemplateError,
        TemplateNotFoundError,
        TemplateSecurityError,
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
    "AppliedChange": "fibo_prompts.brand",
    "BrandKit": "fibo_prompts.brand",
    "BrandKitError": "fibo_prompts.errors",
    "Finding": "fibo_prompts.brand",
    "MissingVariablesError": "fibo_prompts.errors",
    "Template": "fibo_prompts.brand",
    "TemplateError": "fibo_prompts.errors",
    "TemplateNotFoundError": "fibo_prompts.errors",
    "TemplateSecurityError": "fibo_prompts.errors",
    "apply_brand": "fibo_prompts.brand",
    "lint": "fibo_prompts.brand",
    "list_templates": "fibo_prompts.brand",
    "load_template": "fibo_prompts.brand",
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
    "AppliedChange",
    "BrandKit",
    "BrandKitError",
    "FiboPromptsError",
    "FileAccessError",
    "Finding",
    "Lighting",
    "MissingVariablesError",
    "PhotographicCharacteristics",
    "PromptError",
    "PromptIssue",
    "PromptObject",
    "PromptParseError",
    "PromptPathError",
    "PromptTooLargeError",
    "PromptValidationError",
    "StructuredPrompt",
    "Template",
    "TemplateError",
    "TemplateNotFoundError",
    "TemplateSecurityError",
    "TextRender",
    "WireStyle",
    "__version__",
    "apply_brand",
    "lint",
    "list_templates",
    "load_template",
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
