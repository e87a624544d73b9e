""":class:`PromptEditor`: an ipywidgets form for a structured prompt, with a generate button.

It drives a :class:`~fibo_prompts.generate.Client`, so it sits above both the generate package
and the passive displays of :mod:`fibo_prompts.notebook` (which re-exports it).

The form is the source of truth and the prompt follows it through
:meth:`~fibo_prompts.prompt.StructuredPrompt.set`, one changed field at a time, so the wire
string keeps every token except the edited values. After every edit the form is validated:
a value the prompt refuses (a quality label that is not one of the five, an object with an
unknown key, JSON that does not parse) is listed with its JSON path and its field is framed
in red, while the prompt keeps its last valid value there. Convention warnings
(:meth:`~fibo_prompts.prompt.StructuredPrompt.check`) are listed too.

**Generate** sends the prompt through a :class:`~fibo_prompts.generate.Client` (by default the
offline ``preview`` backend). With **lock seed** on, every generation uses the seed in the
seed field; with it off, the client draws a new seed and the field shows it. The image is
shown with, beside it, what changed since the previous generation: the seed, the image
figures and the side-by-side prompt diff.

Everything is reachable from Python, which is how the tests drive it headlessly::

    editor = PromptEditor(StructuredPrompt.load("examples/product_shot.json"))
    editor.fields["lighting.conditions"].value = "golden hour"
    editor.generate_button.click()
    editor.generations[-1].seed, editor.errors, editor.last_diff

Objects and text items are edited as one JSON text area each (an object has up to fifteen
free-text fields; a sub-form per object would be a wall of boxes), with add and remove
buttons.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, get_args

from fibo_prompts.diff import diff, diff_generations
from fibo_prompts.errors import (
    DependencyMissingError,
    FiboPromptsError,
    PromptPathError,
    PromptValidationError,
)
from fibo_prompts.generate import Client
from fibo_prompts.jobs import Generation, GenerationRequest
from fibo_prompts.notebook import MONO, SEVERITY, diff_html, escape, thumbnail
from fibo_prompts.prompt import StructuredPrompt, models

try:
    import ipywidgets as widgets  # type: ignore[import-untyped, unused-ignore]
except ImportError as _missing:  # pragma: no cover - exercised in a subprocess test
    raise DependencyMissingError(
        "the prompt editor needs ipywidgets", package="ipywidgets", extra="notebook"
    ) from _missing

if TYPE_CHECKING:
    import os

    from pydantic import BaseModel

    from fibo_prompts.diff import PromptDiff

__all__ = ["PromptEditor"]

#: Longer side of the image shown in the editor, in pixels.
IMAGE_SIZE: Final = 384
_ABSENT: Final[Any] = object()
_LONG: Final = frozenset({"short_description", "background_setting", "context"})
_GROUPS: Final = (
    ("Scene", ""),
    ("Lighting", "lighting"),
    ("Aesthetics", "aesthetics"),
    ("Camera", "photographic_characteristics"),
)
_SCENE: Final = (
    "short_description",
    "background_setting",
    "context",
    "style_medium",
    "artistic_style",
    "edit_instruction",
)
_LISTS: Final = (("Objects", "objects"), ("Text", "text_render"))
_NEW_ITEM: Final[dict[str, dict[str, str]]] = {
    "objects": {"description": "", "location": "center", "relationship": ""},
    "text_render": {"text": "", "location": "center", "size": "medium", "color": "", "font": ""},
}
_FRAME_BAD: Final = "2px solid #d1242f"
_WIDE: Final = {"description_width": "11em"}


@dataclass(frozen=True)
class _Field:
    """One leaf field of the form."""

    path: str
    group: str
    key: str
    required: bool
    choices: tuple[str, ...] | None


def _fields() -> list[_Field]:
    nested: dict[str, type[BaseModel]] = {
        "lighting": models.Lighting,
        "aesthetics": models.Aesthetics,
        "photographic_characteristics": models.PhotographicCharacteristics,
    }
    quality = tuple(str(level) for level in get_args(models.QualityLevel))
    out: list[_Field] = []
    top = models.StructuredPrompt.model_fields
    for key in _SCENE:
        out.append(_Field(key, "", key, top[key].is_required(), None))
    for group, model in nested.items():
        for key, info in model.model_fields.items():
            choices = quality if key in ("preference_score", "aesthetic_score") else None
            out.append(_Field(f"{group}.{key}", group, key, info.is_required(), choices))
    return out


def _meaning(path: str) -> tuple[str, str]:
    """(description, first example) of a leaf field, for tooltips and placeholders."""
    group, _, key = path.rpartition(".")
    models_by_group: dict[str, type[BaseModel]] = {
        "": models.StructuredPrompt,
        "lighting": models.Lighting,
        "aesthetics": models.Aesthetics,
        "photographic_characteristics": models.PhotographicCharacteristics,
    }
    info = models_by_group[group].model_fields[key]
    examples = [e for e in (info.examples or []) if isinstance(e, str)]
    return info.description or "", examples[0] if examples else ""


def _read(prompt: StructuredPrompt, path: str) -> Any:
    try:
        return prompt.get(path)
    except PromptPathError:
        return _ABSENT


class PromptEditor:
    """An editing form for a structured prompt, with live validation and a generate button.

    Args:
        prompt: the prompt to start from (a :class:`StructuredPrompt`, or JSON text or a dict,
            parsed strictly).
        client: the client that generates; by default one is made on the first generation
            for ``backend`` and closed by :meth:`close`.
        backend: the backend of the default client (``"preview"``: offline, no key).
        image_dir: where the default client stores images.
        seed: the initial seed.
        lock_seed: whether the seed is locked (the same seed for every generation).

    Attributes:
        generations: every generation made, oldest first.
        widget: the root ipywidgets box (displaying the editor displays it).
        seed: the seed field (``IntText``).
        lock: the lock checkbox.
        generate_button: the Generate button.
        image: the image of the latest generation (an ``Image`` widget).
        comparison: the change since the previous generation (an ``HTML`` widget).
        messages: validation errors and warnings (an ``HTML`` widget).
        status: what the last generation did (an ``HTML`` widget).
    """

    def __init__(
        self,
        prompt: StructuredPrompt | str | Mapping[str, Any],
        *,
        client: Client | None = None,
        backend: str = "preview",
        image_dir: str | os.PathLike[str] | None = None,
        seed: int = 0,
        lock_seed: bool = True,
    ) -> None:
        self._prompt = (
            prompt if isinstance(prompt, StructuredPrompt) else StructuredPrompt.parse(prompt)
        )
        self._client = client
        self._own_client = client is None
        self._backend = backend
        self._image_dir = image_dir
        self._errors: dict[str, list[str]] = {}
        self._bad: set[str] = set()
        self._last_diff: PromptDiff | None = None
        self._sent: list[StructuredPrompt] = []
        self.generations: list[Generation] = []
        self._leaves = _fields()
        self._widgets: dict[str, Any] = {}
        self._list_boxes: dict[str, Any] = {}

        self.messages = widgets.HTML()
        self.seed = widgets.IntText(value=seed, description="seed", layout={"width": "14em"})
        self.lock = widgets.Checkbox(value=lock_seed, description="lock seed", indent=False)
        self.generate_button = widgets.Button(
            description="Generate", button_style="primary", icon="image"
        )
        self.generate_button.on_click(lambda _button: self.generate())
        self.status = widgets.HTML()
        self.image = widgets.Image(format="png", layout={"max_width": f"{IMAGE_SIZE}px"})
        self.comparison = widgets.HTML(
            value='<span style="opacity:.7">Generate to see the image; generate again to see '
            "what changed.</span>",
            layout={"flex": "1 1 auto", "min_width": "20em"},
        )
        self.widget = widgets.VBox(
            [
                self._form(),
                self.messages,
                widgets.HBox([self.seed, self.lock, self.generate_button]),
                self.status,
                widgets.HBox([self.image, self.comparison], layout={"align_items": "flex-start"}),
            ]
        )
        self._sync()

    # ------------------------------------------------------------------ public state

    @property
    def prompt(self) -> StructuredPrompt:
        """The prompt as the form describes it (invalid edits left out, see :attr:`errors`)."""
        return self._prompt

    @property
    def errors(self) -> dict[str, list[str]]:
        """Validation errors by JSON path (empty when the form is valid)."""
        return {path: list(messages) for path, messages in self._errors.items()}

    @property
    def fields(self) -> dict[str, Any]:
        """Every input widget by the path it edits (``lighting.conditions``, ``objects[0]``)."""
        return dict(self._widgets)

    @property
    def last_diff(self) -> PromptDiff | None:
        """The prompt diff between the last two generations (``None`` before the second)."""
        return self._last_diff

    # ------------------------------------------------------------------ form

    def _form(self) -> Any:
        sections: list[Any] = []
        titles: list[str] = []
        for title, group in _GROUPS:
            rows = [self._leaf_widget(f) for f in self._leaves if f.group == group]
            sections.append(widgets.VBox(rows))
            titles.append(title)
        for title, key in _LISTS:
            box = widgets.VBox()
            self._list_boxes[key] = box
            self._fill_list(key)
            add = widgets.Button(description=f"add {'object' if key == 'objects' else 'text'}")
            add.on_click(lambda _button, key=key: self.add_item(key))
            sections.append(widgets.VBox([box, add]))
            titles.append(title)
        return widgets.Accordion(children=sections, titles=tuple(titles), selected_index=0)

    def _leaf_widget(self, field: _Field) -> Any:
        current = _read(self._prompt, field.path)
        value = current if isinstance(current, str) else ""
        meaning, example = _meaning(field.path)
        common: dict[str, Any] = {
            "description": field.key,
            "tooltip": meaning,
            "style": _WIDE,
            "layout": {"width": "100%"},
        }
        widget: Any
        if field.choices is not None:
            widget = widgets.Dropdown(options=("", *field.choices), value=value, **common)
        elif field.key in _LONG:
            widget = widgets.Textarea(value=value, placeholder=example, rows=2, **common)
        else:
            widget = widgets.Text(value=value, placeholder=example, **common)
        widget.observe(self._on_change, names="value")
        self._widgets[field.path] = widget
        return widget

    def _fill_list(self, key: str) -> None:
        for path in [p for p in self._widgets if p.startswith(key + "[")]:
            del self._widgets[path]
        items = _read(self._prompt, key)
        rows: list[Any] = []
        for index, item in enumerate(items if isinstance(items, list) else []):
            path = f"{key}[{index}]"
            area = widgets.Textarea(
                value=json.dumps(item, indent=2, ensure_ascii=False),
                rows=min(12, 2 + len(item) if isinstance(item, dict) else 3),
                continuous_update=False,
                layout={"width": "100%"},
            )
            area.observe(self._on_change, names="value")
            self._widgets[path] = area
            remove = widgets.Button(description="remove", layout={"width": "7em"})
            remove.on_click(lambda _button, key=key, index=index: self.remove_item(key, index))
            head = widgets.HBox(
                [widgets.HTML(f'<code style="{MONO}">{escape(path)}</code>'), remove]
            )
            rows.append(widgets.VBox([head, area]))
        self._list_boxes[key].children = rows

    def add_item(self, key: str) -> None:
        """Append a new object (``key="objects"``) or text item (``"text_render"``)."""
        items = _read(self._prompt, key)
        count = len(items) if isinstance(items, list) else 0
        target = key if count == 0 else f"{key}[{count}]"
        value: Any = [_NEW_ITEM[key]] if count == 0 else _NEW_ITEM[key]
        self._prompt = self._prompt.set(target, value)
        self._fill_list(key)
        self._sync()

    def remove_item(self, key: str, index: int) -> None:
        """Remove the object (``key="objects"``) or text item at ``index``."""
        self._prompt = self._prompt.delete(f"{key}[{index}]")
        self._fill_list(key)
        self._sync()

    # ------------------------------------------------------------------ validation

    def _on_change(self, _change: Mapping[str, Any]) -> None:
        self._sync()

    def _sync(self) -> None:
        """Carry every field that differs from the prompt into it; collect errors by path."""
        prompt = self._prompt
        errors: dict[str, list[str]] = {}
        bad: set[str] = set()

        def attempt(path: str, change: Callable[[StructuredPrompt], StructuredPrompt]) -> None:
            nonlocal prompt
            try:
                prompt = change(prompt)
            except PromptValidationError as exc:
                bad.add(path)
                for issue in exc.issues:
                    errors.setdefault(issue.path or path, []).append(issue.message)
            except PromptPathError as exc:
                bad.add(path)
                errors.setdefault(path, []).append(str(exc))

        for group in ("lighting", "aesthetics", "photographic_characteristics"):
            if _read(prompt, group) in (_ABSENT, None):
                values = {
                    f.key: self._widgets[f.path].value
                    for f in self._leaves
                    if f.group == group and self._widgets[f.path].value != ""
                }
                if values:
                    # an absent group is created whole: its required fields come together
                    attempt(group, _setter(group, values))
                    if group in bad:
                        bad.update(f.path for f in self._leaves if f.group == group)
        for field in self._leaves:
            if field.group and _read(prompt, field.group) in (_ABSENT, None):
                continue  # created as a whole above, or still empty
            change = self._leaf_change(prompt, field)
            if change is not None:
                attempt(field.path, change)
        for _, key in _LISTS:
            index = 0
            while f"{key}[{index}]" in self._widgets:
                path = f"{key}[{index}]"
                self._item_change(prompt, path, errors, bad, attempt)
                index += 1
        self._prompt = prompt
        self._errors = errors
        self._bad = bad
        for path, widget in self._widgets.items():
            widget.layout.border = _FRAME_BAD if path in bad else None
        self.messages.value = self._messages()

    def _leaf_change(
        self, prompt: StructuredPrompt, field: _Field
    ) -> Callable[[StructuredPrompt], StructuredPrompt] | None:
        text = self._widgets[field.path].value
        current = _read(prompt, field.path)
        if text == "" and not field.required:
            if current in (_ABSENT, None):
                return None  # absent and null both mean "not given": keep the wire as it is
            return lambda p: p.delete(field.path)
        if current == text:
            return None
        return _setter(field.path, text)

    def _item_change(
        self,
        prompt: StructuredPrompt,
        path: str,
        errors: dict[str, list[str]],
        bad: set[str],
        attempt: Callable[[str, Callable[[StructuredPrompt], StructuredPrompt]], None],
    ) -> None:
        text = self._widgets[path].value
        try:
            value = json.loads(text)
        except ValueError as exc:
            where = getattr(exc, "lineno", None), getattr(exc, "colno", None)
            detail = getattr(exc, "msg", str(exc))
            errors.setdefault(path, []).append(
                f"not valid JSON: {detail} (line {where[0]}, column {where[1]})"
            )
            bad.add(path)
            return
        if _read(prompt, path) != value:
            attempt(path, _setter(path, value))

    def _messages(self) -> str:
        parts: list[str] = []
        if self._errors:
            accent, tint = SEVERITY["error"]
            count = sum(len(m) for m in self._errors.values())
            items = "".join(
                f"<li><code>{escape(path)}</code>: {escape(message)}</li>"
                for path, messages in self._errors.items()
                for message in messages
            )
            parts.append(
                f'<div style="border-left:3px solid {accent};background:{tint};padding:2px 8px">'
                f"<b>{count} error{'s' if count != 1 else ''}</b> (the prompt keeps its last "
                f'valid value there)<ul style="margin:2px 0">{items}</ul></div>'
            )
        warnings = self._prompt.check()
        if warnings:
            accent, tint = SEVERITY["warning"]
            items = "".join(
                f"<li><code>{escape(w.path or '(prompt)')}</code>: {escape(w.message)}</li>"
                for w in warnings
            )
            parts.append(
                f'<div style="border-left:3px solid {accent};background:{tint};padding:2px 8px">'
                f"<b>{len(warnings)} warning{'s' if len(warnings) != 1 else ''}</b>"
                f'<ul style="margin:2px 0">{items}</ul></div>'
            )
        if not parts:
            return '<span style="color:#1f883d">&#10003; valid</span>'
        return "".join(parts)

    # ------------------------------------------------------------------ generation

    def _get_client(self) -> Client:
        if self._client is None:
            self._client = Client(self._backend, image_dir=self._image_dir)
        return self._client

    def generate(self) -> Generation | None:
        """What the Generate button does: generate the form's prompt, show the image and the
        change since the previous generation.

        Returns:
            The generation, or ``None`` when the form has errors or the service failed (the
            status line says why; nothing is raised, since a button has no caller to catch).
        """
        if self._errors:
            count = sum(len(m) for m in self._errors.values())
            self.status.value = self._status(
                "error", f"not generated: fix the {count} error{'s' if count != 1 else ''} first"
            )
            return None
        seed = int(self.seed.value) if self.lock.value else None
        self.status.value = self._status("info", "generating\u2026")
        try:
            generation = self._get_client().generate(
                GenerationRequest(prompt=self._prompt, seed=seed)
            )
            picture = thumbnail(generation.read_bytes(), max_size=IMAGE_SIZE)
        except (FiboPromptsError, OSError) as exc:
            self.status.value = self._status("error", f"not generated: {exc}")
            return None
        previous = (self._sent[-1], self.generations[-1]) if self.generations else None
        self._sent.append(self._prompt)
        self.generations.append(generation)
        self.seed.value = generation.seed
        self.image.value = picture.png
        kind = "PREVIEW (not a FIBO render)" if generation.preview else "FIBO render"
        self.status.value = self._status(
            "ok",
            f"{kind}: backend {generation.backend}, seed {generation.seed}, "
            f"{generation.width}\u00d7{generation.height}, {generation.image_path}",
        )
        self.comparison.value = self._compare(previous, generation)
        return generation

    def _compare(
        self, previous: tuple[StructuredPrompt, Generation] | None, current: Generation
    ) -> str:
        if previous is None:
            self._last_diff = None
            return '<span style="opacity:.7">first generation: nothing to compare yet</span>'
        try:
            summary = diff_generations(previous[1], current).summary()
        except FiboPromptsError as exc:
            summary = f"cannot compare the images: {exc}"
        self._last_diff = diff(previous[0], self._sent[-1])
        return f"<div><b>since the previous generation:</b> {escape(summary)}</div>" + diff_html(
            self._last_diff
        )

    @staticmethod
    def _status(kind: str, text: str) -> str:
        colour = {"ok": "#1f883d", "info": "inherit"}.get(kind, SEVERITY["error"][0])
        return f'<span style="color:{colour}">{escape(text)}</span>'

    # ------------------------------------------------------------------ display, cleanup

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """Jupyter display: the widget view (``text/plain`` outside a widget frontend)."""
        return self.widget._repr_mimebundle_(**kwargs)

    def close(self) -> None:
        """Close the widgets and the client this editor made."""
        _close_tree(self.widget)
        if self._own_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> PromptEditor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _setter(path: str, value: Any) -> Callable[[StructuredPrompt], StructuredPrompt]:
    """An edit to try on a prompt: set ``value`` at ``path``."""
    return lambda prompt: prompt.set(path, value)


def _close_tree(widget: Any) -> None:
    # Widget.close() closes one widget; its children keep their comms open
    for child in getattr(widget, "children", ()):
        _close_tree(child)
    widget.close()
