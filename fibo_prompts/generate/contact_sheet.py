"""Contact sheets: one PNG grid of a sweep, vary or grid run, each cell labelled.

Cells are thumbnails (the longest side ``thumb`` pixels) with their label underneath (seed and
changed values); a failed cell is grey with its error. Grid runs get row and column headers.
The sheet carries the run's manifest as an iTXt ``fibo:contact_sheet`` chunk, so a sheet found
on its own still says which image files, seeds and values it shows.
"""

from __future__ import annotations

import io
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from fibo_prompts._images import decoding, open_image
from fibo_prompts._limits import DEFAULT_CELL_SIZE
from fibo_prompts.errors import ImageError
from fibo_prompts.provenance import KEY_CONTACT_SHEET, embed_contact_sheet

__all__ = ["DEFAULT_CELL_SIZE", "SheetCell", "label_lines", "render_contact_sheet"]


KEY_SHEET: Final = KEY_CONTACT_SHEET
_BACKGROUND: Final = (24, 24, 27)
_TEXT: Final = (235, 235, 235)
_MUTED: Final = (160, 160, 170)
_FAILED: Final = (70, 40, 40)
_PAD: Final = 12
_LINE: Final = 15


@dataclass(frozen=True)
class SheetCell:
    """One cell: an image (path or bytes; ``None`` for a failed cell) and its label lines."""

    image: Path | bytes | None
    lines: Sequence[str]
    error: str | None = None
    row: int = 0
    column: int = 0


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=size)


def _thumbnail(source: Path | bytes, thumb: int) -> Image.Image:
    where = None if isinstance(source, bytes) else str(source)
    prefix = "cannot read the image for the contact sheet: "
    try:
        # the declared size is checked before anything is decoded
        opened = open_image(source, path=where, prefix=prefix, hint="too large to show")
        with opened, decoding(path=where, prefix=prefix):
            # draft() lets JPEG decode at a reduced scale; reduce() is the fast integer shrink
            opened.draft("RGB", (thumb, thumb))
            image = opened.convert("RGB")
        factor = max(1, min(image.width, image.height) // thumb // 2)
        if factor > 1:
            image = image.reduce(factor)
        image.thumbnail((thumb, thumb))
        return image
    except (OSError, UnidentifiedImageError, ValueError) as exc:
        raise ImageError(
            f"cannot read the image for the contact sheet ({exc})", path=where
        ) from exc


def _elide(text: str, chars: int) -> str:
    """``text`` cut to ``chars`` in the middle: labels of one run tend to share their head
    (the same path) and differ at the end (the value), so both ends are kept."""
    if len(text) <= chars:
        return text
    tail = (chars - 1) // 2
    return text[: chars - 1 - tail] + "…" + text[len(text) - tail :]


def label_lines(text: str, width_px: int, max_lines: int = 2) -> list[str]:
    """``text`` wrapped into at most ``max_lines`` lines that fit ``width_px`` (about 7 px a
    character), elided in the middle when it is longer, so that labels differing only at the
    end stay different."""
    chars = max(8, width_px // 7)
    budget = chars * max_lines
    while True:
        lines = textwrap.wrap(_elide(text, budget), chars) or [""]
        if len(lines) <= max_lines:
            return lines
        # word breaks wasted room: elide a little more until the lines fit
        budget -= max(1, (len(lines) - max_lines) * chars // 2)


def _wrap(lines: Sequence[str], width_px: int) -> list[str]:
    out: list[str] = []
    for line in lines:
        out.extend(label_lines(line, width_px))
    return out


def render_contact_sheet(
    cells: Sequence[SheetCell],
    *,
    columns: int,
    title: str,
    row_labels: Sequence[str] = (),
    column_labels: Sequence[str] = (),
    thumb: int = DEFAULT_CELL_SIZE,
    manifest: Mapping[str, Any] | None = None,
) -> bytes:
    """The PNG bytes of a labelled grid of ``cells`` (placed by their row and column).

    Raises:
        ImageError: a cell's image cannot be read.
    """
    rows = max((c.row for c in cells), default=0) + 1
    columns = max(columns, max((c.column for c in cells), default=0) + 1)
    cell_lines = max((len(_wrap(c.lines, thumb)) for c in cells), default=1) + (
        1 if any(c.error for c in cells) else 0
    )
    cell_w, cell_h = thumb + _PAD, thumb + _PAD + cell_lines * _LINE + 4
    left = (max((len(x) for x in row_labels), default=0) * 7 + _PAD) if row_labels else 0
    left = min(left, 220)
    header_lines = max((len(label_lines(x, thumb)) for x in column_labels), default=0)
    top = 34 + (header_lines * _LINE + 6 if column_labels else 0)
    width = left + columns * cell_w + _PAD
    height = top + rows * cell_h + _PAD
    sheet = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    # about 8 px per character at 16 px: keep the title inside narrow sheets
    title = textwrap.shorten(title, max(20, (width - 2 * _PAD) // 8), placeholder="…")
    draw.text((_PAD, 10), title, fill=_TEXT, font=_font(16))
    for col, label in enumerate(column_labels[:columns]):
        for n, text in enumerate(label_lines(label, thumb)):
            x = left + col * cell_w + _PAD
            draw.text((x, 34 + n * _LINE), text, fill=_MUTED, font=_font(12))
    for row, label in enumerate(row_labels[:rows]):
        y = top + row * cell_h + thumb // 2
        text = _elide(label, max(8, (left - _PAD) // 7))
        draw.text((_PAD, y), text, fill=_MUTED, font=_font(12))
    for cell in cells:
        x = left + cell.column * cell_w + _PAD
        y = top + cell.row * cell_h
        if cell.image is not None:
            image = _thumbnail(cell.image, thumb)
            sheet.paste(image, (x + (thumb - image.width) // 2, y + (thumb - image.height) // 2))
        else:
            draw.rectangle((x, y, x + thumb - 1, y + thumb - 1), fill=_FAILED)
            draw.text((x + 8, y + 8), "FAILED", fill=_TEXT, font=_font(14))
        lines = _wrap(cell.lines, thumb)
        labelled = len(lines)
        if cell.error:
            lines.append(_elide(" ".join(cell.error.split()), max(8, thumb // 7)))
        for n, line in enumerate(lines):
            colour = _TEXT if n < labelled else (255, 140, 140)
            draw.text((x, y + thumb + 4 + n * _LINE), line, fill=colour, font=_font(12))
    out = io.BytesIO()
    sheet.save(out, format="PNG", compress_level=3)
    content = out.getvalue()
    return content if manifest is None else embed_contact_sheet(content, manifest)
