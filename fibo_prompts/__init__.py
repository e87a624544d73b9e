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
    from fibo_prompts.diff import (
        Change,
        DiffOptions,
        GenerationDiff,
        GenerationRecord,
        ImageDifference,
        PromptDiff,
        diff,
        diff_generations,
    )
    from fibo_prompts.errors import (
        APIConnectionError,
        APIError,
        APIStatusError,
        AuthenticationError,
        BackendNotFoundError,
        BrandKitError,
        ConfigurationError,
        ContentModerationError,
        FiboPromptsError,
        FileAccessError,
        GenerationFailedError,
        ImageError,
        InsufficientCreditsError,
        InvalidParameterError,
        JobExpiredError,
        MissingVariablesError,
        PatchConflictError,
        PatchError,
        PollTimeoutError,
        PromptError,
        PromptIssue,
        PromptParseError,
        PromptPathError,
        PromptTooLargeError,
        PromptValidationError,
        RateLimitError,
        ResponseFormatError,
        ServerError,
        SubmitOutcomeUnknownError,
        TemplateError,
        TemplateNotFoundError,
        TemplateSecurityError,
        UnprocessableError,
    )
    from fibo_prompts.generate import (
        AsyncClient,
        Client,
        Generation,
        GenerationRequest,
        Job,
        JobJournal,
        JobState,
        PollPolicy,
        RetryPolicy,
        Timings,
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
    "APIConnectionError": "fibo_prompts.errors",
    "APIError": "fibo_prompts.errors",
    "APIStatusError": "fibo_prompts.errors",
    "Aesthetics": "fibo_prompts.prompt",
    "AppliedChange": "fibo_prompts.brand",
    "AsyncClient": "fibo_prompts.generate",
    "AuthenticationError": "fibo_prompts.errors",
    "BackendNotFoundError": "fibo_prompts.errors",
    "BrandKit": "fibo_prompts.brand",
    "BrandKitError": "fibo_prompts.errors",
    "Change": "fibo_prompts.diff",
    "Client": "fibo_prompts.generate",
    "ConfigurationError": "fibo_prompts.errors",
    "ContentModerationError": "fibo_prompts.errors",
    "DEFAULT_STYLE": "fibo_prompts.prompt",
    "DiffOptions": "fibo_prompts.diff",
    "FiboPromptsError": "fibo_prompts.errors",
    "FileAccessError": "fibo_prompts.errors",
    "Finding": "fibo_prompts.brand",
    "Generation": "fibo_prompts.generate",
    "GenerationDiff": "fibo_prompts.diff",
    "GenerationFailedError": "fibo_prompts.errors",
    "GenerationRecord": "fibo_prompts.diff",
    "GenerationRequest": "fibo_prompts.generate",
    "ImageDifference": "fibo_prompts.diff",
    "ImageError": "fibo_prompts.errors",
    "InsufficientCreditsError": "fibo_prompts.errors",
    "InvalidParameterError": "fibo_prompts.errors",
    "Job": "fibo_prompts.generate",
    "JobExpiredError": "fibo_prompts.errors",
    "JobJournal": "fibo_prompts.generate",
    "JobState": "fibo_prompts.generate",
    "Lighting": "fibo_prompts.prompt",
    "MissingVariablesError": "fibo_prompts.errors",
    "PatchConflictError": "fibo_prompts.errors",
    "PatchError": "fibo_prompts.errors",
    "PhotographicCharacteristics": "fibo_prompts.prompt",
    "PollPolicy": "fibo_prompts.generate",
    "PollTimeoutError": "fibo_prompts.errors",
    "PromptDiff": "fibo_prompts.diff",
    "PromptError": "fibo_prompts.errors",
    "PromptIssue": "fibo_prompts.errors",
    "PromptObject": "fibo_prompts.prompt",
    "PromptParseError": "fibo_prompts.errors",
    "PromptPathError": "fibo_prompts.errors",
    "PromptTooLargeError": "fibo_prompts.errors",
    "PromptValidationError": "fibo_prompts.errors",
    "RateLimitError": "fibo_prompts.errors",
    "ResponseFormatError": "fibo_prompts.errors",
    "RetryPolicy": "fibo_prompts.generate",
    "ServerError": "fibo_prompts.errors",
    "StructuredPrompt": "fibo_prompts.prompt",
    "SubmitOutcomeUnknownError": "fibo_prompts.errors",
    "Template": "fibo_prompts.brand",
    "TemplateError": "fibo_prompts.errors",
    "TemplateNotFoundError": "fibo_prompts.errors",
    "TemplateSecurityError": "fibo_prompts.errors",
    "TextRender": "fibo_prompts.prompt",
    "Timings": "fibo_prompts.generate",
    "UnprocessableError": "fibo_prompts.errors",
    "WireStyle": "fibo_prompts.prompt",
    "apply_brand": "fibo_prompts.brand",
    "diff": "fibo_prompts.diff",
    "diff_generations": "fibo_prompts.diff",
    "lint": "fibo_prompts.brand",
    "list_templates": "fibo_prompts.brand",
    "load_template": "fibo_prompts.brand",
}

__all__ = [
    "DEFAULT_STYLE",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "Aesthetics",
    "AppliedChange",
    "AsyncClient",
    "AuthenticationError",
    "BackendNotFoundError",
    "BrandKit",
    "BrandKitError",
    "Change",
    "Client",
    "ConfigurationError",
    "ContentModerationError",
    "DiffOptions",
    "FiboPromptsError",
    "FileAccessError",
    "Finding",
    "Generation",
    "GenerationDiff",
    "GenerationFailedError",
    "GenerationRecord",
    "GenerationRequest",
    "ImageDifference",
    "ImageError",
    "InsufficientCreditsError",
    "InvalidParameterError",
    "Job",
    "JobExpiredError",
    "JobJournal",
    "JobState",
    "Lighting",
    "MissingVariablesError",
    "PatchConflictError",
    "PatchError",
    "PhotographicCharacteristics",
    "PollPolicy",
    "PollTimeoutError",
    "PromptDiff",
    "PromptError",
    "PromptIssue",
    "PromptObject",
    "PromptParseError",
    "PromptPathError",
    "PromptTooLargeError",
    "PromptValidationError",
    "RateLimitError",
    "ResponseFormatError",
    "RetryPolicy",
    "ServerError",
    "StructuredPrompt",
    "SubmitOutcomeUnknownError",
    "Template",
    "TemplateError",
    "TemplateNotFoundError",
    "TemplateSecurityError",
    "TextRender",
    "Timings",
    "UnprocessableError",
    "WireStyle",
    "__version__",
    "apply_brand",
    "diff",
    "diff_generations",
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
