"""The YAML header of a brand template: its name, description, kind and variables.

The header is the template's first Jinja comment (``{#- ... -#}``). It is read strictly
(no aliases, no duplicate keys) and every key is checked, with a "did you mean" for a typo
and the header line of the problem.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from fibo_prompts._yaml import YAMLProblem, load_yaml
from fibo_prompts.brand.variables import VARIABLE_TYPES, TemplateVariable, coerce_value
from fibo_prompts.errors import TemplateError

__all__ = ["RESERVED_NAMES", "Header", "TemplateKind", "parse_header"]

TemplateKind = Literal["build", "edit", "base"]

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
_IDENTIFIER: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TEMPLATE_NAME: Final = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_\-]*\Z")
_HEADER: Final = re.compile(r"\{#-?(.*?)-?#\}", re.DOTALL)


@dataclass
class Header:
    """What a template's header declares."""

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


def parse_header(text: str, shown: str) -> Header:
    """The header of template text ``text`` (``shown``: its name in messages), checked.

    Raises:
        TemplateError: the header is missing, not YAML, or declares something wrong; the
            error names the header line.
    """

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
    return Header(
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
    choices = None if choices_raw is None else tuple(coerce_value(kind, c) for c in choices_raw)
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
