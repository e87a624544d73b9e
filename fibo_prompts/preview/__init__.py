"""The offline layout preview: a deterministic picture of a structured prompt, labelled PREVIEW.

It shows where each object and text would go, their colours, the light and the camera's
horizon, without a model or a network: a composition check before paying for a render, the
``preview`` backend's images and the emulator's result images.

:func:`plan_layout` reads a prompt into a :class:`Layout` (plain data: boxes, colours,
wrapped lines; the reading rules are in :mod:`fibo_prompts.preview.layout`);
:func:`draw_layout` draws one; :func:`render_layout` does both. :func:`render_preview` gives
encoded bytes for a wire string or a text prompt, and :func:`derive_structured_prompt` the
fixed-rule structured prompt the offline backends answer with.

Example::

    from fibo_prompts.preview import render_layout
    render_layout({"objects": [{"description": "A red kite.", "location": "top-left"}]})
"""

from fibo_prompts.preview._boxes import Box
from fibo_prompts.preview._colours import colour_words, listed_colours, scheme_colours
from fibo_prompts.preview._lighting import LightPlan
from fibo_prompts.preview._objects import JITTER, PlacedObject
from fibo_prompts.preview._texts import PlacedText
from fibo_prompts.preview.derive import derive_structured_prompt
from fibo_prompts.preview.layout import BANNER, NO_OBJECTS, Layout, dimensions, plan_layout
from fibo_prompts.preview.render import (
    PNG_COMPRESS_LEVEL,
    PREVIEW_SIZE,
    draw_layout,
    encode_image,
    render_layout,
    render_layout_bytes,
    render_preview,
)

__all__ = [
    "BANNER",
    "JITTER",
    "NO_OBJECTS",
    "PNG_COMPRESS_LEVEL",
    "PREVIEW_SIZE",
    "Box",
    "Layout",
    "LightPlan",
    "PlacedObject",
    "PlacedText",
    "colour_words",
    "derive_structured_prompt",
    "dimensions",
    "draw_layout",
    "encode_image",
    "listed_colours",
    "plan_layout",
    "render_layout",
    "render_layout_bytes",
    "render_preview",
    "scheme_colours",
]
