"""Placing ``text_render[]``: each item's cell, letter size, wrapped lines and colour; an item
that would overlap an earlier one moves to the nearest free spot, or is not drawn."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from fibo_prompts.preview._boxes import Box, free_spot
from fibo_prompts.preview._colours import BLACK, RGB, WHITE, colour_words, luma
from fibo_prompts.preview._fields import DEFAULT_TEXT_SIZE, TEXT_SIZES, as_text, grid_cell, lookup
from fibo_prompts.preview._fonts import font, printable, wrap

__all__ = ["MAX_TEXTS", "Align", "PlacedText", "place_texts"]

Align = Literal["left", "center", "right"]


MAX_TEXTS: Final = 12

_ALIGN: Final[tuple[Align, Align, Align]] = ("left", "center", "right")


@dataclass(frozen=True, slots=True)
class PlacedText:
    """One ``text_render[]`` item as drawn: wrapped lines, letter size, colour and box."""

    index: int
    text: str
    lines: tuple[str, ...]
    box: Box
    color: RGB
    font_size: int
    line_height: int
    align: Align
    cell: tuple[int, int]
    bold: bool
    shadow: bool


def place_texts(
    data: Mapping[str, Any],
    background: tuple[RGB, RGB],
    width: int,
    height: int,
    area: tuple[int, int],
) -> tuple[PlacedText, ...]:
    raw = data.get("text_render")
    items = raw[:MAX_TEXTS] if isinstance(raw, list) else []
    short = min(width, height)
    margin = max(2, round(short * 0.04))
    placed: list[PlacedText] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            item = {"text": item}
        if not isinstance(item, Mapping):
            continue
        words = printable(as_text(item.get("text"))).strip()
        if not words:
            continue
        location = as_text(item.get("location"))
        row, column = grid_cell(location)
        align = _ALIGN[column]
        max_width = (width - 2 * margin) * (0.92 if column == 1 else 0.62)
        letter = lookup(as_text(item.get("size")), TEXT_SIZES, DEFAULT_TEXT_SIZE)
        font_size = max(7, round(letter * short))
        while True:
            lines, fits = wrap(words, font(font_size), max_width, 3)
            if fits or font_size <= 8:
                break
            font_size = max(8, round(font_size * 0.85))
        if not any(lines):
            continue
        face = font(font_size)
        line_h = round(font_size * 1.18)
        text_w = min(round(max(face.getlength(line) for line in lines)), width - 2)
        text_h = min(line_h * len(lines), height - 2)
        if column == 0:
            x0 = margin
        elif column == 2:
            x0 = width - margin - text_w
        else:
            x0 = round((width - text_w) / 2)
        cy = height * (row + 0.5) / 3
        top, bottom = area[0] + margin // 2, area[1] - margin // 2
        if bottom - top < text_h:
            top, bottom = 0, height
        y0 = round(min(max(cy - text_h / 2, top), bottom - text_h))
        x0 = max(0, min(x0, width - text_w))
        y0 = max(0, min(y0, height - text_h))
        free = free_spot(Box(x0, y0, x0 + text_w, y0 + text_h), [t.box for t in placed], area)
        if free is None:
            continue  # no room left that overlaps no other text: not drawn
        x0, y0 = free.x0, free.y0
        colours = colour_words(as_text(item.get("color")))
        colour = colours[0] if colours else (WHITE if luma(background[0]) < 140 else BLACK)
        font_words = as_text(item.get("font")).lower()
        details = as_text(item.get("appearance_details")).lower()
        placed.append(
            PlacedText(
                index=index,
                text=words,
                lines=tuple(lines),
                box=Box(x0, y0, x0 + text_w, y0 + text_h),
                color=colour,
                font_size=font_size,
                line_height=line_h,
                align=align,
                cell=(row, column),
                bold=bool(re.search(r"bold|heavy|black|thick|extra", font_words)),
                shadow="shadow" in details,
            )
        )
    return tuple(placed)
