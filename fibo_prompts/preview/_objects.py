"""Placing ``objects[]``: each item's cell, depth, size, shape, pattern, colours, cluster and
label, then labels moved apart so each can be read."""

from __future__ import annotations

import math
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, Literal

from fibo_prompts.preview._boxes import Box, overlap
from fibo_prompts.preview._colours import RGB, colour_words, distinct, listed_colours, mix
from fibo_prompts.preview._fields import (
    DEFAULT_SIZE,
    SIZES,
    Depth,
    as_text,
    depth_of,
    grid_cell,
    lookup,
)
from fibo_prompts.preview._fonts import Font, ellipsize, font, printable
from fibo_prompts.prompt.labels import item_label

__all__ = [
    "JITTER",
    "MAX_CLUSTER",
    "MAX_OBJECTS",
    "Pattern",
    "PlacedObject",
    "ShapeKind",
    "View",
    "place_objects",
]

ShapeKind = Literal["ellipse", "rect", "cylinder", "triangle", "band", "figure"]
Pattern = Literal["plain", "stripes", "spots", "slices"]

#: Most an object's centre moves with the seed, as a share of the frame's width / height.
JITTER: Final = 0.02

#: Objects and text items past these counts are not drawn (FIBO's convention is 5 objects).
MAX_OBJECTS: Final = 24

#: A cluster draws at most this many copies.
MAX_CLUSTER: Final = 16


_ROUND: Final = re.compile(
    r"\b(?:round|rounded|circular|circle|sphere|spherical|oval|ovoid|ball|globe|dome|domed"
    r"|disc|disk|egg|orb|curved|curled)"
)
_CYLINDER: Final = re.compile(r"\b(?:cylind|tube|tubular|bottle|can\b|jar|mug|cup|column|pillar)")
_TRIANGLE: Final = re.compile(r"\b(?:triang|pointed|cone|conical|pyramid|peak|spire|tent)")
_BAND: Final = re.compile(r"\b(?:flat|plane|surface|slab|tabletop|floor|ground|counter)")
_FIGURE: Final = re.compile(r"\b(?:human|figure|person|people|man|woman|humanoid|silhouette)")
_WIDE: Final = re.compile(
    r"\b(?:horizontal|lying|landscape|wide|sideways|reclining|on its side|elongated|long)"
)
_TALL: Final = re.compile(r"\b(?:vertical|upright|tall|portrait)")
_STRIPES: Final = re.compile(r"\bstripe|\bstriped|\bbands?\b|\bpanels?\b")
_SPOTS: Final = re.compile(r"\bspots?\b|\bspotted|\bdots?\b|\bdotted|\bpolka|\bspeckl")

#: objects that other objects stand on: drawn first, across the whole width.
_SURFACE: Final = re.compile(
    r"^(?:surface|tabletop|table|floor|ground|countertop|counter|desk|shelf|platform|plinth"
    r"|pedestal|tray|board|mat|rug|carpet|tablecloth|worktop|bench|slab)s?$"
)

_DEPTH_ORDER: Final[dict[str, int]] = {"background": 0, "midground": 1, "foreground": 2}
_DEPTH_SCALE: Final[dict[str, float]] = {"background": 0.75, "midground": 1.0, "foreground": 1.15}
_DEPTH_SHIFT: Final[dict[str, float]] = {"background": -0.05, "midground": 0.0, "foreground": 0.05}


@dataclass(frozen=True, slots=True)
class PlacedObject:
    """One ``objects[]`` item as drawn: its shape, box, colours and label.

    ``cell`` is (row, column) in the 3x3 grid, 0-based from the top left; ``colors`` starts
    with the fill, then accents (rim, stripes, slices); ``members`` are the boxes of a
    cluster's copies (empty for a single object).
    """

    index: int
    label: str
    kind: ShapeKind
    box: Box
    colors: tuple[RGB, ...]
    pattern: Pattern
    depth: Depth
    cell: tuple[int, int]
    count: int
    members: tuple[Box, ...]
    label_box: Box
    #: Something the other objects stand on (a table, a floor): drawn first, full width.
    surface: bool = False


@dataclass(frozen=True, slots=True)
class View:
    horizon: int | None
    zoom: float


def _shape(item: Mapping[str, Any]) -> tuple[ShapeKind, float, Pattern]:
    """Kind, aspect (width / height) and pattern of an object."""
    shape = as_text(item.get("shape_and_color")).lower()
    orientation = as_text(item.get("orientation")).lower()
    pose = orientation + " " + as_text(item.get("pose")).lower()
    human = bool(as_text(item.get("clothing")) or as_text(item.get("skin_tone_and_texture")))
    kind: ShapeKind = "rect"
    aspect = 1.0
    if _FIGURE.search(shape):
        kind, aspect = "figure", 0.55
    elif _BAND.search(shape):
        kind, aspect = "band", 3.0
    elif _CYLINDER.search(shape):
        kind, aspect = "cylinder", 0.72
    elif _ROUND.search(shape):
        kind = "ellipse"
    elif _TRIANGLE.search(shape):
        kind, aspect = "triangle", 1.0
    elif human:
        kind, aspect = "figure", 0.55
    if kind == "figure":
        if re.search(r"\b(?:seated|sitting|crouch|kneel)", pose):
            aspect = 0.8
        if re.search(r"\b(?:lying|reclin)", pose):
            aspect = 1.8
    elif kind != "band":
        # the orientation decides before the shape: an "elongated" spoon "held upright"
        for words in (orientation, shape):
            if _WIDE.search(words):
                aspect = 1.6
                break
            if _TALL.search(words):
                aspect = min(aspect, 0.65)
                break
    pattern: Pattern = "plain"
    if _STRIPES.search(shape):
        pattern = "stripes"
    elif _SPOTS.search(shape):
        pattern = "spots"
    return kind, aspect, pattern


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return 1
    return max(1, min(int(value), 10_000))


def _label(item: Mapping[str, Any], count: int) -> str:
    # the same names `fibo diff` uses (objects[mug]), so a preview and a diff agree
    label = item_label("objects", {"description": as_text(item.get("description"))})
    return printable(f"{label} x{count}" if count > 1 else label)


def place_objects(
    data: Mapping[str, Any],
    palette: Sequence[RGB],
    background: tuple[RGB, RGB],
    width: int,
    height: int,
    rng: random.Random,
    label_size: int,
    area: tuple[int, int],
    view: View,
) -> tuple[PlacedObject, ...]:
    raw = data.get("objects")
    items = [i for i in raw[:MAX_OBJECTS]] if isinstance(raw, list) else []
    short = min(width, height)
    margin = round(short * 0.02)
    label_face = font(label_size)
    parsed = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            item = {"description": as_text(item)}
        location = as_text(item.get("location"))
        parsed.append((index, item, grid_cell(location), depth_of(location)))
    # objects sharing a cell and depth are spread sideways so their labels stay readable
    occupants: dict[tuple[int, int, str], list[int]] = {}
    for index, _, cell, depth in parsed:
        occupants.setdefault((*cell, depth), []).append(index)

    placed: list[PlacedObject] = []
    for index, item, cell, depth in parsed:
        row, column = cell
        jx, jy = rng.uniform(-1, 1), rng.uniform(-1, 1)
        extent = lookup(as_text(item.get("relative_size")), SIZES, DEFAULT_SIZE)
        extent *= _DEPTH_SCALE[depth] * short
        kind, aspect, pattern = _shape(item)
        surface = _is_surface(item, kind, row)
        if not surface:
            extent *= view.zoom
        w = extent * math.sqrt(aspect)
        h = extent / math.sqrt(aspect)
        shrink = min(1.0, (width - 2 * margin) / w, (height - 2 * margin) / h)
        w, h = max(4.0, w * shrink), max(4.0, h * shrink)
        group = occupants[(row, column, depth)]
        spread = (group.index(index) - (len(group) - 1) / 2) * 0.16 if len(group) > 1 else 0.0
        cx = width * ((column + 0.5) / 3 + spread + jx * JITTER)
        cy = height * ((row + 0.5) / 3 + _DEPTH_SHIFT[depth] + jy * JITTER)
        # sizes are rounded before positions, so the seed never changes a box's size
        bw, bh = round(w), round(h)
        x0 = round(min(max(cx - bw / 2, margin), width - margin - bw))
        y0 = round(min(max(cy - bh / 2, margin), height - margin - bh))
        box = Box(x0, y0, x0 + bw, y0 + bh)
        if surface:
            # what things stand on spans the frame from the horizon (or its own top) down
            top = y0 if view.horizon is None else view.horizon
            box = Box(0, min(top, height - 4), width, height)

        source = as_text(item.get("shape_and_color"))
        if not colour_words(source):
            source = as_text(item.get("description"))
        colours = distinct(colour_words(source))[:4] or (
            (palette[index % len(palette)],) if palette else ((150, 146, 140),)
        )
        listed = listed_colours(source)
        if pattern == "plain" and len(listed) >= 3:
            pattern, colours = "slices", listed[:6]
        if depth == "background":  # air between: far things take the backdrop's colour
            colours = tuple(mix(c, background[0], 0.35) for c in colours)
        count = _count(item.get("number_of_objects"))
        members = _cluster(box, kind, count, rng) if count > 1 else ()
        # a surface's label goes at its left, clear of what stands on it in the middle
        anchor = Box(0, box.y0, max(1, width // 4), box.y1) if surface else box
        label, label_box = _fit_label(
            _label(item, count), label_face, label_size, anchor, width, area
        )
        placed.append(
            PlacedObject(
                index=index,
                label=label,
                kind=kind,
                box=box,
                colors=colours,
                pattern=pattern,
                depth=depth,
                cell=cell,
                count=count,
                members=members,
                label_box=label_box,
                surface=surface,
            )
        )
    placed.sort(
        key=lambda o: (not o.surface, _DEPTH_ORDER[o.depth], -o.box.width * o.box.height, o.index)
    )
    return _separate_labels(placed, area)


def _is_surface(item: Mapping[str, Any], kind: ShapeKind, row: int) -> bool:
    """Whether an object is something others stand on: a table, floor, shelf... (its
    ``fibo diff`` name), or a flat band in the bottom row."""
    noun = item_label("objects", {"description": as_text(item.get("description"))}).lower()
    return bool(_SURFACE.match(noun)) or (kind == "band" and row == 2)


def _separate_labels(placed: list[PlacedObject], area: tuple[int, int]) -> tuple[PlacedObject, ...]:
    """Move a label that covers an earlier one just below it (above, at the bottom edge)."""
    taken: list[Box] = []
    out: list[PlacedObject] = []
    for obj in placed:
        box = obj.label_box
        for _ in range(len(taken)):
            hit = next((t for t in taken if overlap(box, t)), None)
            if hit is None:
                break
            gap = max(1, box.height // 6)
            y0 = hit.y1 + gap
            if y0 + box.height > area[1]:
                y0 = hit.y0 - gap - box.height
            if y0 < area[0]:
                break  # no room: leave it where it is
            box = Box(box.x0, y0, box.x1, y0 + box.height)
        taken.append(box)
        out.append(replace(obj, label_box=box) if box != obj.label_box else obj)
    return tuple(out)


def _cluster(box: Box, kind: ShapeKind, count: int, rng: random.Random) -> tuple[Box, ...]:
    """Boxes of a cluster's copies: a jittered grid inside the object's box."""
    shown = min(count, MAX_CLUSTER)
    columns = math.ceil(math.sqrt(shown * box.width / max(1, box.height)))
    columns = max(1, min(shown, columns))
    rows = math.ceil(shown / columns)
    cell_w, cell_h = box.width / columns, box.height / rows
    side = min(cell_w, cell_h) * 0.78
    w = side * (1.35 if kind == "band" else 1.0)
    w = min(w, cell_w * 0.95)
    boxes = []
    for n in range(shown):
        r, c = divmod(n, columns)
        cx = box.x0 + (c + 0.5) * cell_w + rng.uniform(-0.1, 0.1) * cell_w
        cy = box.y0 + (r + 0.5) * cell_h + rng.uniform(-0.1, 0.1) * cell_h
        x0 = min(max(cx - w / 2, box.x0), box.x1 - w)
        y0 = min(max(cy - side / 2, box.y0), box.y1 - side)
        boxes.append(Box(round(x0), round(y0), round(x0 + w), round(y0 + side)))
    return tuple(boxes)


def _fit_label(
    label: str, face: Font, size: int, box: Box, width: int, area: tuple[int, int]
) -> tuple[str, Box]:
    """The label, shortened to fit the image, and the pill behind it: centred on the shape,
    or under it (over it at the bottom) when the shape is too small to hold it; always
    between the banner and the caption when there is room."""
    pad = max(2, size // 3)
    label = ellipsize(label, face, width - 2 * pad)
    w = round(face.getlength(label)) + 2 * pad
    h = round(size * 1.2) + pad
    top, bottom = area
    if bottom - top < h:
        top, bottom = 0, max(h, bottom)
    cx, cy = box.center
    if box.height < h * 2.2 or box.width < w:
        cy = box.y1 + h / 2 + pad  # below the shape
        if cy + h / 2 > bottom:
            cy = box.y0 - h / 2 - pad  # above it
    x0 = max(0, round(min(max(cx - w / 2, 0), width - w)))
    y0 = max(0, round(min(max(cy - h / 2, top), bottom - h)))
    return label, Box(x0, y0, x0 + w, y0 + h)
