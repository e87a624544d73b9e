"""Rectangles in pixels and finding a free spot among them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Box", "free_spot", "overlap"]


@dataclass(frozen=True, slots=True)
class Box:
    """A rectangle in pixels: left, top, right, bottom (right and bottom exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        """``x1 - x0``."""
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        """``y1 - y0``."""
        return self.y1 - self.y0

    @property
    def center(self) -> tuple[float, float]:
        """The middle point."""
        return (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2

    def inside(self, width: int, height: int) -> bool:
        """Whether the box lies within a ``width`` x ``height`` image."""
        return 0 <= self.x0 <= self.x1 <= width and 0 <= self.y0 <= self.y1 <= height


def free_spot(box: Box, taken: Sequence[Box], area: tuple[int, int]) -> Box | None:
    """``box``, or the nearest box of its size straight above or below it that overlaps
    none of ``taken`` (between the banner and the caption when it fits there, else
    anywhere in the frame), or ``None`` when there is none."""
    if not any(overlap(box, t) for t in taken):
        return box
    top, bottom = area
    if bottom - top < box.height:
        top, bottom = 0, max(box.y1, bottom)
    gap = max(1, box.height // 8)
    # candidates: just below or above each taken box, nearest first
    spots = sorted(
        {y for t in taken for y in (t.y1 + gap, t.y0 - gap - box.height)},
        key=lambda y: abs(y - box.y0),
    )
    for y0 in spots:
        if top <= y0 and y0 + box.height <= bottom:
            moved = Box(box.x0, y0, box.x1, y0 + box.height)
            if not any(overlap(moved, t) for t in taken):
                return moved
    return None


def overlap(a: Box, b: Box) -> bool:
    return a.x0 < b.x1 and b.x0 < a.x1 and a.y0 < b.y1 and b.y0 < a.y1
