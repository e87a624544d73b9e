"""The structured prompt: models, wire-faithful parsing and editing, paths, checks, schema."""

from fibo_prompts._jsoncst import WireStyle
from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.prompt._parse import DEFAULT_STYLE, PRETTY_STYLE, read_limited
from fibo_prompts.prompt._validate import unknown_key_issues
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
    "read_limited",
    "unknown_key_issues",
]
