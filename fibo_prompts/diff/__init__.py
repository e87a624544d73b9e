"""Semantic diffs of structured prompts (and of generations), patches, and renderings.

What changed between two prompts, in FIBO's own vocabulary, with list items matched by
identity; patches that apply, revert and carry a refinement onto a sibling prompt without
touching any other token; renderings for logs, terminals, Jupyter and machines::

    from fibo_prompts import StructuredPrompt
    from fibo_prompts.diff import diff

    a = StructuredPrompt.load("examples/product_shot.json")
    b = a.set("lighting.conditions", "golden hour")
    d = diff(a, b)
    print(d)                       # 1 change: lighting (1) / ~ lighting.conditions: ...
    d.is_single_attribute()        # True: a controlled variation
    d.to_json_patch()              # RFC 6902 with test operations
"""

import sys
import types
from typing import Any

from fibo_prompts.diff._words import WordSegment
from fibo_prompts.diff.engine import diff
from fibo_prompts.diff.generation import (
    GenerationDiff,
    GenerationRecord,
    ImageDifference,
    ParameterChange,
    dhash,
    diff_generations,
    image_difference,
)
from fibo_prompts.diff.model import Change, ChangeKind, DiffOptions, PromptDiff
from fibo_prompts.diff.patch import (
    PatchLike,
    apply,
    carry,
    invert_json_patch,
    load_patch,
    revert,
)
from fibo_prompts.diff.render import render_html, render_json, render_rich, render_text

__all__ = [
    "Change",
    "ChangeKind",
    "DiffOptions",
    "GenerationDiff",
    "GenerationRecord",
    "ImageDifference",
    "ParameterChange",
    "PatchLike",
    "PromptDiff",
    "WordSegment",
    "apply",
    "carry",
    "dhash",
    "diff",
    "diff_generations",
    "image_difference",
    "invert_json_patch",
    "load_patch",
    "render_html",
    "render_json",
    "render_rich",
    "render_text",
    "revert",
]


class _CallableModule(types.ModuleType):
    """This subpackage, callable as :func:`diff`.

    ``fibo_prompts.diff`` names both the function (in the facade) and this subpackage, and
    Python sets the package attribute to the subpackage whenever it is first imported, so
    ``from fibo_prompts import Change, diff`` would otherwise give a module. Calling the module
    calls the function: either way ``diff(a, b)`` is the diff, and
    ``import fibo_prompts.diff as d`` still gives every name above.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> PromptDiff:
        return diff(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
