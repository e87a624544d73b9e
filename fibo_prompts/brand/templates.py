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

This module finds and loads templates (checking every file a template references); the
header is read in :mod:`._header`, variable values are checked in :mod:`.variables`, and a
loaded template is a :class:`Template` (:mod:`._template`).
"""

from __future__ import annotations

import difflib
import importlib.resources
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from jinja2 import TemplateSyntaxError, meta, nodes

from fibo_prompts.brand._header import parse_header
from fibo_prompts.brand._limits import RenderLimits
from fibo_prompts.brand._sandbox import (
    CheckedLoader,
    display_path,
    environment,
    read_template_text,
)
from fibo_prompts.brand._template import AppliedChange, Template
from fibo_prompts.brand.variables import TemplateVariable
from fibo_prompts.errors import (
    FileAccessError,
    TemplateError,
    TemplateNotFoundError,
    TemplateSecurityError,
)

__all__ = [
    "AppliedChange",
    "RenderLimits",
    "Template",
    "TemplateVariable",
    "builtin_templates_dir",
    "list_templates",
    "load_template",
]

TEMPLATE_SUFFIX: Final = ".j2"

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


def builtin_templates_dir() -> Path:
    """The directory of the shipped templates and example brand kits.

    An installed wheel carries them as ``fibo_prompts/_templates`` (a build-time
    force-include); in a source checkout they are the repository's ``templates/``.
    """
    packaged = Path(str(importlib.resources.files("fibo_prompts"))) / "_templates"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent.parent / "templates"


# ---------------------------------------------------------------------- loading


_loaded: dict[tuple[str, tuple[str, ...]], tuple[tuple[tuple[str, int, int], ...], Template]] = {}


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
    shown = display_path(path)
    if str(path) in stack:
        raise TemplateError("templates extend or include each other in a cycle", template=shown)
    if not path.is_file():
        raise FileAccessError(f"{shown}: no such template file", path=str(path))
    text = read_template_text(path)
    header = parse_header(text, shown)
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
