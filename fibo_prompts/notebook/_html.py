"""Small HTML building blocks shared by every notebook display, and the mime-bundle filter.

Every display is one self-contained fragment: inline styles only (no ``<style>`` block, no
script), so JupyterLab, VS Code, Colab, GitHub and nbviewer show it the same, trusted or not.
Folding uses ``<details>``. Colours work on light and dark themes alike: text inherits the
page's colour, borders and tints are translucent greys or translucent accents, and the few
solid accents are mid-tones readable on white and on near-black.

Every string that did not come from this module goes through :func:`escape`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

__all__ = [
    "badge",
    "card",
    "details",
    "escape",
    "filter_bundle",
    "kv_table",
    "severity_badge",
]

FONT: Final = (
    "font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;font-size:13px;"
    "line-height:1.45"
)
MONO: Final = "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px"
#: translucent grey (#RGBA): visible on white and on near-black
BORDER: Final = "#8885"
TINT: Final = "#8881"
MUTED: Final = "opacity:.7"
CELL: Final = (
    f"border-top:1px solid {BORDER};padding:2px 8px 2px 0;vertical-align:top;overflow-wrap:anywhere"
)
KEY_CELL: Final = CELL + ";width:13em;font-weight:600"
TABLE: Final = "border-collapse:collapse;width:100%;margin:0"
#: a table nested one level in (the fields of a group or a list item)
NESTED_TABLE: Final = "border-collapse:collapse;margin:0 0 0 1em;width:calc(100% - 1em)"

#: (solid accent, translucent tint) per severity.
SEVERITY: Final[dict[str, tuple[str, str]]] = {
    "error": ("#d1242f", "rgba(229,83,75,.15)"),
    "warning": ("#b7791f", "rgba(214,158,46,.18)"),
    "info": ("#2f6fdb", "rgba(65,132,228,.15)"),
}
GOOD: Final = "#1f883d"


def escape(value: object) -> str:
    """HTML-escape any value's text (quotes included, so it is safe in attributes too)."""
    return html.escape(str(value), quote=True)


def card(kind: str, body: str) -> str:
    """The outer box of a display, with a class naming what it shows (``fibo-prompt``)."""
    return (
        f'<div class="fibo-{kind}" style="{FONT};border:1px solid {BORDER};border-radius:6px;'
        f'padding:8px 10px;max-width:100%;overflow-x:auto">{body}</div>'
    )


def badge(text: str, colour: str) -> str:
    """A small pill of white text on a mid-tone colour (readable on both themes)."""
    return (
        f'<span style="display:inline-block;padding:0 6px;border-radius:8px;font-size:11px;'
        f'font-weight:600;color:#fff;background:{colour}">{escape(text)}</span>'
    )


def severity_badge(severity: str) -> str:
    """A pill naming a severity (error, warning, info) in its colour."""
    return badge(severity, SEVERITY.get(severity, SEVERITY["info"])[0])


def details(summary: str, body: str, *, open_: bool = False, margin: str = "4px 0") -> str:
    """A foldable section; ``summary`` and ``body`` are HTML already."""
    flag = " open" if open_ else ""
    return (
        f'<details{flag} style="margin:{margin}"><summary style="cursor:pointer">{summary}'
        f"</summary>{body}</details>"
    )


def kv_table(rows: Iterable[tuple[str, str]]) -> str:
    """A two-column table of (key, value) cells, both HTML already."""
    body = "".join(
        f'<tr><td style="{KEY_CELL}">{key}</td><td style="{CELL}">{value}</td></tr>'
        for key, value in rows
    )
    return f'<table style="{TABLE}"><tbody>{body}</tbody></table>'


def filter_bundle(
    producers: Mapping[str, Callable[[], Any]],
    include: Iterable[str] | None,
    exclude: Iterable[str] | None,
    *,
    on_request: Mapping[str, Callable[[], Any]] | None = None,
) -> dict[str, Any]:
    """Build a mime bundle, calling only the producers of the types that are wanted.

    Args:
        producers: mimetype -> function returning the data, shown by default.
        include: IPython's ``include`` (only these types), or ``None`` for all.
        exclude: IPython's ``exclude`` (not these types).
        on_request: types produced only when ``include`` names them explicitly (for
            ``application/json``: JupyterLab and VS Code rank it above ``text/html``, so in
            the default bundle it would hide the HTML display).
    """
    included = None if include is None else set(include)
    excluded = set(exclude or ())
    bundle: dict[str, Any] = {}
    for mime, produce in producers.items():
        if (included is None or mime in included) and mime not in excluded:
            bundle[mime] = produce()
    for mime, produce in (on_request or {}).items():
        if included is not None and mime in included and mime not in excluded:
            bundle[mime] = produce()
    return bundle
