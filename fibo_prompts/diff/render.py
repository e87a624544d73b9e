"""Renderings of one :class:`PromptDiff`: plain text, rich, side-by-side HTML, JSON.

- **Text** (logs): the headline, then one line per change, prefixed ``~`` changed,
  ``+`` added, ``-`` removed, ``>`` moved. Long strings show only their changed words,
  wdiff-style (``[-deleted-]{+inserted+}``), with a few words of context.
- **Rich** (terminals): the same lines, coloured; deletions struck through in red.
- **HTML** (Jupyter, reports): a side-by-side table, word highlights, unchanged fields folded
  in a ``<details>`` element. Inline styles only, no scripts, so GitHub, nbviewer and
  untrusted notebooks show it as is.
- **JSON** (machines): every change with both paths, both values and the word segments.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.diff._words import WordSegment
from fibo_prompts.diff.model import Change, PromptDiff
from fibo_prompts.prompt.labels import item_label, unique_labels

if TYPE_CHECKING:
    from rich.text import Text

__all__ = [
    "change_lines",
    "diff_data",
    "headline",
    "mimebundle",
    "render_html",
    "render_json",
    "render_rich",
    "render_text",
]

_SYMBOL: Final = {"changed": "~", "added": "+", "removed": "-", "moved": ">"}
_CONTEXT: Final = 4  # words of unchanged context kept around a word-level change
_SUMMARY: Final = 60  # characters of an item's description shown for a whole item
_WORDS: Final = re.compile(r"\S+\s*")
_IDENTITY_LISTS: Final = ("objects", "text_render")


# --------------------------------------------------------------------------- text


def headline(diff: PromptDiff) -> str:
    """``"3 changes: lighting (2), objects[zebra] (1)"``, or ``"no changes"``."""
    count = len(diff.changes)
    if not count:
        return "no changes"
    groups = ", ".join(f"{group} ({n})" for group, n in diff.group_counts().items())
    return f"{count} change{'s' if count != 1 else ''}: {groups}"


def change_lines(diff: PromptDiff) -> list[str]:
    """One plain-text line per change."""
    return [_line(change) for change in diff.changes]


def render_text(diff: PromptDiff) -> str:
    """The headline, then one line per change (ends with a newline).

    Example::

        2 changes: lighting (1), short_description (1)
        ~ lighting.conditions: "Bright daylight" -> "golden hour"
        ~ short_description: A realistic image features [-a zebra-]{+an elephant+} standing ...
    """
    return "\n".join([headline(diff), *change_lines(diff)]) + "\n"


def _line(change: Change) -> str:
    symbol = _SYMBOL[change.kind]
    return f"{symbol} {change.path}: {_describe(change)}"


def _describe(change: Change) -> str:
    if change.kind == "moved":
        return f"moved from index {change.old} to {change.new}"
    item = _is_item(change)
    if change.kind == "added":
        return _summary(change.new) if item else _value(change.new)
    if change.kind == "removed":
        return _summary(change.old) if item else _value(change.old)
    if change.is_replacement:
        return f"replaced: {_summary(change.old)} -> {_summary(change.new)}"
    words = change.words
    if words is not None:
        return "".join(_wdiff(words))
    return f"{_value(change.old)} -> {_value(change.new)}"


def _is_item(change: Change) -> bool:
    parts = change.a_parts if change.a_parts is not None else change.b_parts
    return parts is not None and len(parts) == 2 and parts[0] in _IDENTITY_LISTS


def _value(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _summary(item: Any) -> str:
    """An item in a few words: its description (objects) or text (text_render)."""
    text: Any = item
    if isinstance(item, dict):
        text = item.get("description", item.get("text", item))
    if not isinstance(text, str):
        text = json.dumps(text, ensure_ascii=False, separators=(",", ":"))
    if len(text) > _SUMMARY:
        text = text[: _SUMMARY - 3].rstrip() + "..."
    return json.dumps(text, ensure_ascii=False)


def _wdiff(segments: tuple[WordSegment, ...]) -> Iterator[str]:
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment.op == "equal":
            yield _elide(segment.text, first=index == 0, final=index == last)
            continue
        body = segment.text.strip()
        # a run's outer spaces are shown outside the marker: "left [-with a fill-]"
        lead = segment.text[: len(segment.text) - len(segment.text.lstrip())]
        tail = segment.text[len(segment.text.rstrip()) :]
        mark = ("[-", "-]") if segment.op == "delete" else ("{+", "+}")
        yield f"{lead}{mark[0]}{body}{mark[1]}{tail}" if body else segment.text


def _elide(text: str, *, first: bool, final: bool) -> str:
    """Shorten an unchanged run to a few words of context on the side(s) of a change."""
    words = _WORDS.findall(text)
    lead = text[: len(text) - len(text.lstrip())]
    keep = _CONTEXT
    if first and final:
        return text
    if first:
        if len(words) <= keep:
            return text
        return "... " + "".join(words[-keep:])
    if final:
        if len(words) <= keep:
            return text
        return lead + "".join(words[:keep]).rstrip() + " ..."
    if len(words) <= 2 * keep:
        return text
    head = lead + "".join(words[:keep]).rstrip()
    return f"{head} ... " + "".join(words[-keep:])


# --------------------------------------------------------------------------- rich

_RICH_STYLE: Final = {"changed": "yellow", "added": "green", "removed": "red", "moved": "cyan"}


def render_rich(diff: PromptDiff) -> Text:
    """The text rendering with terminal colours, as a :class:`rich.text.Text`."""
    # rich takes some 35 ms to import: only terminal output needs it
    from rich.text import Text

    out = Text()
    out.append(headline(diff), style="bold")
    for change in diff.changes:
        out.append("\n")
        out.append(_SYMBOL[change.kind], style=f"bold {_RICH_STYLE[change.kind]}")
        out.append(" ")
        out.append(change.path, style="bold")
        out.append(": ")
        words = change.words
        if words is not None:
            last = len(words) - 1
            for index, segment in enumerate(words):
                if segment.op == "equal":
                    out.append(_elide(segment.text, first=index == 0, final=index == last))
                elif segment.op == "delete":
                    out.append(segment.text, style="red strike")
                else:
                    out.append(segment.text, style="bold green")
        elif change.kind == "changed" and not change.is_replacement:
            out.append(_value(change.old), style="red")
            out.append(" -> ")
            out.append(_value(change.new), style="green")
        else:
            out.append(_describe(change), style=_RICH_STYLE[change.kind])
    return out


# --------------------------------------------------------------------------- JSON


def diff_data(diff: PromptDiff) -> dict[str, Any]:
    """The diff as plain JSON data."""
    changes = []
    for change in diff.changes:
        words = change.words
        changes.append(
            {
                "path": change.path,
                "kind": change.kind,
                "group": change.group,
                "a_path": change.a_path,
                "b_path": change.b_path,
                "old": change.old,
                "new": change.new,
                "words": None
                if words is None
                else [{"op": segment.op, "text": segment.text} for segment in words],
            }
        )
    return {
        "equal": not diff.changes,
        "headline": headline(diff),
        "a": diff.a_name,
        "b": diff.b_name,
        "options": diff.options.to_dict(),
        "groups": diff.group_counts(),
        "single_attribute": diff.is_single_attribute(),
        "changes": changes,
    }


def render_json(diff: PromptDiff, *, indent: int | None = 2) -> str:
    """The diff as JSON text (non-ASCII characters kept as they are)."""
    return json.dumps(diff_data(diff), indent=indent, ensure_ascii=False)


# --------------------------------------------------------------------------- HTML

_FONT: Final = (
    "font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;"
    "line-height:1.45;color:#1f2328"
)
_TABLE: Final = "border-collapse:collapse;width:100%;table-layout:fixed;margin:0"
_CELL: Final = (
    "border:1px solid #d0d7de;padding:3px 6px;vertical-align:top;text-align:left;"
    "white-space:pre-wrap;word-break:break-word"
)
_HEAD: Final = _CELL + ";background:#f6f8fa;font-weight:600"
_OLD_BG: Final = "background:#fff5f5"
_NEW_BG: Final = "background:#f0fff4"
_DEL: Final = "background:#ffc9c9;text-decoration:line-through;color:#82071e"
_INS: Final = "background:#b4f0c2;text-decoration:none;color:#055d20"
_KIND_COLOUR: Final = {
    "changed": "#9a6700",
    "added": "#1a7f37",
    "removed": "#cf222e",
    "moved": "#0969da",
}


def render_html(diff: PromptDiff, *, document: bool = False) -> str:
    """Side-by-side HTML: changed fields with word highlights, unchanged fields folded.

    Args:
        document: wrap the fragment in a complete HTML document (for ``fibo diff
            --format html``); the fragment alone is what Jupyter shows.
    """
    a_title = html.escape(f"A: {diff.a_name}" if diff.a_name else "A (before)")
    b_title = html.escape(f"B: {diff.b_name}" if diff.b_name else "B (after)")
    out = [f'<div class="fibo-diff" style="{_FONT}">']
    out.append(f'<div style="font-weight:600;margin:0 0 6px 0">{html.escape(headline(diff))}</div>')
    if diff.changes:
        out.append(f'<table style="{_TABLE}">')
        out.append(
            '<colgroup><col style="width:24%"><col style="width:38%">'
            '<col style="width:38%"></colgroup>'
        )
        out.append(
            f'<thead><tr><th style="{_HEAD}">field</th><th style="{_HEAD}">{a_title}</th>'
            f'<th style="{_HEAD}">{b_title}</th></tr></thead><tbody>'
        )
        out.extend(_html_row(change) for change in diff.changes)
        out.append("</tbody></table>")
    unchanged = _unchanged(diff)
    if unchanged:
        plural = "s" if len(unchanged) != 1 else ""
        out.append('<details style="margin-top:6px">')
        out.append(
            f'<summary style="cursor:pointer;color:#57606a">{len(unchanged)} unchanged '
            f"field{plural}</summary>"
        )
        out.append(f'<table style="{_TABLE}">')
        out.append('<colgroup><col style="width:24%"><col style="width:76%"></colgroup><tbody>')
        for path, value in unchanged:
            out.append(
                f'<tr><td style="{_CELL}">{html.escape(path)}</td>'
                f'<td style="{_CELL};color:#57606a">{_html_value(value)}</td></tr>'
            )
        out.append("</tbody></table></details>")
    out.append("</div>")
    fragment = "".join(out)
    if not document:
        return fragment
    title = html.escape(headline(diff))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>fibo diff: {title}</title></head><body>{fragment}</body></html>\n"
    )


def _html_row(change: Change) -> str:
    colour = _KIND_COLOUR[change.kind]
    symbol = html.escape(_SYMBOL[change.kind])
    field = (
        f'<td style="{_CELL}"><span style="color:{colour};font-weight:600">{symbol}</span> '
        f"{html.escape(change.path)}</td>"
    )
    if change.kind == "moved":
        old = f"index {change.old}"
        new = f"index {change.new}"
        return (
            f'<tr>{field}<td style="{_CELL}">{old}</td>'
            f'<td style="{_CELL};color:{colour}">moved to {new}</td></tr>'
        )
    if change.kind == "added":
        return (
            f'<tr>{field}<td style="{_CELL}"></td>'
            f'<td style="{_CELL};{_NEW_BG}"><ins style="{_INS}">{_html_value(change.new)}</ins>'
            "</td></tr>"
        )
    if change.kind == "removed":
        return (
            f'<tr>{field}<td style="{_CELL};{_OLD_BG}"><del style="{_DEL}">'
            f'{_html_value(change.old)}</del></td><td style="{_CELL}"></td></tr>'
        )
    words = change.words
    if words is not None:
        old = "".join(_html_segment(s, _DEL, "del") for s in words if s.op in ("equal", "delete"))
        new = "".join(_html_segment(s, _INS, "ins") for s in words if s.op in ("equal", "insert"))
    else:
        old = f'<del style="{_DEL}">{_html_value(change.old)}</del>'
        new = f'<ins style="{_INS}">{_html_value(change.new)}</ins>'
    return (
        f'<tr>{field}<td style="{_CELL};{_OLD_BG}">{old}</td>'
        f'<td style="{_CELL};{_NEW_BG}">{new}</td></tr>'
    )


def _html_segment(segment: WordSegment, style: str, tag: str) -> str:
    text = html.escape(segment.text)
    if segment.op == "equal":
        return text
    return f'<{tag} style="{style}">{text}</{tag}>'


def _html_value(value: Any) -> str:
    if isinstance(value, str):
        return html.escape(value)
    return html.escape(json.dumps(value, ensure_ascii=False, indent=1))


def _unchanged(diff: PromptDiff) -> list[tuple[str, Any]]:
    """Leaf fields of the old prompt that no change touches, with their values."""
    touched = [c.path for c in diff.changes if c.kind != "moved"]
    labels = {plan.key: plan.a_labels for plan in diff.lists}
    out: list[tuple[str, Any]] = []
    for path, value in _leaves(diff.before, labels):
        if any(path == t or path.startswith((t + ".", t + "[")) for t in touched):
            continue
        out.append((path, value))
    return out


def _leaves(data: dict[str, Any], labels: dict[str, tuple[str, ...]]) -> Iterable[tuple[str, Any]]:
    for key, value in data.items():
        if key in _IDENTITY_LISTS and isinstance(value, list) and value:
            names = labels.get(key) or tuple(
                unique_labels([item_label(key, item) for item in value])
            )
            for name, item in zip(names, value, strict=False):
                yield from _walk(f"{key}[{name}]", item)
        else:
            yield from _walk(key, value)


def _walk(path: str, value: Any) -> Iterable[tuple[str, Any]]:
    if isinstance(value, dict) and value:
        for key, item in value.items():
            yield from _walk(f"{path}.{key}", item)
    elif isinstance(value, list) and value:
        for index, item in enumerate(value):
            yield from _walk(f"{path}[{index}]", item)
    else:
        yield path, value


# --------------------------------------------------------------------------- Jupyter


def mimebundle(
    text: Callable[[], str],
    html_fragment: Callable[[], str],
    *,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, str]:
    """A Jupyter mime bundle of ``text/plain`` and ``text/html``, honouring include/exclude."""
    wanted = {"text/plain", "text/html"}
    if include is not None:
        wanted &= set(include)
    if exclude is not None:
        wanted -= set(exclude)
    bundle: dict[str, str] = {}
    if "text/plain" in wanted:
        bundle["text/plain"] = text()
    if "text/html" in wanted:
        bundle["text/html"] = html_fragment()
    return bundle
