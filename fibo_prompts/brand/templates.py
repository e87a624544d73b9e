"""Brand templates: a few variables and a brand kit in, a validated structured prompt out.

A template is a file (``*.j2``) whose first lines are a Jinja comment holding a YAML header,
followed by a YAML body rendered by Jinja2 in a sandbox::

    {#-
    name: product_hero
    description: One product, alone, in the brand's light.
    kind: build            # build: a whole prompt; edit: changes to a prompt; base: a parent
    variables:
      product:
        description: The product, as FIBO should see it.
        type: str          # str | int | float | bool | list[str]
        required: true
        examples: ["a 250 g bag of house-blend coffee beans"]
    -#}
    {% extends "_base.yaml.j2" %}
    {% block short_description %}{{ product }} on a table, {{ brand.mood_text }}.{% endblock %}

Rules the engine enforces:

- The sandbox is :class:`jinja2.sandbox.ImmutableSandboxedEnvironment` with
  ``StrictUndefined``; the brand kit is ``brand`` (plain data, see
  :meth:`BrandKit.template_data`), an edit template also sees the prompt it edits as ``base``.
- Every ``{{ }}`` becomes a value slot, never YAML text (see :mod:`._sandbox`), so no value can
  change the prompt's structure. ``{% filter %}`` and ``{% call %}`` blocks are refused because
  their output would bypass the slots; ``super()``, macros and ``{% set %}`` blocks produce text
  values, not structure.
- Variables are declared in the header and type-checked; a template that uses an undeclared
  name is refused when it is loaded. Names of other templates (``extends``, ``include``) must
  be literal; a template inherits the variables its bases declare.
- A build template's output is validated as a strict :class:`StructuredPrompt`; an edit
  template's output is a mapping ``path: value`` applied with :meth:`StructuredPrompt.set`
  (``null`` deletes), so the base prompt's wire string keeps every other byte.
- Every error names the template file and line.
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib.resources
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from fibo_prompts._yaml import YAMLProblem, load_yaml, yaml_kind
from fibo_prompts.brand._limits import LimitExceeded, RenderLimits, Using
from fibo_prompts.brand._sandbox import (
    OutputError,
    SlotScope,
    display_path,
    environment,
    read_template_text,
)
from fibo_prompts.errors import (
    FiboPromptsError,
    MissingVariablesError,
    PromptError,
    PromptPathError,
    PromptValidationError,
    TemplateError,
    TemplateLimitError,
    TemplateNotFoundError,
    TemplateSecurityError,
)

if TYPE_CHECKING:
    from jinja2 import Template as JinjaTemplate

    from fibo_prompts.brand.kit import BrandKit
    from fibo_prompts.prompt import StructuredPrompt

__all__ = [
    "AppliedChange",
    "RenderLimits",
    "Template",
    "TemplateVariable",
    "builtin_templates_dir",
    "list_templates",
    "load_template",
]

VariableType = Literal["str", "int", "float", "bool", "list[str]"]
TemplateKind = Literal["build", "edit", "base"]
VARIABLE_TYPES: Final[tuple[str, ...]] = ("str", "int", "float", "bool", "list[str]")
TEMPLATE_SUFFIX: Final = ".j2"

#: Names a variable may not take: the engine's own and Jinja's.
RESERVED_NAMES: Final = frozenset(
    {
        "brand",
        "base",
        "range",
        "dict",
        "namespace",
        "loop",
        "self",
        "super",
        "caller",
        "varargs",
        "kwargs",
        "true",
        "false",
        "none",
        "True",
        "False",
        "None",
    }
)
#: Names that server-side template injection payloads reach for (Jinja's own helpers, which
#: this sandbox removes, and Flask's globals). Using one is reported as a security error.
ESCAPE_GADGETS: Final = frozenset(
    {
        "lipsum",
        "cycler",
        "joiner",
        "config",
        "request",
        "session",
        "url_for",
        "get_flashed_messages",
        "__builtins__",
        "os",
        "sys",
        "subprocess",
        "importlib",
    }
)
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TEMPLATE_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*\Z")
_HEADER: Final = re.compile(r"\{#-?(.*?)-?#\}", re.DOTALL)
_UNDEFINED_NAME: Final = re.compile(r"'([^']+)' is undefined")
_NO_ATTRIBUTE: Final = re.compile(r"has no attribute '([^']+)'")
_TRUE: Final = frozenset({"true", "yes", "on", "1"})
_FALSE: Final = frozenset({"false", "no", "off", "0"})
_MAX_VALUE_CHARS: Final = 10_000
_MAX_NUMBER_CHARS: Final = 4_300  # Python's int/str conversion limit
_INT_LIMIT: Final = 10**_MAX_NUMBER_CHARS


def builtin_templates_dir() -> Path:
    """The directory of the shipped templates and example brand kits.

    An installed wheel carries them as ``fibo_prompts/_templates`` (a build-time
    force-include); in a source checkout they are the repository's ``templates/``.
    """
    packaged = Path(str(importlib.resources.files("fibo_prompts"))) / "_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "templates"


# ---------------------------------------------------------------------- variables


@dataclass(frozen=True)
class TemplateVariable:
    """A variable a template declares: its type, whether it is required, default, examples."""

    name: str
    description: str = ""
    type: VariableType = "str"
    required: bool = True
    default: Any = None
    examples: tuple[Any, ...] = ()
    choices: tuple[Any, ...] | None = None
    #: a list's fewest and most items (``min_items``/``max_items`` in the header); None: any
    min_items: int | None = None
    max_items: int | None = None

    def coerce(self, value: Any) -> Any:
        """Check a value against the declared type, converting text (``--var n=3``) as needed.

        Lists accept a list, a JSON array (``'["a", "b"]'``) or comma-separated text.

        Raises:
            ValueError: the value does not fit; the message says what was expected.
        """
        result = _coerce(self.type, value)
        if self.choices is not None and result not in self.choices:
            options = ", ".join(str(c) for c in self.choices)
            close = difflib.get_close_matches(str(result), [str(c) for c in self.choices], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(f"{result!r} is not one of: {options}{hint}")
        if isinstance(result, list) and not (
            (self.min_items is None or len(result) >= self.min_items)
            and (self.max_items is None or len(result) <= self.max_items)
        ):
            raise ValueError(
                f"takes {_item_range(self.min_items, self.max_items)}, got {len(result)}"
            )
        return result

    def to_dict(self) -> dict[str, Any]:
        """The variable as plain JSON data (for ``fibo templates show --format json``)."""
        return {
            "name": self.name,
            "description": self.description,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "examples": list(self.examples),
            "choices": None if self.choices is None else list(self.choices),
            "min_items": self.min_items,
            "max_items": self.max_items,
        }


def _item_range(low: int | None, high: int | None) -> str:
    if low is not None and high is not None:
        return f"{low} to {high} items"
    return f"at least {low} items" if low is not None else f"at most {high} items"


def _coerce(kind: str, value: Any) -> Any:
    if kind == "str":
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValueError(f"expected text, got {yaml_kind(value, string='text')}")
        return _clean_text(_text(value))
    if kind == "int":
        if isinstance(value, str):
            text = value.strip()
            try:
                if len(text) > _MAX_NUMBER_CHARS:
                    raise ValueError
                return int(text)
            except ValueError:
                raise ValueError(f"expected a whole number, got {_shown(value)}") from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {yaml_kind(value, string='text')}")
        if abs(value) >= _INT_LIMIT:
            raise ValueError(f"expected a whole number of at most {_MAX_NUMBER_CHARS} digits")
        return value
    if kind == "float":
        if isinstance(value, str):
            try:
                number = float(value.strip())
            except ValueError:
                raise ValueError(f"expected a number, got {_shown(value)}") from None
        elif isinstance(value, int | float) and not isinstance(value, bool):
            number = float(value)
        else:
            raise ValueError(f"expected a number, got {yaml_kind(value, string='text')}")
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"expected a finite number, got {_shown(value)}")
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        raise ValueError(f"expected true or false, got {_shown(value)}")
    # list[str]
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            import json

            try:
                value = json.loads(text)
            except ValueError as exc:
                raise ValueError(f"not a JSON list ({exc})") from None
        else:
            value = [part.strip() for part in text.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError(f"expected a list of text, got {yaml_kind(value, string='text')}")
    items = []
    for item in value:
        if isinstance(item, bool) or not isinstance(item, str | int | float):
            raise ValueError(
                f"expected a list of text, got an item that is {yaml_kind(item, string='text')}"
            )
        items.append(_clean_text(_text(item)))
    return items


def _text(value: str | int | float) -> str:
    """A scalar as text; an int too long to print (``str()`` raises past 4,300 digits) is
    refused with the same message as too long text."""
    if isinstance(value, int) and abs(value) >= _INT_LIMIT:
        raise ValueError(f"a number of more than {_MAX_NUMBER_CHARS:,} digits")
    return str(value)


def _shown(value: Any) -> str:
    """A given value as messages quote it: long text is summarized, not repeated."""
    if isinstance(value, str) and len(value) > 60:
        return f"text of {len(value):,} characters"
    return repr(value)


def _clean_text(text: str) -> str:
    from fibo_prompts.brand.kit import RESERVED_CHARACTERS

    if not RESERVED_CHARACTERS.isdisjoint(text):
        raise ValueError("text holds a reserved private-use character (U+E000 to U+E003)")
    if len(text) > _MAX_VALUE_CHARS:
        raise ValueError(f"text is {len(text):,} characters; the limit is {_MAX_VALUE_CHARS:,}")
    return text


@dataclass(frozen=True)
class AppliedChange:
    """One field a template edit or :func:`apply_brand` changed.

    ``before`` is ``None`` when the field was absent; ``after`` is ``None`` when it was
    deleted.
    """

    path: str
    before: Any
    after: Any


# ---------------------------------------------------------------------- the header


@dataclass
class _Header:
    name: str
    description: str
    kind: TemplateKind
    variables: dict[str, TemplateVariable] = field(default_factory=dict)


_HEADER_KEYS: Final = ("name", "description", "kind", "variables")
_VARIABLE_KEYS: Final = (
    "description",
    "type",
    "required",
    "default",
    "examples",
    "choices",
    "min_items",
    "max_items",
)


def _kind(value: Any) -> str:
    """What a variable's value is, as messages say it (a template calls strings "text")."""
    return yaml_kind(value, string="text")


def _parse_header(text: str, shown: str) -> _Header:
    def fail(message: str, line: int = 1) -> TemplateError:
        return TemplateError(f"header: {message}", template=shown, line=line)

    if not text.startswith("{#"):
        raise fail(
            "a template starts with a {# ... #} comment holding its YAML header "
            "(name, description, kind, variables)"
        )
    match = _HEADER.match(text)
    if match is None:
        raise fail("the header comment is never closed with #}")
    source = match[1]

    def line_of(key: str) -> int:
        found = re.search(rf"^[ \t]*{re.escape(key)}[ \t]*:", source, re.MULTILINE)
        return source.count("\n", 0, found.start()) + 1 if found else 1

    try:
        data = load_yaml(source)
    except YAMLProblem as exc:
        raise fail(f"not valid YAML ({exc.message})", exc.line or 1) from None
    if not isinstance(data, dict):
        raise fail("the header is a YAML mapping with name, description, kind and variables")
    for key in data:
        if key not in _HEADER_KEYS:
            raise fail(_unknown_key(str(key), _HEADER_KEYS), line_of(str(key)))
    for key in ("name", "description", "kind"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise fail(f"{key!r} is required and must be text", line_of(key))
    name = data["name"].strip()
    if not _TEMPLATE_NAME.match(name):
        raise fail(f"name {name!r} may hold only letters, digits, '_' and '-'", line_of("name"))
    kind = data["kind"].strip()
    if kind not in ("build", "edit", "base"):
        raise fail(f"kind {kind!r} is not one of: build, edit, base", line_of("kind"))
    raw_variables = data.get("variables") or {}
    if not isinstance(raw_variables, dict):
        raise fail("'variables' is a mapping of name to its description", line_of("variables"))
    variables: dict[str, TemplateVariable] = {}
    for var_name, spec in raw_variables.items():
        where = line_of(str(var_name))
        try:
            variables[str(var_name)] = _variable(str(var_name), spec)
        except ValueError as exc:
            raise fail(f"variable {var_name!r}: {exc}", where) from None
    return _Header(
        name=name, description=data["description"].strip(), kind=kind, variables=variables
    )


def _unknown_key(key: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown key {key!r}{hint}; keys: {', '.join(known)}"


def _variable(name: str, spec: Any) -> TemplateVariable:
    if not _IDENTIFIER.match(name):
        raise ValueError("a variable name is a Python-style identifier (letters, digits, _)")
    if name in RESERVED_NAMES:
        raise ValueError("this name is reserved by the template engine; choose another")
    if spec is None:
        spec = {}
    if not isinstance(spec, dict):
        raise ValueError("declare a variable as a mapping (description, type, required...)")
    for key in spec:
        if key not in _VARIABLE_KEYS:
            raise ValueError(_unknown_key(str(key), _VARIABLE_KEYS))
    kind = spec.get("type", "str")
    if kind not in VARIABLE_TYPES:
        close = difflib.get_close_matches(str(kind), VARIABLE_TYPES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"type {kind!r} is not one of: {', '.join(VARIABLE_TYPES)}{hint}")
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise ValueError("'description' must be text")
    has_default = "default" in spec
    required = spec.get("required")
    if required is not None and not isinstance(required, bool):
        raise ValueError("'required' is true or false")
    if required and has_default:
        raise ValueError("a required variable cannot have a default")
    if required is False and not has_default:
        has_default = True  # optional without a default: None, guarded with {% if %}
    choices_raw = spec.get("choices")
    if choices_raw is not None and not isinstance(choices_raw, list):
        raise ValueError("'choices' is a list")
    examples_raw = spec.get("examples", [])
    if not isinstance(examples_raw, list):
        raise ValueError("'examples' is a list")
    choices = None if choices_raw is None else tuple(_coerce(kind, c) for c in choices_raw)
    min_items, max_items = _item_bounds(kind, spec)
    variable = TemplateVariable(
        name=name,
        description=description.strip(),
        type=kind,
        required=not has_default,
        default=None,
        examples=(),
        choices=choices,
        min_items=min_items,
        max_items=max_items,
    )
    default = spec.get("default")
    if default is not None:
        default = variable.coerce(default)
    examples = tuple(variable.coerce(e) for e in examples_raw)
    return TemplateVariable(
        name=name,
        description=variable.description,
        type=kind,
        required=variable.required,
        default=default,
        examples=examples,
        choices=choices,
        min_items=min_items,
        max_items=max_items,
    )


def _item_bounds(kind: str, spec: dict[str, Any]) -> tuple[int | None, int | None]:
    """A list variable's ``min_items`` and ``max_items`` (whole numbers, low <= high)."""
    bounds = [spec.get("min_items"), spec.get("max_items")]
    if bounds == [None, None]:
        return None, None
    if not kind.startswith("list"):
        raise ValueError("'min_items' and 'max_items' are for list variables")
    for key, bound in zip(("min_items", "max_items"), bounds, strict=True):
        if bound is not None and (
            isinstance(bound, bool) or not isinstance(bound, int) or bound < 0
        ):
            raise ValueError(f"{key!r} is a whole number, 0 or more")
    low, high = bounds
    if low is not None and high is not None and low > high:
        raise ValueError("'min_items' is more than 'max_items'")
    return low, high


# ---------------------------------------------------------------------- templates


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
        header: _Header,
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
        from fibo_prompts.prompt import StructuredPrompt

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
        from fibo_prompts.brand._render import FillError, compose, entry_offset, fill, fill_key
        from fibo_prompts.prompt.paths import format_path, parse_path

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
                    raise FillError(f"a path must be text, not {yaml_kind(raw_key, string='text')}")
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
        from fibo_prompts.brand.kit import brand_data, reject_reserved

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
        from fibo_prompts.brand._render import SkeletonError, parse_skeleton

        try:
            return parse_skeleton(skeleton, self._structures)
        except SkeletonError as exc:
            raise self._at(context, exc.offset, exc.message) from None

    def _data(self, skeleton: str, values: list[Any], context: dict[str, Any]) -> Any:
        from fibo_prompts.brand._render import FillError, compose, fill, node_offset

        parsed = self._parsed(skeleton, context)
        try:
            return fill(parsed, values)
        except FillError as exc:
            offset = node_offset(compose(skeleton), exc.parts)
            raise self._at(context, offset, exc.message) from None

    def _place(self, context: dict[str, Any], offset: int) -> tuple[str, int | None]:
        """The template file and line that produced a skeleton offset (re-renders, marked)."""
        from fibo_prompts.brand._sandbox import LineMap

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
        from fibo_prompts.brand._render import compose, node_offset
        from fibo_prompts.prompt.paths import parse_path

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
        from jinja2 import TemplateNotFound, TemplateSyntaxError, UndefinedError
        from jinja2.exceptions import SecurityError

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


# ---------------------------------------------------------------------- loading


_loaded: dict[tuple[str, tuple[str, ...]], tuple[tuple[tuple[str, int, int], ...], Template]] = {}


_BLOCK: Final = re.compile(r"\{%-?\s*block\s+(\w+)")


def _search_path(dirs: Sequence[str | os.PathLike[str]] | None) -> list[str]:
    out: list[str] = []
    for directory in [*(dirs or ()), builtin_templates_dir()]:
        text = str(Path(directory).resolve())
        if text not in out:
            out.append(text)
    return out


def _stamp(files: Sequence[str]) -> tuple[tuple[str, int, int], ...]:
    stamps = []
    for name in files:
        try:
            stat = os.stat(name)
        except OSError:
            return ()
        stamps.append((name, stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def _load_path(path: Path, search_path: Sequence[str], stack: tuple[str, ...] = ()) -> Template:
    """Load and check one template file and everything it references (cached by mtime)."""
    path = path.resolve()
    own_dir = str(path.parent)
    ordered = (own_dir, *(d for d in search_path if d != own_dir))
    key = (str(path), ordered)
    cached = _loaded.get(key)
    if cached is not None and cached[0] and _stamp([s[0] for s in cached[0]]) == cached[0]:
        return cached[1]
    template = _check(path, ordered, stack)
    _loaded[key] = (_stamp(template.files), template)
    return template


def _check(path: Path, search_path: tuple[str, ...], stack: tuple[str, ...]) -> Template:
    from jinja2 import TemplateSyntaxError, meta, nodes

    shown = display_path(path)
    if str(path) in stack:
        raise TemplateError("templates extend or include each other in a cycle", template=shown)
    if not path.is_file():
        from fibo_prompts.errors import FileAccessError

        raise FileAccessError(f"{shown}: no such template file", path=str(path))
    text = read_template_text(path)
    header = _parse_header(text, shown)
    env = environment(search_path)
    try:
        ast = env.parse(text, name=path.name, filename=str(path))
    except TemplateSyntaxError as exc:
        raise TemplateError(exc.message or str(exc), template=shown, line=exc.lineno) from None
    for node in ast.find_all((nodes.FilterBlock, nodes.CallBlock)):
        tag = "filter" if isinstance(node, nodes.FilterBlock) else "call"
        raise TemplateError(
            f"{{% {tag} %}} blocks are not allowed in templates: their output would bypass "
            "the value slots that keep variables out of the prompt's structure",
            template=shown,
            line=node.lineno,
        )
    loader_dirs = search_path
    inherited: dict[str, TemplateVariable] = {}
    files = [str(path)]
    references: Iterator[nodes.Extends | nodes.Include | nodes.Import | nodes.FromImport]
    references = ast.find_all((nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport))
    for node in references:
        target = node.template
        if not (isinstance(target, nodes.Const) and isinstance(target.value, str)):
            raise TemplateError(
                "the name of an extended or included template must be a literal string",
                template=shown,
                line=node.lineno,
            )
        from fibo_prompts.brand._sandbox import CheckedLoader

        found = CheckedLoader(loader_dirs).resolve(target.value)
        if found is None:
            raise TemplateError(
                f"no template {target.value!r} in "
                + ", ".join(display_path(d) for d in loader_dirs),
                template=shown,
                line=node.lineno,
            )
        parent = _load_path(found, search_path, (*stack, str(path)))
        if parent.kind == "edit" or (parent.kind == "build" and header.kind != "build"):
            raise TemplateError(
                f"a {header.kind} template cannot build on the {parent.kind} template "
                f"{parent.name!r}",
                template=shown,
                line=node.lineno,
            )
        inherited.update(parent.variables)
        files.extend(f for f in parent.files if f not in files)
    variables = {**inherited, **header.variables}
    allowed = set(variables) | {"brand"} | set(env.globals)
    if header.kind == "edit":
        allowed.add("base")
    try:
        # runs Jinja's code generator, which also reports unknown filters and tests
        free = meta.find_undeclared_variables(ast) - allowed
    except TemplateSyntaxError as exc:
        raise TemplateError(exc.message or str(exc), template=shown, line=exc.lineno) from None
    if free:
        name = sorted(free, key=lambda n: (n not in ESCAPE_GADGETS, n))[0]
        line = next(
            (n.lineno for n in ast.find_all(nodes.Name) if n.name == name and n.ctx == "load"),
            None,
        )
        if name in ESCAPE_GADGETS:
            raise TemplateSecurityError(
                f"uses {name!r}, a known route out of Jinja sandboxes; templates get only "
                "their variables, brand (and base), range, dict and namespace",
                template=shown,
                line=line,
            )
        close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TemplateError(
            f"uses {name!r}, which the header does not declare{hint}; add it under 'variables'",
            template=shown,
            line=line,
        )
    # compile now, so that a render never meets a syntax error
    try:
        env.get_template(path.name)
    except TemplateSyntaxError as exc:  # pragma: no cover - env.parse caught it
        raise TemplateError(exc.message or str(exc), template=shown, line=exc.lineno) from None
    return Template(
        header=header,
        path=path,
        variables=variables,
        files=tuple(files),
        search_path=search_path,
        jinja_name=path.name,
    )


def _candidates(search_path: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for directory in search_path:
        folder = Path(directory)
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob(f"*{TEMPLATE_SUFFIX}")):
            if path.is_file() and not path.name.startswith("_"):
                found.append(path)
    return found


def _looks_like_path(name: str) -> bool:
    return "/" in name or os.sep in name or name.endswith(TEMPLATE_SUFFIX)


def load_template(
    name_or_path: str | os.PathLike[str], *, dirs: Sequence[str | os.PathLike[str]] | None = None
) -> Template:
    """Load a template by name (searched in ``dirs``, then the built-in templates) or by path.

    Raises:
        TemplateNotFoundError: no template has that name (the error lists those that exist).
        TemplateError: the template is broken (not UTF-8, bad header, syntax error...).
    """
    search_path = _search_path(dirs)
    text = os.fspath(name_or_path)
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(text):
        path = Path(text)
        if not path.is_file():
            # a bare file name of a template in the search path ("product_hero.yaml.j2")
            from fibo_prompts.brand._sandbox import CheckedLoader

            path = CheckedLoader(search_path).resolve(text) or path
        return _load_path(path, search_path)
    available: list[str] = []
    for path in _candidates(search_path):
        try:
            template = _load_path(path, search_path)
        except TemplateError:
            if path.name.split(".")[0] == text:
                raise  # the template asked for: its own error is the answer
            continue  # someone else's broken template must not stop this render
        if template.kind == "base":
            continue
        if template.name == text or path.name.split(".")[0] == text:
            return template
        available.append(template.name)
    raise TemplateNotFoundError(text, available=sorted(set(available)))


def list_templates(
    dirs: Sequence[str | os.PathLike[str]] | None = None,
    *,
    errors: list[TemplateError] | None = None,
) -> list[Template]:
    """Every build and edit template in ``dirs`` and the built-in templates, by name.

    A template in an earlier directory hides a later one of the same name. With ``errors``
    (a list), each broken template's error is appended to it and the others are still listed;
    without, the first broken template raises.

    Raises:
        TemplateError: a template is broken (only without ``errors``).
    """
    search_path = _search_path(dirs)
    seen: dict[str, Template] = {}
    for path in _candidates(search_path):
        try:
            template = _load_path(path, search_path)
        except TemplateError as exc:
            if errors is None:
                raise
            errors.append(exc)
            continue
        if template.kind != "base" and template.name not in seen:
            seen[template.name] = template
    return [seen[name] for name in sorted(seen)]
