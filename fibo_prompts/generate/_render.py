"""Moved to :mod:`fibo_prompts.preview` (and ``ASPECT_RATIOS`` to :mod:`fibo_prompts.jobs`);
this name stays until every importer has switched."""

from fibo_prompts.jobs import ASPECT_RATIOS
from fibo_prompts.preview import PREVIEW_SIZE, render_preview

__all__ = ["ASPECT_RATIOS", "PREVIEW_SIZE", "render_preview"]
