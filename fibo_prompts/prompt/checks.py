"""Checks beyond types: conventions FIBO was trained on, reported as warnings.

None of these make a prompt invalid; each is a likely cause of a disappointing image:
more objects than FIBO describes, over-long text, placeholder text it will paint literally,
and a prompt so long that the text encoder silently cuts its end.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.errors import PromptIssue
from fibo_prompts.prompt._validate import locate_issues

if TYPE_CHECKING:
    from fibo_prompts.prompt.models import StructuredPrompt

__all__ = [
    "MAX_OBJECTS",
    "TOKEN_CAP",
    "check_prompt",
    "estimate_tokens",
]

MAX_OBJECTS: Final = 5
MAX_SHORT_DESCRIPTION_WORDS: Final = 200
MAX_OBJECT_DESCRIPTION_WORDS: Final = 100
MAX_ARTISTIC_STYLE_WORDS: Final = 3
#: FIBO's text encoder reads at most 3,000 tokens and silently drops the rest.
TOKEN_CAP: Final = 3000
#: Warn from this share of the cap on, since the estimate is only an estimate.
TOKEN_WARNING_SHARE: Final = 0.8
#: Characters per token assumed by the estimate. English prose runs ~4 characters per token in
#: Llama-style BPE vocabularies (SmolLM3's); JSON punctuation and escapes lower it, so we err
#: on the side of warning early.
CHARS_PER_TOKEN: Final = 3.5

_PLACEHOLDERS: Final = re.compile(
    r"^\s*(?:|text|your text( here)?|text here|placeholder|lorem ipsum.*|sample text|"
    r"insert text|headline|title|tbd|todo|xxx+|\.\.\.|…|\[.*\]|<.*>|\{.*\})\s*$",
    re.IGNORECASE,
)


def estimate_tokens(wire: str) -> int:
    """A conservative estimate of how many text-encoder tokens a wire string takes."""
    return math.ceil(len(wire) / CHARS_PER_TOKEN)


def _words(text: str) -> int:
    return len(text.split())


def check_prompt(prompt: StructuredPrompt) -> list[PromptIssue]:
    """All convention warnings for a prompt, with line and column when it came from text."""
    data = prompt.to_dict()
    issues: list[PromptIssue] = []

    def warn(path: str, message: str, code: str) -> None:
        issues.append(PromptIssue(path=path, message=message, code=code, severity="warning"))

    objects = data.get("objects") or []
    if len(objects) > MAX_OBJECTS:
        warn(
            "objects",
            f"{len(objects)} objects; FIBO describes at most {MAX_OBJECTS} prominent objects "
            "(describe the rest in background_setting)",
            "too_many_objects",
        )
    words = _words(str(data.get("short_description") or ""))
    if words > MAX_SHORT_DESCRIPTION_WORDS:
        warn(
            "short_description",
            f"{words} words; FIBO's convention is at most {MAX_SHORT_DESCRIPTION_WORDS}",
            "too_long",
        )
    for index, obj in enumerate(objects):
        words = _words(str(obj.get("description") or "")) if isinstance(obj, dict) else 0
        if words > MAX_OBJECT_DESCRIPTION_WORDS:
            warn(
                f"objects[{index}].description",
                f"{words} words; FIBO's convention is at most {MAX_OBJECT_DESCRIPTION_WORDS}",
                "too_long",
            )
        count = obj.get("number_of_objects") if isinstance(obj, dict) else None
        if isinstance(count, int) and count < 2:
            warn(
                f"objects[{index}].number_of_objects",
                f"{count}: number_of_objects is for clusters of 2 or more; leave it out",
                "not_a_cluster",
            )
    for index, item in enumerate(data.get("text_render") or []):
        text = item.get("text") if isinstance(item, dict) else None
        if isinstance(text, str) and _PLACEHOLDERS.match(text):
            warn(
                f"text_render[{index}].text",
                f"{text!r} is not exact text; FIBO paints exactly the string given, so give "
                "the real words",
                "placeholder_text",
            )
    _check_artistic_style(data, warn)
    tokens = estimate_tokens(prompt.wire)
    if tokens >= TOKEN_CAP * TOKEN_WARNING_SHARE:
        state = "over" if tokens > TOKEN_CAP else "near"
        warn(
            "",
            f"about {tokens:,} tokens (estimated), {state} FIBO's {TOKEN_CAP:,}-token cap; "
            "text past the cap is cut silently",
            "token_length",
        )
    if prompt.lenient:
        for path in prompt.unknown_keys():
            warn(path, "unknown key, kept as is (FIBO's own cleaner would drop it)", "unknown_key")
    return locate_issues(issues, prompt.wire)


def _check_artistic_style(data: dict[str, Any], warn: Any) -> None:
    style = data.get("artistic_style")
    medium = str(data.get("style_medium") or "").lower()
    if isinstance(style, str) and not medium.startswith("photo"):
        words = _words(style)
        if words > MAX_ARTISTIC_STYLE_WORDS:
            warn(
                "artistic_style",
                f"{words} words; for non-photographs Bria's convention is at most "
                f"{MAX_ARTISTIC_STYLE_WORDS}",
                "too_long",
            )
