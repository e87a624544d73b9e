"""The layout preview: a deterministic picture of a structured prompt, labelled PREVIEW.

Used on its own as a composition check before paying for a render (:func:`render_layout`),
by the ``preview`` backend (no network, no key) and by the emulator for its result images
(:func:`render_preview`). :func:`~.layout.plan_layout` decides where everything goes; this
module only draws it:

1. the backdrop: a vertical gradient between the background's two colours leaning towards
   the colour scheme (a backlit scene glows behind the subject); the floor below the camera
   angle's horizon, surfaces and background objects, with perspective lines (a grid when
   seen from above), all blurred for a shallow depth of field; faint rule-of-thirds lines;
2. each other object, background first: its cast shadow (away from the light), then its
   shape in its colours, with stripes, spots or slices where the prompt names them;
3. the light: the whole scene multiplied by a gradient that is brightest where the light
   comes from, tinted warm or cool by the lighting conditions; a sun marks the direction;
4. ``text_render`` texts in their own colours, object labels, the PREVIEW banner (seed,
   aspect ratio, size) and the caption strip (short description, a legend, the colour
   scheme's swatches), none of them touched by the light.

The same (prompt, seed, aspect ratio, size) gives the same pixels and the same bytes with a
given Pillow version: fonts are Pillow's bundled one, PNGs are written with a fixed
compression level and no metadata chunks (provenance is added where images are stored).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from fibo_prompts.errors import InvalidParameterError
from fibo_prompts.jobs import ASPECT_RATIOS
from fibo_prompts.preview._boxes import Box
from fibo_prompts.preview._colours import BLACK, RGB, WHITE, luma, mix
from fibo_prompts.preview._fonts import font
from fibo_prompts.preview._lighting import LightPlan
from fibo_prompts.preview._objects import PlacedObject
from fibo_prompts.preview.layout import Layout, dimensions, plan_layout, ratio_of

if TYPE_CHECKING:
    from fibo_prompts.prompt.models import StructuredPrompt

__all__ = [
    "PNG_COMPRESS_LEVEL",
    "PREVIEW_SIZE",
    "dimensions",
    "draw_layout",
    "encode_image",
    "render_layout",
    "render_layout_bytes",
    "render_preview",
]

#: Longest side of a preview-backend image: FIBO renders about one megapixel.
PREVIEW_SIZE: Final = 1024
#: zlib level 1: a 1024x1024 preview encodes in 15-20 ms; level 6 takes 1.7x as long for a
#: file only 15-25% smaller.
PNG_COMPRESS_LEVEL: Final = 1
JPEG_QUALITY: Final = 85
SIZE_RANGE: Final = (16, 4096)
#: Aspect ratios from 1:4 to 4:1 are drawn; FIBO's own range is 9:16 to 16:9.
RATIO_RANGE: Final = (0.25, 4.0)

_BANNER_TEXT: Final[RGB] = (255, 214, 0)
_LABEL_FILL: Final = (20, 20, 24, 178)
_CAPTION_FILL: Final = (12, 12, 14, 150)
_SUN: Final[RGB] = (255, 214, 90)
_HEAD: Final[RGB] = (236, 224, 210)


def render_layout(
    prompt: StructuredPrompt | Mapping[str, Any] | str | bytes | None,
    *,
    seed: int = 0,
    aspect_ratio: str = "1:1",
    size: int = PREVIEW_SIZE,
) -> Image.Image:
    """A layout preview of ``prompt`` as a Pillow image, ``size`` pixels on its longest side.

    A composition check before paying for a render: the background from
    ``background_setting`` and the colour scheme, each object a labelled shape at its
    ``location`` sized by ``relative_size`` and coloured by ``shape_and_color``,
    ``text_render`` texts in their colour, the light's direction as a gradient and the short
    description as a caption. The image says PREVIEW: it is not a FIBO render.

    ``prompt`` is a :class:`~fibo_prompts.StructuredPrompt`, a dict or a JSON string; odd
    field values never raise (the reading rules are in :mod:`.layout`), and text that is not
    a JSON object is drawn as a text prompt. The same arguments always give the same pixels;
    the seed moves objects slightly, never to another cell.

    Example::

        from fibo_prompts import StructuredPrompt
        from fibo_prompts.preview import render_layout

        prompt = StructuredPrompt.load("examples/product_shot.json")
        render_layout(prompt, seed=7, aspect_ratio="16:9").save("layout.png")

    Raises:
        InvalidParameterError: ``size`` outside 16-4096 or an aspect ratio that is not
            "W:H" between 1:4 and 4:1.
    """
    _check(aspect_ratio, size)
    return draw_layout(plan_layout(prompt, seed=seed, aspect_ratio=aspect_ratio, size=size))


def render_layout_bytes(
    prompt: StructuredPrompt | Mapping[str, Any] | str | bytes | None,
    *,
    seed: int = 0,
    aspect_ratio: str = "1:1",
    size: int = PREVIEW_SIZE,
    image_format: str = "PNG",
) -> bytes:
    """:func:`render_layout` encoded as PNG (default) or JPEG bytes, without metadata.

    Raises:
        InvalidParameterError: as :func:`render_layout`, or a format other than PNG / JPEG.
    """
    fmt = image_format.upper()
    if fmt not in ("PNG", "JPEG", "JPG"):
        raise InvalidParameterError(
            f"{image_format!r} is not an image format the preview writes; use 'PNG' or 'JPEG'",
            backend="preview",
            parameter="image_format",
        )
    image = render_layout(prompt, seed=seed, aspect_ratio=aspect_ratio, size=size)
    return encode_image(image, fmt)


def render_preview(
    wire: str | None,
    text: str | None,
    seed: int,
    aspect_ratio: str | None = None,
    *,
    longest: int = PREVIEW_SIZE,
    image_format: str = "PNG",
) -> bytes:
    """Encoded preview bytes for a request as the backends receive it; never raises.

    ``wire`` is the structured prompt string (or ``None``), ``text`` the text prompt, used
    as the caption when the wire string has no short description and drawn as a text prompt
    when there is no usable wire string. An unreadable aspect ratio is 1:1; ``longest`` is
    kept within 16-4096; a format other than JPEG is PNG.
    """
    size = min(max(int(longest), SIZE_RANGE[0]), SIZE_RANGE[1])
    ratio = ratio_of(aspect_ratio)
    if ratio is None or not RATIO_RANGE[0] <= ratio <= RATIO_RANGE[1]:
        aspect_ratio = "1:1"
    plan = plan_layout(wire, seed=seed, aspect_ratio=aspect_ratio, size=size, text=text)
    fmt = "JPEG" if image_format.upper() in ("JPEG", "JPG") else "PNG"
    return encode_image(draw_layout(plan), fmt)


def encode_image(image: Image.Image, image_format: str = "PNG") -> bytes:
    """PNG (fixed compression level, no text chunks) or JPEG bytes of ``image``."""
    out = io.BytesIO()
    if image_format.upper() in ("JPEG", "JPG"):
        image.save(out, format="JPEG", quality=JPEG_QUALITY)
    else:
        image.save(out, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    return out.getvalue()


def _check(aspect_ratio: str, size: int) -> None:

    if isinstance(size, bool) or not isinstance(size, int):
        raise InvalidParameterError(
            f"expected a whole number of pixels (got {size!r})", backend="preview", parameter="size"
        )
    if not SIZE_RANGE[0] <= size <= SIZE_RANGE[1]:
        raise InvalidParameterError(
            f"{size} is outside {SIZE_RANGE[0]}-{SIZE_RANGE[1]} pixels; pick a size in that range",
            backend="preview",
            parameter="size",
        )
    ratio = ratio_of(aspect_ratio)
    if ratio is None or not RATIO_RANGE[0] <= ratio <= RATIO_RANGE[1]:
        raise InvalidParameterError(
            f"{aspect_ratio!r} is not an aspect ratio 'W:H' between 1:4 and 4:1 "
            f"(FIBO's: {', '.join(ASPECT_RATIOS)})",
            backend="preview",
            parameter="aspect_ratio",
        )


# --------------------------------------------------------------------------- drawing


def draw_layout(plan: Layout) -> Image.Image:
    """Draw a :class:`~._layout.Layout` (from :func:`~.layout.plan_layout`) as an RGB image."""

    image = _backdrop(plan)
    draw = ImageDraw.Draw(image, "RGBA")
    light = plan.lighting
    backlit = light.direction == "back"
    short = min(plan.width, plan.height)
    stroke = max(1, short // 320)
    _floor(draw, plan)
    # surfaces first, then the far objects; a shallow depth of field blurs all of those
    behind = [o for o in plan.objects if o.surface or o.depth == "background"]
    for obj in behind:
        _draw_object(draw, obj, light, backlit, stroke, plan.background[0])
    _perspective(draw, plan)
    if plan.focus_blur:
        image = _defocus(image, plan.focus_blur)
        draw = ImageDraw.Draw(image, "RGBA")
    _thirds(draw, plan)
    for obj in plan.objects:
        if not (obj.surface or obj.depth == "background"):
            _draw_object(draw, obj, light, backlit, stroke, plan.background[0])
    lit = _light_map(plan)
    if lit is not None:
        image = ImageChops.multiply(image, lit)
        draw = ImageDraw.Draw(image, "RGBA")
    if light.glyph is not None:
        _sun(draw, *light.glyph)
    if plan.note:
        face = font(plan.label_size)
        ink = (0, 0, 0, 120) if luma(plan.background[0]) > 110 else (255, 255, 255, 140)
        x = (plan.width - face.getlength(plan.note)) / 2
        draw.text((max(0.0, x), plan.height / 2 - plan.label_size), plan.note, font=face, fill=ink)
    for item in plan.texts:
        face = font(item.font_size)
        for n, line in enumerate(item.lines):
            length = face.getlength(line)
            if item.align == "left":
                x = float(item.box.x0)
            elif item.align == "right":
                x = item.box.x1 - length
            else:
                x = (item.box.x0 + item.box.x1 - length) / 2
            y = item.box.y0 + n * item.line_height
            bold = max(1, item.font_size // 24) if item.bold else 0
            if item.shadow:
                off = max(1, item.font_size // 16)
                draw.text(
                    (x + off, y + off), line, font=face, fill=(0, 0, 0, 110), stroke_width=bold
                )
            draw.text(
                (x, y), line, font=face, fill=item.color, stroke_width=bold, stroke_fill=item.color
            )
    label_face = font(plan.label_size)
    pad = max(2, plan.label_size // 3)
    for obj in plan.objects:
        box = obj.label_box
        radius = max(1, min(box.height // 2, pad * 2))
        draw.rounded_rectangle(_xy(box), radius=radius, fill=_LABEL_FILL)
        draw.text((box.x0 + pad, box.y0 + pad / 2), obj.label, font=label_face, fill=WHITE)
    _banner(draw, plan)
    _caption(draw, plan)
    return image


def _xy(box: Box) -> tuple[int, int, int, int]:
    # Pillow's boxes include the right and bottom pixel; ours exclude them
    return box.x0, box.y0, max(box.x0, box.x1 - 1), max(box.y0, box.y1 - 1)


def _backdrop(plan: Layout) -> Image.Image:
    """The background gradient: one column of colours widened (exact and fast), or for a
    backlit scene a small grid with a glow behind the subject, scaled up smoothly."""

    top, bottom = plan.background
    if plan.scheme_tint is not None:  # the colour scheme colours the whole scene a little
        top, bottom = mix(top, plan.scheme_tint, 0.2), mix(bottom, plan.scheme_tint, 0.2)
    light = plan.lighting
    if light.direction != "back":
        column = Image.new("RGB", (1, 16))
        column.putdata([mix(top, bottom, n / 15) for n in range(16)])
        column = column.resize((1, plan.height), Image.Resampling.BILINEAR)
        return column.resize((plan.width, plan.height), Image.Resampling.NEAREST)
    cols, rows = 8, 16
    pixels: list[RGB] = []
    for r in range(rows):
        base = mix(top, bottom, r / (rows - 1))
        for c in range(cols):
            u, v = (c + 0.5) / cols * 2 - 1, (r + 0.5) / rows * 2 - 1
            d = math.hypot(u - light.source[0], (v - light.source[1]) * 0.8)
            pixels.append(mix(base, mix(WHITE, _SUN, 0.5), max(0.0, 0.75 - d * 0.7)))
    small = Image.new("RGB", (cols, rows))
    small.putdata(pixels)
    return small.resize((plan.width, plan.height), Image.Resampling.BILINEAR)


def _light_map(plan: Layout) -> Image.Image | None:
    """What each pixel is multiplied by: brightness (a small grid scaled up in one channel)
    times the light's tint; ``None`` for a backlit scene lit in white (its light is the
    backdrop's glow)."""

    light = plan.lighting
    if light.direction == "back" and light.tint == WHITE:
        return None
    n = 12
    sx, sy = light.source
    norm = math.hypot(sx, sy)
    levels: list[int] = []
    for r in range(n):
        for c in range(n):
            u, v = (c + 0.5) / n * 2 - 1, (r + 0.5) / n * 2 - 1
            if light.direction in ("front", "diffuse", "back"):
                t = 1 - min(1.0, (u * u + v * v) / 2)  # a vignette
            else:
                t = ((u * sx + v * sy) / norm + 1) / 2  # 1 where the light comes from
            levels.append(round(255 * (light.falloff + (1 - light.falloff) * t)))
    small = Image.new("L", (n, n))
    small.putdata(levels)
    brightness = small.resize((plan.width, plan.height), Image.Resampling.BILINEAR)
    if light.tint == WHITE:
        return brightness.convert("RGB")
    channels = [
        brightness.point([round(level * tint / 255) for level in range(256)]) for tint in light.tint
    ]
    return Image.merge("RGB", channels)


def _floor(draw: ImageDraw.ImageDraw, plan: Layout) -> None:
    """The floor from the camera angle's horizon down, a shade darker than the backdrop."""
    if plan.horizon is None or plan.horizon >= plan.height:
        return
    colour = mix(plan.background[1], BLACK, 0.16)
    draw.rectangle((0, plan.horizon, plan.width - 1, plan.height - 1), fill=colour)


def _perspective(draw: ImageDraw.ImageDraw, plan: Layout) -> None:
    """Lines on the floor that show the camera angle: converging on a vanishing point at
    the horizon, or a square grid for a view from straight above."""
    if plan.horizon is None:
        return
    w, h = plan.width, plan.height
    ink = (0, 0, 0, 40) if luma(plan.background[1]) > 110 else (255, 255, 255, 44)
    width = plan.grid_width
    if plan.horizon <= 0:
        step = max(8, min(w, h) // 8)
        for x in range(step, w, step):
            draw.line((x, 0, x, h), fill=ink, width=width)
        for y in range(step, h, step):
            draw.line((0, y, w, y), fill=ink, width=width)
        return
    vx, vy = w / 2, plan.horizon
    draw.line((0, vy, w, vy), fill=ink, width=width * 2)
    for n in range(-6, 7):
        draw.line((vx, vy, vx + n * w / 5, h), fill=ink, width=width)
    depth = h - vy
    for k in (0.12, 0.3, 0.55):
        row = vy + depth * k
        draw.line((0, row, w, row), fill=ink, width=width)


def _defocus(image: Image.Image, radius: int) -> Image.Image:
    """``image`` out of focus: blurred (at a quarter size, for speed) and softened."""

    small = image.reduce(4).filter(ImageFilter.GaussianBlur(max(1, radius / 4)))
    small = Image.blend(small, Image.new("RGB", small.size, WHITE), 0.18)
    return small.resize(image.size, Image.Resampling.BILINEAR)


def _thirds(draw: ImageDraw.ImageDraw, plan: Layout) -> None:
    w, h = plan.width, plan.height
    ink = (0, 0, 0, 34) if luma(plan.background[0]) > 110 else (255, 255, 255, 40)
    for k in (1, 2):
        x, y = round(w * k / 3), round(h * k / 3)
        draw.line((x, 0, x, h), fill=ink, width=plan.grid_width)
        draw.line((0, y, w, y), fill=ink, width=plan.grid_width)


def _edge(colour: RGB) -> RGB:
    """An outline that stands out from ``colour``: darker, or lighter for dark colours."""
    return mix(colour, BLACK, 0.5) if luma(colour) > 70 else mix(colour, WHITE, 0.45)


def _draw_object(
    draw: ImageDraw.ImageDraw,
    obj: PlacedObject,
    light: LightPlan,
    backlit: bool,
    stroke: int,
    backdrop: RGB,
) -> None:
    colours = obj.colors
    if backlit:  # against the light: a dark silhouette with a bright rim
        colours = tuple(mix(c, BLACK, 0.5) for c in colours)
    width = stroke * 2 if obj.depth == "foreground" else stroke
    rim = mix(backdrop, WHITE, 0.7) if backlit else None
    for box in obj.members or (obj.box,):
        if not obj.surface:  # a surface is what shadows fall on
            _shadow(draw, obj, box, light)
        _shape(draw, obj, box, colours, width, rim)


def _shadow(draw: ImageDraw.ImageDraw, obj: PlacedObject, box: Box, light: LightPlan) -> None:
    dx, dy = light.shadow_offset
    if not (dx or dy) or light.shadow_alpha <= 0:
        return
    shifted = (box.x0 + dx, box.y0 + dy, box.x1 - 1 + dx, box.y1 - 1 + dy)
    fill = (0, 0, 0, light.shadow_alpha)
    if obj.kind == "figure":
        head, body, radius = _figure(shifted)
        draw.rounded_rectangle(body, radius=radius, fill=fill)
        draw.ellipse(head, fill=fill)
    elif obj.kind == "ellipse":
        draw.ellipse(shifted, fill=fill)
    elif obj.kind == "triangle":
        x0, y0, x1, y1 = shifted
        draw.polygon([(x0, y1), ((x0 + x1) / 2, y0), (x1, y1)], fill=fill)
    else:
        radius = round(min(box.width, box.height) * (0.28 if obj.kind == "cylinder" else 0.1))
        draw.rounded_rectangle(shifted, radius=max(1, radius), fill=fill)


def _shape(
    draw: ImageDraw.ImageDraw,
    obj: PlacedObject,
    box: Box,
    colours: tuple[RGB, ...],
    width: int,
    rim: RGB | None,
) -> None:
    fill = colours[0]
    accent = colours[1] if len(colours) > 1 else _edge(fill)
    slices = obj.pattern == "slices"
    outline = rim or (accent if obj.pattern == "plain" and len(colours) > 1 else _edge(fill))
    xy = _xy(box)
    x0, y0, x1, y1 = xy
    w, h = x1 - x0, y1 - y0
    if obj.kind == "ellipse":
        if slices:
            step = 360 / len(colours)
            for n, colour in enumerate(colours):
                draw.pieslice(xy, -90 + n * step, -90 + (n + 1) * step, fill=colour)
            draw.ellipse(xy, outline=outline, width=width)
        else:
            draw.ellipse(xy, fill=fill, outline=outline, width=width)
            _pattern(draw, obj, box, accent, ellipse=True)
    elif obj.kind == "triangle":
        draw.polygon([(x0, y1), ((x0 + x1) / 2, y0), (x1, y1)], fill=fill, outline=outline)
    elif obj.kind == "figure":
        head, body, radius = _figure(xy)
        draw.rounded_rectangle(body, radius=radius, fill=fill, outline=outline, width=width)
        # a neutral head: the colours a prompt gives a person are nearly always clothing
        head_fill = _HEAD if rim is None else mix(_HEAD, BLACK, 0.5)  # rim: a silhouette
        draw.ellipse(head, fill=head_fill, outline=outline, width=width)
    else:
        radius = max(1, round(min(w, h) * (0.28 if obj.kind == "cylinder" else 0.1)))
        if obj.surface:  # it runs out of the frame: square corners
            radius = 1
        if slices:
            band = w / len(colours)
            draw.rounded_rectangle(xy, radius=radius, fill=colours[-1])
            for n, colour in enumerate(colours[:-1]):
                left = x0 + round(n * band)
                draw.rectangle((left, y0 + radius, x0 + round((n + 1) * band), y1 - radius), colour)
            draw.rounded_rectangle(xy, radius=radius, outline=outline, width=width)
        else:
            draw.rounded_rectangle(xy, radius=radius, fill=fill, outline=outline, width=width)
            _pattern(draw, obj, box, accent, ellipse=False)
        if obj.kind == "cylinder":
            cap = max(2, round(min(w * 0.2, h * 0.25)))
            draw.ellipse(
                (x0, y0, x1, y0 + cap), fill=mix(fill, WHITE, 0.25), outline=outline, width=width
            )


def _figure(
    xy: tuple[int, int, int, int],
) -> tuple[tuple[float, float, float, float], tuple[int, int, int, int], int]:
    """Head ellipse, body box and body corner radius of a figure in ``xy``."""
    x0, y0, x1, y1 = xy
    w, h = x1 - x0, y1 - y0
    head = min(w * 0.5, h * 0.3)
    hx = (x0 + x1) / 2
    body = (x0, round(y0 + head * 0.92), x1, y1)
    return (hx - head / 2, y0, hx + head / 2, y0 + head), body, max(1, round(w * 0.32))


def _pattern(
    draw: ImageDraw.ImageDraw, obj: PlacedObject, box: Box, ink: RGB, *, ellipse: bool
) -> None:
    """Stripes or spots inside the shape (clipped to an ellipse by computing chords)."""
    if obj.pattern in ("plain", "slices"):
        return
    x0, y0, x1, y1 = _xy(box)
    w, h = x1 - x0, y1 - y0
    cx, cy, a, b = (x0 + x1) / 2, (y0 + y1) / 2, w / 2, h / 2
    inset = 0.0 if ellipse else min(w, h) * 0.1
    if obj.pattern == "stripes":
        count = 5 if w >= h else 4
        step = w / (count * 2 + 1)
        for n in range(count):
            left = x0 + step * (1 + n * 2)
            mid = left + step / 2 - cx
            if ellipse:
                half = b * math.sqrt(max(0.0, 1 - (mid / a) ** 2)) if a else 0.0
                top, bottom = cy - half * 0.92, cy + half * 0.92
            else:
                top, bottom = y0 + inset, y1 - inset
            if bottom - top > 1:
                draw.rectangle((left, top, left + step, bottom), fill=ink)
        return
    dot = max(2.0, min(w, h) * 0.11)
    for u, v in ((-0.45, -0.3), (0.2, -0.45), (0.45, 0.05), (-0.1, 0.25), (-0.5, 0.35), (0.3, 0.5)):
        px, py = cx + u * (a - dot), cy + v * (b - dot)
        draw.ellipse((px - dot / 2, py - dot / 2, px + dot / 2, py + dot / 2), fill=ink)


def _sun(draw: ImageDraw.ImageDraw, x: int, y: int, radius: int) -> None:
    """A small sun where the light comes from."""
    outline = (110, 74, 0)
    ray = max(1, radius // 4)
    for n in range(8):
        angle = n * math.pi / 4
        c, s = math.cos(angle), math.sin(angle)
        draw.line(
            (
                x + c * radius * 1.35,
                y + s * radius * 1.35,
                x + c * radius * 1.9,
                y + s * radius * 1.9,
            ),
            fill=_SUN,
            width=ray,
        )
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=_SUN, outline=outline)


def _banner(draw: ImageDraw.ImageDraw, plan: Layout) -> None:
    box = plan.banner_box
    draw.rectangle(_xy(box), fill=(0, 0, 0))
    face = font(plan.banner_size)
    pad = max(3, round(min(plan.width, plan.height) * 0.015))
    y = box.y0 + (box.height - plan.banner_size * 1.15) / 2
    draw.text((pad, y), plan.banner, font=face, fill=_BANNER_TEXT)
    if plan.banner_right:
        x = box.x1 - pad - face.getlength(plan.banner_right)
        draw.text((x, y), plan.banner_right, font=face, fill=(215, 215, 215))


def _caption(draw: ImageDraw.ImageDraw, plan: Layout) -> None:
    box = plan.caption_box
    draw.rectangle(_xy(box), fill=_CAPTION_FILL)
    pad = max(3, round(min(plan.width, plan.height) * 0.015))
    face = font(plan.caption_size)
    line_h = round(plan.caption_size * 1.25)
    y = box.y0 + pad
    for line in plan.caption:
        draw.text((pad, y), line, font=face, fill=WHITE)
        y += line_h
    draw.text((pad, y), plan.legend, font=font(plan.legend_size), fill=(200, 200, 200))
    for swatch, colour in plan.swatches:
        draw.rectangle(_xy(swatch), fill=colour, outline=(235, 235, 235))
