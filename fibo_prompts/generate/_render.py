"""The preview renderer: a deterministic placeholder image drawn from a prompt and a seed.

Used by the ``preview`` backend (no network, no key) and by the emulator for its result
images. The same (prompt, seed, aspect ratio, size) always gives the same bytes with a given
Pillow version. Every image says PREVIEW in large letters: it is not a FIBO render.
"""

from __future__ import annotations

import hashlib
import io
import json
import textwrap
from typing import Any, Final

__all__ = ["ASPECT_RATIOS", "dimensions", "render_preview"]

ASPECT_RATIOS: Final = (
    "1:1",
    "2:3",
    "3:2",
    "3:4",
    "4:3",
    "4:5",
    "5:4",
    "9:16",
    "16:9",
)

LABEL: Final = "PREVIEW - not a FIBO render"


def dimensions(aspect_ratio: str | None, longest: int) -> tuple[int, int]:
    """Width and height for ``aspect_ratio`` ("W:H", default 1:1) with the longest side given."""
    w, h = 1, 1
    if aspect_ratio:
        try:
            w, h = (int(part) for part in aspect_ratio.split(":", 1))
        except ValueError:
            w, h = 1, 1
        if w <= 0 or h <= 0:
            w, h = 1, 1
    if w >= h:
        return longest, max(1, round(longest * h / w))
    return max(1, round(longest * w / h)), longest


def _summary(wire: str | None, text: str | None) -> str:
    if wire:
        try:
            data: Any = json.loads(wire)
        except ValueError:
            data = None
        if isinstance(data, dict) and isinstance(data.get("short_description"), str):
            return str(data["short_description"])
    return text or ""


def render_preview(
    wire: str | None,
    text: str | None,
    seed: int,
    aspect_ratio: str | None = None,
    *,
    longest: int = 512,
    image_format: str = "PNG",
) -> bytes:
    """Encoded image bytes (PNG or JPEG) of a labelled preview of the prompt.

    The background colour and a few blocks are derived from a hash of the wire string (or
    text) and the seed; the short description and the seed are written on it.
    """
    from PIL import Image, ImageDraw, PngImagePlugin

    digest = hashlib.sha256(f"{seed}\0{wire or ''}\0{text or ''}".encode()).digest()
    width, height = dimensions(aspect_ratio, longest)
    background = (digest[0] // 2 + 64, digest[1] // 2 + 64, digest[2] // 2 + 64)
    image = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    for i in range(3):
        b = digest[3 + i * 5 : 8 + i * 5]
        x0, y0 = b[0] * width // 400, b[1] * height // 400
        x1, y1 = x0 + (b[2] % 64 + 32) * width // 256, y0 + (b[3] % 64 + 32) * height // 256
        draw.rectangle((x0, y0, x1, y1), fill=(b[4], 255 - b[4], (b[4] * 7) % 256))
    draw.rectangle((0, 0, width, 22), fill=(0, 0, 0))
    draw.text((6, 5), LABEL, fill=(255, 255, 0))
    lines = textwrap.wrap(_summary(wire, text), width=max(10, width // 7))[:6]
    for n, line in enumerate([*lines, f"seed {seed}"]):
        draw.text((6, 30 + n * 14), line, fill=(255, 255, 255))
    out = io.BytesIO()
    if image_format.upper() == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("fibo_prompts:preview", "true")
        info.add_text("fibo_prompts:seed", str(seed))
        if wire is not None:
            info.add_itxt("fibo_prompts:wire", wire)
        image.save(out, format="PNG", pnginfo=info)
    else:
        image.save(out, format=image_format.upper(), quality=85)
    return out.getvalue()
