"""Jupyter displays and the prompt editor.

The models display themselves: a :class:`~fibo_prompts.prompt.StructuredPrompt`, a
:class:`~fibo_prompts.diff.PromptDiff`, a :class:`~fibo_prompts.jobs.Generation`, brand
lint findings and a library log each have a ``_repr_mimebundle_`` that calls into this
package, so the last expression of a cell shows as rich HTML with no setup::

    prompt = StructuredPrompt.load("examples/product_shot.json")
    prompt                                   # a foldable, annotated tree with its warnings
    display(prompt, include=["application/json"])    # JupyterLab's JSON tree instead

Every display is ``text/plain`` plus a self-contained ``text/html`` fragment (inline styles,
``<details>`` for folding, no scripts, readable on light and dark themes, every user string
escaped), with ``image/png`` for images and ``application/json`` on request. Nothing here
imports IPython. :class:`PromptEditor` (``pip install 'fibo-prompts[notebook]'``), the one
part that needs ipywidgets and drives a client, lives in :mod:`fibo_prompts.editor`; it is
re-exported here and imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fibo_prompts.notebook._html import MONO, SEVERITY, escape
from fibo_prompts.notebook._image import Thumbnail, thumbnail
from fibo_prompts.notebook.diff import diff_bundle, diff_html
from fibo_prompts.notebook.findings import findings_bundle, findings_html
from fibo_prompts.notebook.generation import generation_bundle, generation_html
from fibo_prompts.notebook.log import log_bundle, log_html
from fibo_prompts.notebook.prompt import prompt_bundle, prompt_html
from fibo_prompts.notebook.variation import (
    VariationCellLike,
    VariationRunLike,
    image_bundle,
    variation_bundle,
)

if TYPE_CHECKING:
    from fibo_prompts.editor import PromptEditor

__all__ = [
    "MONO",
    "SEVERITY",
    "PromptEditor",
    "Thumbnail",
    "VariationCellLike",
    "VariationRunLike",
    "diff_bundle",
    "diff_html",
    "escape",
    "findings_bundle",
    "findings_html",
    "generation_bundle",
    "generation_html",
    "image_bundle",
    "log_bundle",
    "log_html",
    "prompt_bundle",
    "prompt_html",
    "thumbnail",
    "variation_bundle",
]


def __getattr__(name: str) -> Any:
    # the editor (fibo_prompts.editor) needs ipywidgets, an optional extra, and imports this
    # package: import it only when asked for
    if name == "PromptEditor":
        from fibo_prompts.editor import PromptEditor

        return PromptEditor
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
