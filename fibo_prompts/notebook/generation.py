"""The notebook display of a :class:`~fibo_prompts.jobs.Generation`.

A downscaled thumbnail (``data:`` URI in the HTML, and ``image/png`` in the bundle) beside
what reproduces the image: backend, seed, parameters, request id, image hash and path, the
hash and summary of the structured prompt sent (the whole wire string folded below), timings
and cost. A preview-backend image is labelled as a layout PREVIEW, not a FIBO render. A
missing or unreadable image file is reported in the display instead of raising.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable
from typing import Any, Final

from fibo_prompts.errors import FiboPromptsError, ImageError
from fibo_prompts.jobs import Generation
from fibo_prompts.notebook._html import (
    GOOD,
    MONO,
    MUTED,
    SEVERITY,
    badge,
    card,
    details,
    escape,
    filter_bundle,
    kv_table,
)
from fibo_prompts.notebook._image import Thumbnail, thumbnail

__all__ = ["THUMBNAIL_SIZE", "generation_bundle", "generation_html", "generation_text"]

#: Longer side of the thumbnail shown for a generation, in pixels.
THUMBNAIL_SIZE: Final = 256
_PRE: Final = (
    f"{MONO};white-space:pre-wrap;overflow-wrap:anywhere;max-height:24em;overflow:auto;margin:4px 0"
)


def generation_bundle(
    generation: Generation,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    *,
    max_size: int = THUMBNAIL_SIZE,
) -> dict[str, Any]:
    """The Jupyter mime bundle of a generation: ``text/plain``, ``text/html`` and
    ``image/png`` (the thumbnail; absent when the image cannot be read)."""
    thumb = functools.cache(lambda: _thumbnail(generation, max_size))

    def png() -> bytes | None:
        made = thumb()
        return None if isinstance(made, str) else made.png

    bundle = filter_bundle(
        {
            "text/plain": lambda: generation_text(generation),
            "text/html": lambda: generation_html(generation, thumb=thumb()),
            "image/png": png,
        },
        include,
        exclude,
    )
    if bundle.get("image/png", b"") is None:
        del bundle["image/png"]
    return bundle


def _thumbnail(generation: Generation, max_size: int) -> Thumbnail | str:
    """The thumbnail, or why there is none."""
    try:
        data = generation.image_path.read_bytes()
    except OSError as exc:
        return f"image file not readable: {generation.image_path} ({exc.strerror or exc})"
    try:
        return thumbnail(data, max_size=max_size, source=str(generation.image_path))
    except ImageError as exc:
        return str(exc)


def _short(digest: str, length: int = 12) -> str:
    tag, sep, rest = digest.partition(":")
    return f"{tag}:{rest[:length]}" if sep else digest[:length]


def _prompt_facts(generation: Generation) -> tuple[str, str] | None:
    """(wire hash, short description) of the structured prompt sent, if one was."""
    wire = generation.wire
    if wire is None:
        return None
    digest = "sha256:" + hashlib.sha256(wire.encode("utf-8")).hexdigest()
    try:
        data = json.loads(wire)
    except ValueError:
        return digest, ""
    summary = data.get("short_description") if isinstance(data, dict) else None
    return digest, summary if isinstance(summary, str) else ""


def _params(generation: Generation) -> str:
    items = [(k, v) for k, v in generation.parameters.items() if k != "seed"]
    return ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in items)


def _timing(generation: Generation) -> str:
    t = generation.timings
    parts = [
        f"{name} {value:.2f} s"
        for name, value in (
            ("total", t.total_s),
            ("queue", t.queue_s),
            ("inference", t.inference_s),
        )
        if value is not None
    ]
    return ", ".join(parts)


def _kind(generation: Generation) -> str:
    return "PREVIEW (not a FIBO render)" if generation.preview else "FIBO render"


def generation_text(generation: Generation) -> str:
    """Plain text: what the image is, how to reproduce it, where it is."""
    lines = [
        f"Generation: {_kind(generation)}, {generation.width}x{generation.height} "
        f"{generation.media_type}",
        f"backend {generation.backend}, seed {generation.seed}, request {generation.request_id}",
    ]
    params = _params(generation)
    if params:
        lines.append(f"parameters: {params}")
    facts = _prompt_facts(generation)
    if facts is not None:
        digest, summary = facts
        lines.append(f"prompt: wire {_short(digest)} {json.dumps(summary, ensure_ascii=False)}")
    if generation.text:
        lines.append(f"text: {generation.text}")
    lines.append(f"image: {generation.image_path} (sha256:{generation.image_sha256[:12]})")
    timing = _timing(generation)
    if timing:
        lines.append(f"timings: {timing}")
    if generation.cost is not None:
        lines.append(f"cost: {generation.cost}")
    return "\n".join(lines) + "\n"


def generation_html(generation: Generation, *, thumb: Thumbnail | str | None = None) -> str:
    """The generation as a self-contained HTML fragment (see the module docstring).

    Args:
        thumb: a thumbnail computed already, or the reason there is none; computed from the
            image file when omitted.
    """
    if thumb is None:
        thumb = _thumbnail(generation, THUMBNAIL_SIZE)
    if isinstance(thumb, str):
        accent, tint = SEVERITY["warning"]
        picture = (
            f'<div style="width:12em;border-left:3px solid {accent};background:{tint};'
            f'padding:4px 8px">{escape(thumb)}</div>'
        )
    else:
        alt = escape(f"{_kind(generation)}, seed {generation.seed}")
        picture = thumb.img_tag(alt)
    kind = (
        badge("PREVIEW", SEVERITY["warning"][0])
        + f' <span style="{MUTED}">layout preview, not a FIBO render</span>'
        if generation.preview
        else badge("FIBO render", GOOD)
    )
    rows: list[tuple[str, str]] = [
        ("backend", escape(generation.backend)),
        ("seed", f'<span style="{MONO}">{generation.seed}</span>'),
    ]
    params = _params(generation)
    if params:
        rows.append(("parameters", f'<span style="{MONO}">{escape(params)}</span>'))
    facts = _prompt_facts(generation)
    if facts is not None:
        digest, summary = facts
        rows.append(
            (
                "prompt",
                f'<span style="{MONO}" title="{escape(digest)}">{escape(_short(digest))}</span> '
                f"{escape(summary)}",
            )
        )
    if generation.text:
        rows.append(("text", escape(generation.text)))
    rows.append(
        (
            "image",
            f"{generation.width}&times;{generation.height} {escape(generation.media_type)} "
            f'<span style="{MONO}" title="sha256:{escape(generation.image_sha256)}">'
            f"sha256:{escape(generation.image_sha256[:12])}</span>"
            f'<br><span style="{MONO};{MUTED}">{escape(generation.image_path)}</span>',
        )
    )
    rows.append(("request", f'<span style="{MONO}">{escape(generation.request_id)}</span>'))
    timing = _timing(generation)
    if timing:
        rows.append(("timings", escape(timing)))
    if generation.cost is not None:
        rows.append(("cost", escape(generation.cost)))
    folded = ""
    if generation.wire is not None:
        folded += details(
            f'<span style="{MUTED}">structured prompt sent ({len(generation.wire):,} characters,'
            " exact)</span>",
            f'<pre style="{_PRE}">{escape(generation.wire)}</pre>',
        )
    if generation.returned_prompt is not None:
        folded += details(
            f'<span style="{MUTED}">structured prompt returned by the service</span>',
            f'<pre style="{_PRE}">{escape(_pretty(generation))}</pre>',
        )
    body = (
        '<div style="display:flex;flex-wrap:wrap;gap:12px;align-items:flex-start">'
        f'<div style="flex:0 0 auto">{picture}</div>'
        f'<div style="flex:1 1 20em;min-width:16em"><div style="margin-bottom:4px">'
        f"<b>Generation</b> {kind}</div>{kv_table(rows)}{folded}</div></div>"
    )
    return card("generation", body)


def _pretty(generation: Generation) -> str:
    try:
        prompt = generation.returned_structured_prompt()
    except FiboPromptsError:
        return generation.returned_prompt or ""
    return "" if prompt is None else prompt.to_json("pretty")
