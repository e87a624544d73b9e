"""The notebook display of a :class:`~fibo_prompts.prompt.StructuredPrompt`.

HTML: a header (objects, estimated tokens, the wire hash), the convention warnings of
:meth:`~fibo_prompts.prompt.StructuredPrompt.check`, then the prompt as a foldable tree in
wire key order. Every field name carries its meaning (FIBO's field guide, from the models'
descriptions) as a tooltip, groups show it beside their name, and a warning is repeated at
the field it concerns. Unknown keys of a lenient prompt are flagged, nulls shown as such.

Plain text: a one-line summary, the warnings, then the prompt as pretty JSON.
``application/json`` (the prompt's data, for JupyterLab's JSON tree) only on request:
``display(prompt, include=["application/json"])``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.notebook._html import (
    CELL,
    KEY_CELL,
    MONO,
    MUTED,
    NESTED_TABLE,
    SEVERITY,
    TABLE,
    card,
    details,
    escape,
    filter_bundle,
)
from fibo_prompts.prompt import models

if TYPE_CHECKING:
    from pydantic import BaseModel

    from fibo_prompts.errors import PromptIssue
    from fibo_prompts.prompt import StructuredPrompt

__all__ = ["prompt_bundle", "prompt_html", "prompt_text"]

_LABEL: Final = 72  # characters of an item's description shown in its folded line
_LISTS: Final = ("objects", "text_render")


def prompt_bundle(
    prompt: StructuredPrompt,
    include: Iterable[str] | None = None,
    exclude: Iterable[str] | None = None,
) -> dict[str, Any]:
    """The Jupyter mime bundle of a prompt: ``text/plain``, ``text/html`` and, when
    ``include`` asks for it, ``application/json``."""
    return filter_bundle(
        {"text/plain": lambda: prompt_text(prompt), "text/html": lambda: prompt_html(prompt)},
        include,
        exclude,
        on_request={"application/json": prompt.to_dict},
    )


# --------------------------------------------------------------------------- text


def _summary(prompt: StructuredPrompt) -> str:
    data = prompt.to_dict()
    objects = data.get("objects") or []
    texts = data.get("text_render") or []
    parts = [f"{len(objects)} object{'s' if len(objects) != 1 else ''}"]
    if texts:
        parts.append(f"{len(texts)} text{'s' if len(texts) != 1 else ''}")
    parts.append(f"~{prompt.estimated_tokens():,} tokens")
    if prompt.lenient:
        parts.append("lenient")
    return ", ".join(parts)


def _short(version_hash: str) -> str:
    tag, _, digest = version_hash.partition(":")
    return f"{tag}:{digest[:12]}"


def prompt_text(prompt: StructuredPrompt) -> str:
    """A summary line, one line per warning, then the prompt as pretty JSON."""
    source = f"({prompt.source_name})" if prompt.source_name else ""
    lines = [
        f"StructuredPrompt{source}: {_summary(prompt)}, wire {_short(prompt.wire_hash())}",
    ]
    for issue in prompt.check():
        lines.append(f"{issue.severity}: {issue.path or '(prompt)'}: {issue.message}")
    return "\n".join(lines) + "\n" + prompt.to_json("pretty")


# --------------------------------------------------------------------------- HTML


def _models() -> tuple[type[BaseModel], dict[str, type[BaseModel]]]:
    return models.StructuredPrompt, {
        "objects": models.PromptObject,
        "text_render": models.TextRender,
        "lighting": models.Lighting,
        "aesthetics": models.Aesthetics,
        "photographic_characteristics": models.PhotographicCharacteristics,
    }


def _meaning(model: type[BaseModel] | None, key: str) -> str | None:
    if model is None:
        return None
    field = model.model_fields.get(key)
    return None if field is None else field.description


class _Renderer:
    """Renders one prompt; holds its issues by path and the field models."""

    def __init__(self, prompt: StructuredPrompt) -> None:
        self.issues: dict[str, list[PromptIssue]] = {}
        for issue in prompt.check():
            self.issues.setdefault(issue.path, []).append(issue)
        self.top, self.children = _models()

    def notes(self, path: str) -> str:
        """The warnings at exactly this path, as marked lines."""
        return "".join(_note(issue) for issue in self.issues.get(path, ()))

    def key(self, key: str, meaning: str | None, *, unknown: bool) -> str:
        if unknown:
            return escape(key) + _UNKNOWN
        if meaning is None:  # inside an unknown key: nothing to say about its keys
            return escape(key)
        return (
            f'<span title="{escape(meaning)}" style="border-bottom:1px dotted;cursor:help">'
            f"{escape(key)}</span>"
        )

    def rows(self, data: Mapping[str, Any], prefix: str, model: type[BaseModel] | None) -> str:
        out: list[str] = []
        for key, value in data.items():
            path = f"{prefix}.{key}" if prefix else key
            meaning = _meaning(model, key)
            unknown = model is not None and meaning is None
            child = self.children.get(key) if model is self.top else None
            if isinstance(value, dict) and value:
                title = f"<b>{escape(key)}</b>" + (_UNKNOWN if unknown else _aside(meaning))
                out.append(self.group(title, path, value, child))
            elif key in _LISTS and model is self.top and isinstance(value, list) and value:
                out.append(self.items(key, meaning, path, value, child))
            else:
                out.append(
                    f'<tr><td style="{KEY_CELL}">{self.key(key, meaning, unknown=unknown)}</td>'
                    f'<td style="{CELL}">{_value(value)}{self.notes(path)}</td></tr>'
                )
        return "".join(out)

    def group(
        self, summary: str, path: str, value: Mapping[str, Any], model: type[BaseModel] | None
    ) -> str:
        body = (
            f'{self.notes(path)}<table style="{NESTED_TABLE}">'
            f"<tbody>{self.rows(value, path, model)}</tbody></table>"
        )
        return f'<tr><td colspan="2" style="{CELL}">{details(summary, body, open_=True)}</td></tr>'

    def items(
        self,
        key: str,
        meaning: str | None,
        path: str,
        value: list[Any],
        model: type[BaseModel] | None,
    ) -> str:
        parts: list[str] = [self.notes(path)]
        for index, item in enumerate(value):
            item_path = f"{path}[{index}]"
            flagged = any(p == item_path or p.startswith(item_path + ".") for p in self.issues)
            label = f'<span style="{MONO};{MUTED}">[{index}]</span> {_item_label(key, item)}'
            if isinstance(item, dict):
                body = (
                    f'{self.notes(item_path)}<table style="{NESTED_TABLE}"><tbody>'
                    f"{self.rows(item, item_path, model)}</tbody></table>"
                )
            else:
                body = _value(item) + self.notes(item_path)
            parts.append(details(label, body, open_=flagged, margin="2px 0 2px 1em"))
        summary = f"<b>{escape(key)}</b> ({len(value)})" + _aside(meaning)
        return (
            f'<tr><td colspan="2" style="{CELL}">{details(summary, "".join(parts), open_=True)}'
            "</td></tr>"
        )


_UNKNOWN: Final = (
    f' <span style="{MUTED};font-weight:400;font-size:11px" '
    'title="FIBO does not define this key; it is kept as is">(unknown)</span>'
)


def _aside(meaning: str | None) -> str:
    if not meaning:
        return ""
    return f' <span style="{MUTED};font-size:12px">{escape(meaning)}</span>'


def _note(issue: PromptIssue) -> str:
    accent, tint = SEVERITY.get(issue.severity, SEVERITY["warning"])
    return (
        f'<div style="border-left:3px solid {accent};background:{tint};padding:1px 6px;'
        f'margin-top:2px">{escape(issue.severity)}: {escape(issue.message)}</div>'
    )


def _item_label(key: str, item: Any) -> str:
    if not isinstance(item, dict):
        return escape(_clip(json.dumps(item, ensure_ascii=False)))
    if key == "text_render":
        head = json.dumps(str(item.get("text", "")), ensure_ascii=False)
    else:
        head = str(item.get("description", ""))
    where = item.get("location")
    place = f' <span style="{MUTED}">&middot; {escape(where)}</span>' if where else ""
    return escape(_clip(head)) + place


def _clip(text: str) -> str:
    return text if len(text) <= _LABEL else text[: _LABEL - 1].rstrip() + "\u2026"


def _value(value: Any) -> str:
    if isinstance(value, str):
        if not value:
            return f'<span style="{MUTED}">(empty)</span>'
        if "\n" in value:
            return f'<span style="white-space:pre-wrap">{escape(value)}</span>'
        return escape(value)
    if value is None:
        return f'<span style="{MONO};{MUTED}">null</span>'
    text = json.dumps(
        value, ensure_ascii=False, indent=1 if isinstance(value, list | dict) else None
    )
    return f'<span style="{MONO}">{escape(text)}</span>'


def prompt_html(prompt: StructuredPrompt) -> str:
    """The prompt as a self-contained HTML fragment (see the module docstring)."""
    renderer = _Renderer(prompt)
    source = (
        f' <span style="{MONO};{MUTED}">{escape(prompt.source_name)}</span>'
        if prompt.source_name
        else ""
    )
    wire_hash = prompt.wire_hash()
    header = (
        f'<div style="margin-bottom:4px"><b>StructuredPrompt</b>{source} '
        f'<span style="{MUTED}">&middot; {escape(_summary(prompt))} &middot; wire </span>'
        f'<span style="{MONO};{MUTED}" title="{escape(wire_hash)}">{escape(_short(wire_hash))}'
        "</span></div>"
    )
    issues = [issue for group in renderer.issues.values() for issue in group]
    warnings = ""
    if issues:
        lines = "".join(
            f"<li><code>{escape(issue.path or '(prompt)')}</code>: {escape(issue.message)}</li>"
            for issue in issues
        )
        accent, tint = SEVERITY["warning"]
        count = f"{len(issues)} warning{'s' if len(issues) != 1 else ''}"
        warnings = (
            f'<div style="border-left:3px solid {accent};background:{tint};padding:2px 8px;'
            f'margin:4px 0"><b>{count}</b><ul style="margin:2px 0;padding-left:1.4em">'
            f"{lines}</ul></div>"
        )
    top, _ = _models()
    body = (
        f'{header}{warnings}<table style="{TABLE}"><tbody>'
        f"{renderer.rows(prompt.to_dict(), '', top)}</tbody></table>"
    )
    return card("prompt", body)
