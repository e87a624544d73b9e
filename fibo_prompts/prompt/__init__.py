"""The structured prompt: models, wire-faithful parsing and editing, paths, checks, schema."""

from fibo_prompts.prompt._cst import WireStyle
from fibo_prompts.prompt._jsonload import DEFAULT_MAX_BYTES
from fibo_prompts.prompt._parse import DEFAULT_STYLE, PRETTY_STYLE
from fibo_prompts.prompt.models import (
    Aesthetics,
    Lighting,
    PhotographicCharacteristics,
    PromptObject,
    QualityLevel,
    StructuredPrompt,
    TextRender,
)
from fibo_prompts.prompt.paths import format_path, parse_path

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_STYLE",
    "PRETTY_STYLE",
    "Aesthetics",
    "Lighting",
    "PhotographicCharacteristics",
    "PromptObject",
    "QualityLevel",
    "StructuredPrompt",
    "TextRender",
    "WireStyle",
    "format_path",
    "parse_path",
]
