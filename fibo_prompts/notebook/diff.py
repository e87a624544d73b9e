"""The notebook display of a :class:`~fibo_prompts.diff.PromptDiff`.

The side-by-side HTML is :meth:`PromptDiff.to_html` (word highlights, unchanged fields folded
in ``<details>``; the same rendering as ``fibo diff --format html``), shown on its own light
panel: its colours are chosen for a white page, so on a dark notebook theme the panel keeps
them readable. ``application/json`` (:meth:`PromptDiff.to_data`) only on request.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fibo_prompts.notebook._html import BORDER, filter_bundle

if TYPE_CHECKING:
    from fibo_prompts.diff import PromptDiff

__all__ = ["diff_bundle", "diff_html"]


def diff_html(diff: PromptDiff) -> str:
    """The diff's side-by-side HTML on a light panel (readable on light and dark themes)."""
    return (
        f'<div class="fibo-diff-panel" style="background:#fff;color:#1f2328;'
        f"color-scheme:light;border:1px solid {BORDER};border-radius:6px;padding:8px 10px;"
        f'max-width:100%;overflow-x:auto">{diff.to_html()}</div>'
    )


def diff_bundle(
    diff: PromptDiff,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The Jupyter mime bundle of a diff: ``text/plain`` and ``text/html`` (and
    ``application/json`` when ``include`` asks for it)."""
    return filter_bundle(
        {"text/plain": diff.to_text, "text/html": lambda: diff_html(diff)},
        include,
        exclude,
        on_request={"application/json": diff.to_data},
    )
