"""Image displays: :func:`image_bundle` for any PNG with a caption, and the display of a
sweep / vary / grid run (its labelled contact sheet and one row per cell).

:func:`image_bundle` is the building block for result classes that own a picture (a contact
sheet, a comparison strip): it returns a complete mime bundle, ``text/plain``, ``text/html``
(a titled figure, the picture embedded as a downscaled PNG ``data:`` URI, the caption under
it) and ``image/png`` (the same downscaled PNG)::

    def _repr_mimebundle_(self, include=None, exclude=None):
        from fibo_prompts.notebook import image_bundle, escape
        return image_bundle(self.contact_sheet.read_bytes(), title="vary: lighting.conditions",
                            caption_html=escape(self.summary()), text=self.summary(),
                            include=include, exclude=exclude)

:func:`variation_bundle` displays any run object with ``cells`` (each with ``values``,
``seed``, ``diff``, ``generation`` and ``error``) and ``contact_sheet`` (a PNG path or None).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from os import PathLike
from typing import TYPE_CHECKING, Any, Final, Protocol

from fibo_prompts.errors import ImageError
from fibo_prompts.notebook._html import (
    CELL,
    GOOD,
    MONO,
    MUTED,
    SEVERITY,
    TABLE,
    card,
    escape,
    filter_bundle,
)
from fibo_prompts.notebook._image import Thumbnail, thumbnail

if TYPE_CHECKING:
    from fibo_prompts.diff import PromptDiff
    from fibo_prompts.jobs import Generation

__all__ = [
    "SHEET_SIZE",
    "VariationCellLike",
    "VariationRunLike",
    "image_bundle",
    "variation_bundle",
]

#: Longer side of a contact sheet as displayed, in pixels: labels stay legible.
SHEET_SIZE: Final = 1024


def image_bundle(
    png: bytes,
    *,
    title: str,
    text: str,
    caption_html: str = "",
    max_size: int = SHEET_SIZE,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, Any]:
    """A complete mime bundle for one picture with a title and a caption.

    Args:
        png: the image (PNG, or any format Pillow reads); shown downscaled to ``max_size``.
        title: plain text, escaped here.
        text: the ``text/plain`` representation.
        caption_html: HTML shown under the picture, used as is: escape every user string in
            it with :func:`fibo_prompts.notebook.escape`.
        max_size: the longer side of the embedded picture, in pixels.
        include: IPython's ``include``.
        exclude: IPython's ``exclude``.

    An unreadable image does not raise: the HTML says why and ``image/png`` is left out.
    """
    made = functools.cache(lambda: _thumb(png, max_size))

    def figure() -> str:
        thumb = made()
        if isinstance(thumb, str):
            accent, tint = SEVERITY["warning"]
            picture = (
                f'<div style="border-left:3px solid {accent};background:{tint};padding:4px 8px">'
                f"{escape(thumb)}</div>"
            )
        else:
            picture = thumb.img_tag(escape(title))
        caption = f'<div style="margin-top:6px">{caption_html}</div>' if caption_html else ""
        return card(
            "figure",
            f'<div style="margin-bottom:4px"><b>{escape(title)}</b></div>{picture}{caption}',
        )

    def image() -> bytes | None:
        thumb = made()
        return None if isinstance(thumb, str) else thumb.png

    bundle = filter_bundle(
        {"text/plain": lambda: text, "text/html": figure, "image/png": image}, include, exclude
    )
    if "image/png" in bundle and bundle["image/png"] is None:
        del bundle["image/png"]
    return bundle


def _thumb(png: bytes, max_size: int) -> Thumbnail | str:
    try:
        return thumbnail(png, max_size=max_size)
    except ImageError as exc:
        return str(exc)


class VariationCellLike(Protocol):
    """What :func:`variation_bundle` reads from one cell of a run."""

    @property
    def values(self) -> Mapping[str, Any]:
        """The varied values of this cell, by path (``{"lighting.conditions": "dusk"}``)."""

    @property
    def seed(self) -> int | None:
        """The seed of this cell."""

    @property
    def diff(self) -> PromptDiff | None:
        """The cell's prompt against the base prompt."""

    @property
    def generation(self) -> Generation | None:
        """The image, when it was generated."""

    @property
    def error(self) -> object | None:
        """Why the cell has no image, when it failed."""


class VariationRunLike(Protocol):
    """What :func:`variation_bundle` reads from a sweep / vary / grid run."""

    @property
    def cells(self) -> Sequence[VariationCellLike]:
        """The cells, in order."""

    @property
    def contact_sheet(self) -> str | PathLike[str] | None:
        """The labelled contact sheet PNG, when there is one."""


def _values(cell: VariationCellLike) -> str:
    return ", ".join(f"{path} = {value!s}" for path, value in cell.values.items()) or "(base)"


def _cell_status(cell: VariationCellLike) -> tuple[bool, str]:
    if cell.error is not None:
        return False, str(cell.error)
    if cell.generation is None:
        return False, "not generated"
    return True, "preview" if cell.generation.preview else "rendered"


def _run_text(run: VariationRunLike) -> str:
    cells = list(run.cells)
    failed = sum(1 for cell in cells if not _cell_status(cell)[0])
    lines = [f"{len(cells)} cells, {len(cells) - failed} images, {failed} without"]
    for index, cell in enumerate(cells):
        ok, status = _cell_status(cell)
        headline = cell.diff.headline() if cell.diff is not None else ""
        lines.append(
            f"[{index}] seed {cell.seed}: {_values(cell)}"
            + (f" ({headline})" if headline else "")
            + ("" if ok else f": {status}")
        )
    if run.contact_sheet is not None:
        lines.append(f"contact sheet: {run.contact_sheet}")
    return "\n".join(lines) + "\n"


def _run_caption(run: VariationRunLike) -> str:
    rows = []
    for index, cell in enumerate(run.cells):
        ok, status = _cell_status(cell)
        if ok:
            mark = f'<span style="color:{GOOD}">&#10003;</span> {escape(status)}'
        else:
            accent, tint = SEVERITY["error"]
            mark = (
                f'<span style="border-left:3px solid {accent};background:{tint};padding:0 4px">'
                f"{escape(status)}</span>"
            )
        headline = escape(cell.diff.headline()) if cell.diff is not None else ""
        rows.append(
            f'<tr><td style="{CELL};{MONO};width:3em">[{index}]</td>'
            f'<td style="{CELL};{MONO};width:7em">seed {escape(cell.seed)}</td>'
            f'<td style="{CELL}">{escape(_values(cell))}</td>'
            f'<td style="{CELL};{MUTED}">{headline}</td><td style="{CELL}">{mark}</td></tr>'
        )
    return f'<table style="{TABLE}"><tbody>{"".join(rows)}</tbody></table>'


def variation_bundle(
    run: VariationRunLike,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
    *,
    title: str | None = None,
) -> dict[str, Any]:
    """The Jupyter mime bundle of a run: its contact sheet (when it has one) captioned with
    one row per cell (values, seed, diff against the base, status).

    Args:
        run: any object with ``cells`` and ``contact_sheet`` (see :class:`VariationRunLike`).
        title: the figure's title (default: the number of cells).
    """
    cells = list(run.cells)
    heading = title or f"{len(cells)} variation{'s' if len(cells) != 1 else ''}"
    text = _run_text(run)
    caption = _run_caption(run)
    png = b""
    if run.contact_sheet is not None:
        try:
            with open(run.contact_sheet, "rb") as handle:
                png = handle.read()
        except OSError as exc:
            caption = (
                f'<div style="{MUTED}">contact sheet not readable: {escape(exc.strerror or exc)}'
                f"</div>{caption}"
            )
    if png:
        return image_bundle(
            png, title=heading, text=text, caption_html=caption, include=include, exclude=exclude
        )
    return filter_bundle(
        {
            "text/plain": lambda: text,
            "text/html": lambda: card(
                "figure", f'<div style="margin-bottom:4px"><b>{escape(heading)}</b></div>{caption}'
            ),
        },
        include,
        exclude,
    )
