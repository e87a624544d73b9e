"""A loaded brand template: rendering a prompt, or an edit of one, from a kit and variables.

See :mod:`fibo_prompts.brand.templates` for the template format and the rules the engine
enforces, and for loading.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError

from fibo_prompts.brand._header import Header, TemplateKind
from fibo_prompts.brand._limits import LimitExceeded, RenderLimits, Using
from fibo_prompts.brand._render import (
    FillError,
    SkeletonError,
    compose,
    entry_offset,
    fill,
    fill_key,
    node_offset,
    parse_skeleton,
)
from fibo_prompts.brand._sandbox import (
    LineMap,
    OutputError,
    SlotScope,
    display_path,
    environment,
)
from fibo_prompts.brand.kit import brand_data, reject_reserved
from fibo_prompts.brand.variables import TemplateVariable, value_kind
from fibo_prompts.errors import (
    FiboPromptsError,
    MissingVariablesError,
    PromptError,
    PromptPathError,
    PromptValidationError,
    TemplateError,
    TemplateLimitError,
    TemplateSecurityError,
)
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.prompt.paths import format_path, parse_path

if TYPE_CHECKING:
    from jinja2 import Template as JinjaTemplate

    from fibo_prompts.brand.kit import BrandKit

__all__ = ["AppliedChange", "Template"]

_UNDEFINED_NAME: Final = re.compile(r"'([^']+)' is undefined")
_NO_ATTRIBUTE: Final = re.compile(r"has no attribute '([^']+)'")
_BLOCK: Final = re.compile(r"\{%-?\s*block\s+(\w+)")


@dataclass(frozen=True)
class AppliedChange:
    """One field a template edit or :func:`apply_brand` changed.

    ``before`` is ``None`` when the field was absent; ``after`` is ``None`` when it was
    deleted.
    """

    path: str
    before: Any
    after: Any


class Template:
    """A loaded, checked template. Get one with :func:`load_template`.

    Example:
        >>> from fibo_prompts.brand import BrandKit, load_template
        >>> kit = BrandKit.load("templates/brands/northwind.yaml")
        >>> hero = load_template("product_hero")
        >>> prompt = hero.render(kit, {"product": "a bag of house-blend coffee beans"})
        >>> prompt.get("style_medium")
        'photograph'
    """

    def __init__(
        self,
        *,
        header: Header,
        path: Path,
        variables: dict[str, TemplateVariable],
        files: tuple[str, ...],
        search_path: tuple[str, ...],
        jinja_name: str,
    ) -> None:
        self.name = header.name
        self.description = header.description
        self.kind: TemplateKind = header.kind
        self.path = path
        self.variables = variables
        self.files = files
        self.search_path = search_path
        self._jinja_name = jinja_name
        self._structures: dict[str, Any] = {}

    def __repr__(self) -> str:
        return f"<Template {self.name!r} ({self.kind}) from {display_path(self.path)}>"

    @property
    def source(self) -> str:
        """The template file as messages show it."""
        return display_path(self.path)

    def to_dict(self) -> dict[str, Any]:
        """The template's header as plain JSON data."""
        return {
            "name": self.name,
            "description": self.description,
            "kind": self.kind,
            "path": self.source,
            "variables": [v.to_dict() for v in self.variables.values()],
        }

    # -------------------------------------------------------------- variables

    def bind(self, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Check and convert the given variables; fill defaults.

        Raises:
            TemplateError: an unknown (e.g. misspelt) name or a value of the wrong type.
            MissingVariablesError: required variables are missing.
        """
        given = dict(variables or {})
        declared = list(self.variables)
        for name in given:
            if name not in self.variables:
                close = difflib.get_close_matches(name, declared, n=1, cutoff=0.6)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                takes = ", ".join(declared) or "no variables"
                raise TemplateError(
                    f"unknown template variable {name!r}{hint}; {self.name} takes: {takes}",
                    template=self.source,
                )
        missing = [n for n, v in self.variables.items() if v.required and n not in given]
        if missing:
            raise MissingVariablesError(missing, template=self.source)
        bound: dict[str, Any] = {}
        for name, variable in self.variables.items():
            if name in given:
                try:
                    bound[name] = variable.coerce(given[name])
                except ValueError as exc:
                    raise TemplateError(
                        f"variable {name!r} ({variable.type}): {exc}", template=self.source
                    ) from None
            else:
                bound[name] = variable.default
        return bound

    # -------------------------------------------------------------- rendering

    def render(
        self,
        kit: BrandKit,
        variables: Mapping[str, Any] | None = None,
        *,
        limits: RenderLimits | None = None,
    ) -> StructuredPrompt:
        """Render a ``build`` template into a validated, strict structured prompt.

        ``limits`` bounds the render's time, loops, calls, includes and sizes (default:
        :class:`RenderLimits`'s defaults).

        Raises:
            TemplateLimitError: the render went over one of its limits.
            TemplateError: (and its subclasses) anything wrong, with template file and line.
        """
        with Using(limits):
            return self._render(kit, variables)

    def _render(self, kit: BrandKit, variables: Mapping[str, Any] | None) -> StructuredPrompt:
        if self.kind != "build":
            raise TemplateError(_wrong_kind(self.kind, "render"), template=self.source)
        context = self._context(kit, variables, base=None)
        skeleton, values = self._skeleton(context)
        data = self._data(skeleton, values, context)
        if not isinstance(data, dict):
            raise self._at(context, 0, "a build template renders a YAML mapping of prompt fields")
        try:
            return StructuredPrompt.parse(data)
        except PromptValidationError as exc:
            raise self._invalid(exc, context, skeleton) from exc
        except PromptError as exc:  # pragma: no cover - fill() only lets JSON data through
            raise TemplateError(str(exc), template=self.source) from exc

    def edit(
        self,
        base: StructuredPrompt,
        kit: BrandKit,
        variables: Mapping[str, Any] | None = None,
        *,
        limits: RenderLimits | None = None,
    ) -> tuple[StructuredPrompt, list[AppliedChange]]:
        """Apply an ``edit`` template to ``base``; return the new prompt and what changed.

        Each rendered ``path: value`` goes through :meth:`StructuredPrompt.set` (``null``
        deletes), so only the edited values' bytes change in the wire string. ``limits`` as
        for :meth:`render`.
        """
        with Using(limits):
            return self._edit(base, kit, variables)

    def _edit(
        self,
        base: StructuredPrompt,
        kit: BrandKit,
        variables: Mapping[str, Any] | None,
    ) -> tuple[StructuredPrompt, list[AppliedChange]]:
        if self.kind != "edit":
            raise TemplateError(_wrong_kind(self.kind, "edit"), template=self.source)
        context = self._context(kit, variables, base=base)
        skeleton, values = self._skeleton(context)
        data = self._parsed(skeleton, context)
        if data is None:
            return base, []
        if not isinstance(data, dict):
            raise self._at(context, 0, "an edit template renders a YAML mapping of path: value")
        prompt = base
        changes: list[AppliedChange] = []
        for index, (raw_key, raw_value) in enumerate(data.items()):
            try:
                if not isinstance(raw_key, str):
                    raise FillError(f"a path must be text, not {value_kind(raw_key)}")
                key = fill_key(raw_key, values)
                value = None if raw_value is None else fill(raw_value, values)
                path = format_path(parse_path(key))
            except (FillError, PromptPathError) as exc:
                offset = entry_offset(compose(skeleton), index)
                raise self._at(context, offset, _reason(exc)) from None
            try:
                before = prompt.get(path)
                present = True
            except PromptPathError:
                before, present = None, False
            try:
                if value is None:
                    if not present:
                        continue
                    prompt = prompt.delete(path)
                else:
                    if present and before == value:
                        continue
                    prompt = prompt.set(path, value)
            except FiboPromptsError as exc:
                offset = entry_offset(compose(skeleton), index)
                reason = _reason(exc).removeprefix(f"{path}: ")
                raise self._at(context, offset, f"cannot apply {path}: {reason}") from exc
            changes.append(AppliedChange(path=path, before=before, after=value))
        return prompt, changes

    # -------------------------------------------------------------- internals

    def _context(
        self, kit: BrandKit, variables: Mapping[str, Any] | None, *, base: StructuredPrompt | None
    ) -> dict[str, Any]:
        context = self.bind(variables)
        context["brand"] = brand_data(kit)
        if base is not None:
            data = base.to_dict()
            try:
                reject_reserved(data)
            except ValueError as exc:
                raise TemplateError(f"the base prompt: {exc}", template=self.source) from None
            context["base"] = data
        return context

    def _jinja(self, *, markers: bool = False) -> JinjaTemplate:
        env = environment(self.search_path, markers=markers)
        try:
            return env.get_template(self._jinja_name)
        except Exception as exc:  # pragma: no cover - load_template compiled it already
            raise self._runtime_error(exc) from exc

    def _skeleton(self, context: dict[str, Any]) -> tuple[str, list[Any]]:
        template = self._jinja()
        scope = SlotScope()
        with scope:
            try:
                text = template.render(context)
            except Exception as exc:
                raise self._runtime_error(exc) from exc
        return text, scope.values

    def _parsed(self, skeleton: str, context: dict[str, Any]) -> Any:
        try:
            return parse_skeleton(skeleton, self._structures)
        except SkeletonError as exc:
            raise self._at(context, exc.offset, exc.message) from None

    def _data(self, skeleton: str, values: list[Any], context: dict[str, Any]) -> Any:
        parsed = self._parsed(skeleton, context)
        try:
            return fill(parsed, values)
        except FillError as exc:
            offset = node_offset(compose(skeleton), exc.parts)
            raise self._at(context, offset, exc.message) from None

    def _place(self, context: dict[str, Any], offset: int) -> tuple[str, int | None]:
        """The template file and line that produced a skeleton offset (re-renders, marked)."""
        try:
            with SlotScope():
                marked = self._jinja(markers=True).render(context)
        except Exception:  # pragma: no cover - the plain render of the same context worked
            return self.source, None
        place = LineMap(marked).place(offset)
        if place is None:
            return self.source, None
        return display_path(place[0]), place[1]

    def _at(self, context: dict[str, Any], offset: int, message: str) -> TemplateError:
        template, line = self._place(context, offset)
        return TemplateError(message, template=template, line=line)

    def _invalid(
        self, exc: PromptValidationError, context: dict[str, Any], skeleton: str
    ) -> TemplateError:
        root = compose(skeleton)
        lines: list[str] = []
        first: tuple[str, int | None] | None = None
        for issue in exc.issues:
            parts = parse_path(issue.path) if issue.path else ()
            place = self._place(context, node_offset(root, parts))
            # the issue's own line/column point into the rendered JSON, not the template
            text = dataclasses.replace(issue, line=None, column=None).format()
            block = self._unfilled_block(place)
            if block is not None:
                # the parent leaves the block to this template: the fix is here, not there
                text += (
                    f"; add {{% block {block} %}}...{{% endblock %}} ({place[0]}:{place[1]} "
                    "leaves it to the template)"
                )
                place = (self.source, None)
            first = first or place
            where = place[0] if place[1] is None else f"{place[0]}:{place[1]}"
            lines.append(f"  {where}: {text}")
        template, line = first or (self.source, None)
        message = "the template renders an invalid structured prompt:\n" + "\n".join(lines)
        return TemplateError(message, template=template, line=line)

    def _unfilled_block(self, place: tuple[str, int | None]) -> str | None:
        """The block on the line of a parent template at ``place`` that this template does
        not fill, if there is one: an issue there is this template's to fix."""
        source, line = place
        if line is None or source == self.source:
            return None
        parent = next((f for f in self.files if display_path(f) == source), None)
        if parent is None:
            return None
        try:
            parent_lines = Path(parent).read_text(encoding="utf-8").splitlines()
            own = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            return None
        if not 0 < line <= len(parent_lines):
            return None
        filled = set(_BLOCK.findall(own))
        names = [b for b in _BLOCK.findall(parent_lines[line - 1]) if b not in filled]
        return names[0] if len(names) == 1 else None

    def _runtime_error(self, exc: BaseException) -> FiboPromptsError:
        if isinstance(exc, TemplateSyntaxError):
            name = exc.filename or self.source
            return TemplateError(
                exc.message or str(exc), template=display_path(name), line=exc.lineno
            )
        template, line = self._frame(exc)
        if isinstance(exc, LimitExceeded):
            return TemplateLimitError(
                f"blocked by the sandbox: {exc}", limit=exc.limit, template=template, line=line
            )
        if isinstance(exc, SecurityError):
            return TemplateSecurityError(
                f"blocked by the sandbox: {exc}", template=template, line=line
            )
        # the sandbox refuses too large ranges with OverflowError, not SecurityError
        if isinstance(exc, OverflowError) and "sandbox" in str(exc).lower():
            return TemplateSecurityError(
                f"blocked by the sandbox: {exc}", template=template, line=line
            )
        if isinstance(exc, UndefinedError):
            message = str(exc)
            match = _UNDEFINED_NAME.fullmatch(message)
            if match:
                name = match[1]
                known = [*self.variables, "brand", "base"]
                close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
                return MissingVariablesError(
                    [name],
                    suggestions={name: close[0]} if close else None,
                    template=template,
                    line=line,
                )
            attribute = _NO_ATTRIBUTE.search(message)
            if attribute:
                close = difflib.get_close_matches(attribute[1], _BRAND_KEYS, n=1, cutoff=0.7)
                if close:
                    message += f" (did you mean {close[0]!r}?)"
            return TemplateError(message, template=template, line=line)
        if isinstance(exc, OutputError):
            return TemplateError(str(exc), template=template, line=line)
        if isinstance(exc, TemplateNotFound):
            return TemplateError(
                f"no template {exc.name!r} to include", template=template, line=line
            )
        if isinstance(exc, FiboPromptsError):
            return exc
        return TemplateError(f"{type(exc).__name__}: {exc}", template=template, line=line)

    def _frame(self, exc: BaseException) -> tuple[str, int | None]:
        """The template file and line where a render error was raised (Jinja rewrites the
        traceback so that template frames carry the template's file name and line)."""
        files = set(self.files)
        found: tuple[str, int | None] = (self.source, None)
        traceback = exc.__traceback__
        while traceback is not None:
            filename = traceback.tb_frame.f_code.co_filename
            if filename in files:
                found = (display_path(filename), traceback.tb_lineno)
            traceback = traceback.tb_next
        return found


_BRAND_KEYS: Final = (
    "name version description tagline palette typography mood lighting photographic "
    "style_medium artistic_style composition color_scheme required forbidden aspect_ratios "
    "color colors type mood_text conditions direction shadows camera_angle lens_focal_length "
    "depth_of_field focus font size role hex usage"
).split()


def _wrong_kind(kind: str, action: str) -> str:
    if kind == "base":
        return "a base template cannot be used on its own; extend it"
    if action == "render":
        return "an edit template changes an existing prompt: use edit(base, kit, ...) / --base"
    return "a build template makes a whole prompt: use render(kit, ...)"


def _reason(exc: Exception) -> str:
    if isinstance(exc, PromptValidationError):
        # positions point into the prompt's JSON, not the template
        issues = [dataclasses.replace(i, line=None, column=None) for i in exc.issues]
        return "; ".join(issue.format() for issue in issues)
    if isinstance(exc, TemplateError):
        return exc.message
    return str(exc.args[0]) if exc.args else str(exc)
