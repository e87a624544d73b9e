"""The notebook display of a library log (:meth:`fibo_prompts.library.Library.log`).

A timeline, newest first: each version's reference, hash, labels and tags, when and by whom,
its message and its one-line diff summary against its parent. Parents are shown where the
line is not a simple chain (a root, a branch point, a merge). Long logs show their newest
:data:`MAX_ENTRIES` entries and say how many more there are.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.notebook._html import BORDER, MONO, MUTED, badge, card, escape, filter_bundle

if TYPE_CHECKING:
    from fibo_prompts.library import VersionInfo

__all__ = ["MAX_ENTRIES", "log_bundle", "log_html", "log_text"]

#: Entries rendered at most; a library log can hold thousands.
MAX_ENTRIES: Final = 200
_LABEL: Final = "#2f6fdb"
_DOT: Final = (
    "position:absolute;left:-1.55em;top:.35em;width:.7em;height:.7em;border-radius:50%;"
    f"background:{_LABEL}"
)


def _when(info: VersionInfo) -> str:
    return info.created_at.strftime("%Y-%m-%d %H:%M")


def _first_line(message: str) -> str:
    return message.splitlines()[0] if message else "(no message)"


def _headline(entries: Sequence[VersionInfo]) -> str:
    names = sorted({info.name for info in entries})
    count = f"{len(entries)} version{'s' if len(entries) != 1 else ''}"
    if not entries:
        return "empty log"
    return f"{', '.join(names)}: {count}"


def log_text(entries: Sequence[VersionInfo]) -> str:
    """One line per version, as ``fibo lib log`` prints them."""
    lines = []
    for info in entries[:MAX_ENTRIES]:
        labels = f" ({', '.join(info.labels)})" if info.labels else ""
        lines.append(
            f"{info.ref} {info.short_hash}{labels} {_when(info)} {info.author}: "
            f"{_first_line(info.message)} [{info.summary}]"
        )
    if len(entries) > MAX_ENTRIES:
        lines.append(f"... {len(entries) - MAX_ENTRIES} older versions not shown")
    return "\n".join(lines) + "\n" if lines else "empty log\n"


def _parents(info: VersionInfo, older: VersionInfo | None) -> str:
    if not info.parents:
        return "root"
    if older is not None and info.parents == (older.ref,):
        return ""
    kind = "merge of" if len(info.parents) > 1 else "from"
    return f"{kind} {', '.join(info.parents)}"


def _entry(info: VersionInfo, older: VersionInfo | None) -> str:
    labels = " ".join(badge(label, _LABEL) for label in info.labels)
    tags = " ".join(
        f'<span style="border:1px solid {BORDER};border-radius:8px;padding:0 5px;'
        f'font-size:11px">#{escape(tag)}</span>'
        for tag in info.tags
    )
    parents = _parents(info, older)
    lineage = f' <span style="{MUTED}">&middot; {escape(parents)}</span>' if parents else ""
    return (
        f'<div style="position:relative;margin:0 0 8px 0"><span style="{_DOT}"></span>'
        f"<div><b>{escape(info.ref)}</b> "
        f'<span style="{MONO};{MUTED}" title="{escape(info.version_hash)}">'
        f"{escape(info.short_hash)}</span> {labels} {tags}"
        f'<span style="{MUTED}"> &middot; {escape(_when(info))} UTC &middot; '
        f"{escape(info.author)}</span>{lineage}</div>"
        f"<div>{escape(_first_line(info.message))}</div>"
        f'<div style="{MUTED};font-style:italic">{escape(info.summary)}</div></div>'
    )


def log_html(entries: Sequence[VersionInfo]) -> str:
    """The log as a self-contained HTML timeline."""
    shown = list(entries[:MAX_ENTRIES])
    items = "".join(
        _entry(info, entries[index + 1] if index + 1 < len(entries) else None)
        for index, info in enumerate(shown)
    )
    more = (
        f'<div style="{MUTED}">&hellip; {len(entries) - MAX_ENTRIES} older versions not shown'
        " (<code>log(ref, limit=...)</code>)</div>"
        if len(entries) > MAX_ENTRIES
        else ""
    )
    timeline = (
        f'<div style="border-left:2px solid {BORDER};margin:4px 0 0 .5em;padding-left:1.1em">'
        f"{items}</div>"
        if items
        else ""
    )
    head = f'<div style="margin-bottom:4px"><b>{escape(_headline(entries))}</b></div>'
    return card("log", head + timeline + more)


def log_bundle(
    entries: Sequence[VersionInfo],
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The Jupyter mime bundle of a log: ``text/plain`` and ``text/html`` (and
    ``application/json`` when ``include`` asks for it)."""
    return filter_bundle(
        {"text/plain": lambda: log_text(entries), "text/html": lambda: log_html(entries)},
        include,
        exclude,
        on_request={"application/json": lambda: [info.to_dict() for info in entries]},
    )
