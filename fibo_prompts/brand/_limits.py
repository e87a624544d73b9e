"""Render limits: how long a template may run and how much it may build.

Jinja's sandbox stops attribute escapes, not resource exhaustion: ``range(100000)`` nested in
itself, ``'{:>1000000000}'.format('x')``, ``|center``, ``|indent``, ``.ljust``, a string doubled
in a ``namespace`` loop or a fan of includes exhaust time or memory without touching anything
forbidden. The template engine therefore bounds a render on its own terms:

- **time**: a deadline, checked at every loop iteration, call, filter, include and output;
- **counts**: loop iterations (filters that iterate count too), calls, includes and imports;
- **sizes**: every operation that can build a long string or list from short inputs (padding
  widths, ``%`` and ``str.format`` specs, ``replace``, ``join``, repetition, concatenation,
  printing nested lists...) is measured *before* it runs, and every call or filter result is
  measured after; the rendered output, values expanded, is counted as it is written.

Compiled templates call the guards in this module (see :func:`guard_tree`); filters and
``str`` methods are checked by the wrappers in :mod:`fibo_prompts.brand._sandbox`. A breach
raises :class:`LimitExceeded`, which the template engine reports as a
:class:`~fibo_prompts.errors.TemplateLimitError` naming the template line and the limit.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator, Mapping, Sized
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Final

from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace
from jinja2.visitor import NodeTransformer

__all__ = ["Budget", "LimitExceeded", "RenderLimits"]


@dataclass(frozen=True)
class RenderLimits:
    """Bounds on one template render; pass ``limits=`` to :meth:`Template.render` / ``edit``.

    Real templates stay far below every default (a shipped template renders in about a
    millisecond, with a few dozen iterations and calls).

    Attributes:
        timeout: seconds a render may run (checked at every loop step, call and output).
        max_iterations: loop iterations in all, including items produced by filters such as
            ``map`` and ``select``.
        max_calls: calls of functions, methods, macros and filters in all.
        max_includes: templates included or imported in all.
        max_text: characters in any one string an operation builds (or a value expands to).
        max_items: items in any one list an operation builds.
        max_output: characters the render writes in all, values expanded.
        max_built: characters and list items that calls, filters and operators may build in
            all, temporary results included: many results each under ``max_text`` (a
            100,000-item ``map`` of long strings) add up to gigabytes otherwise.
        max_nesting: how deep rendered text (``{% set %}`` blocks, macros) may hold rendered
            text.
    """

    timeout: float = 5.0
    max_iterations: int = 100_000
    max_calls: int = 100_000
    max_includes: int = 1_000
    max_text: int = 1_000_000
    max_items: int = 100_000
    max_output: int = 1_000_000
    max_built: int = 10_000_000
    max_nesting: int = 50


DEFAULT_LIMITS: Final = RenderLimits()


class LimitExceeded(SecurityError):
    """A render went over one of its :class:`RenderLimits` (internal; ``limit`` names it)."""

    def __init__(self, message: str, limit: str) -> None:
        super().__init__(f"{message} (RenderLimits.{limit})")
        self.limit = limit


class Budget:
    """What one render has spent so far, against its limits."""

    def __init__(self, limits: RenderLimits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.timeout
        self.iterations = 0
        self.calls = 0
        self.includes = 0
        self.output = 0
        self.built = 0
        # virtual sizes of the lists and mappings seen (see held()); keeping each container
        # alive keeps its id from being reused while the render runs
        self.held: dict[int, tuple[Any, int]] = {}
        # expanded size and nesting depth of each value slot, by slot number
        self.sizes: list[int] = []
        self.depths: list[int] = []

    def clock(self) -> None:
        """Raise when the render is past its deadline."""
        if time.monotonic() > self.deadline:
            raise LimitExceeded(f"the render took more than {self.limits.timeout:g} s", "timeout")

    def iteration(self) -> None:
        """Count one loop iteration."""
        self.iterations += 1
        if self.iterations > self.limits.max_iterations:
            raise LimitExceeded(
                f"loops ran more than {self.limits.max_iterations:,} iterations",
                "max_iterations",
            )
        self.clock()

    def call(self) -> None:
        """Count one call (function, method, macro or filter)."""
        self.calls += 1
        if self.calls > self.limits.max_calls:
            raise LimitExceeded(f"more than {self.limits.max_calls:,} calls", "max_calls")
        self.clock()

    def include(self) -> None:
        """Count one include or import."""
        self.includes += 1
        if self.includes > self.limits.max_includes:
            raise LimitExceeded(
                f"more than {self.limits.max_includes:,} templates included or imported",
                "max_includes",
            )
        self.clock()

    def build(self, size: int) -> None:
        """Count ``size`` characters (or list items) built by an operation."""
        self.built += size
        if self.built > self.limits.max_built:
            raise LimitExceeded(
                f"the render built more than {self.limits.max_built:,} characters in all",
                "max_built",
            )

    def write(self, size: int) -> None:
        """Count ``size`` characters of output."""
        self.output += size
        if self.output > self.limits.max_output:
            raise LimitExceeded(
                f"the render wrote more than {self.limits.max_output:,} characters",
                "max_output",
            )
        self.clock()


_budget: ContextVar[Budget | None] = ContextVar("fibo_render_budget", default=None)
_limits: ContextVar[RenderLimits | None] = ContextVar("fibo_render_limits", default=None)


def current() -> Budget | None:
    """The budget of the render in progress (``None`` while a template is compiled)."""
    return _budget.get()


def limits() -> RenderLimits:
    """The limits in force: the render's, or the defaults (constant folding at compile time)."""
    budget = _budget.get()
    if budget is not None:
        return budget.limits
    return _limits.get() or DEFAULT_LIMITS


class Scope:
    """Runs a render under a budget (a context manager; nests, restoring the outer one)."""

    def __init__(self, render_limits: RenderLimits | None = None) -> None:
        self.limits = render_limits or _limits.get() or DEFAULT_LIMITS
        self.budget: Budget | None = None
        self._token: Any = None

    def __enter__(self) -> Budget:
        self.budget = Budget(self.limits)
        self._token = _budget.set(self.budget)
        return self.budget

    def __exit__(self, *_exc: object) -> None:
        _budget.reset(self._token)


class Using:
    """Makes ``limits`` the default of every render inside (a context manager)."""

    def __init__(self, render_limits: RenderLimits | None) -> None:
        self.limits = render_limits
        self._token: Any = None

    def __enter__(self) -> None:
        self._token = _limits.set(self.limits)

    def __exit__(self, *_exc: object) -> None:
        _limits.reset(self._token)


# ---------------------------------------------------------------------- sizes


def too_long(what: str) -> LimitExceeded:
    """The error for a string over ``max_text``."""
    size = limits().max_text
    return LimitExceeded(
        f"{what} would build a string of more than {size:,} characters", "max_text"
    )


def too_many(what: str) -> LimitExceeded:
    """The error for a list over ``max_items``."""
    count = limits().max_items
    return LimitExceeded(f"{what} would build a list of more than {count:,} items", "max_items")


def check_text(what: str, size: int) -> None:
    """Refuse building a string of about ``size`` characters when it is over ``max_text``."""
    if size > limits().max_text:
        raise too_long(what)


def check_items(what: str, count: int) -> None:
    """Refuse building a list of ``count`` items when it is over ``max_items``."""
    if count > limits().max_items:
        raise too_many(what)


def measure(value: Any, limit: int | None = None) -> int:
    """About how many characters ``str(value)`` has; stops counting past ``limit``.

    Shared references are counted at each occurrence, as printing would (a list nested in
    itself by reference 30 times prints a billion characters), so the walk is bounded by the
    limit, not by the value.
    """
    if limit is None:
        limit = limits().max_text
    if isinstance(value, str):
        return len(value)
    budget = _budget.get()
    known = budget.held if budget is not None else {}
    total = 0
    stack: list[Any] = [value]
    while stack:
        node = stack.pop()
        seen = known.get(id(node))
        if seen is not None and seen[0] is node:
            total += seen[1] * 2  # at least two characters per value printed
        elif isinstance(node, str | bytes | bytearray):
            total += len(node) + 2
        elif node is None or isinstance(node, bool):
            total += 5
        elif isinstance(node, int):
            total += node.bit_length() * 3 // 10 + 1
        elif isinstance(node, float):
            total += 24
        elif isinstance(node, Namespace):
            stack.append(object.__getattribute__(node, "_Namespace__attrs"))
            total += 12
        elif isinstance(node, Mapping):
            total += 2 + 4 * len(node)
            if total <= limit:
                stack.extend(node.keys())
                stack.extend(node.values())
        elif isinstance(node, list | tuple | set | frozenset):
            total += 2 + 2 * len(node)
            if total <= limit:
                stack.extend(node)
        else:
            total += 32
        if total > limit:
            return total
    return total


def _leaf(value: Any) -> int:
    if isinstance(value, str | bytes | bytearray):
        return max(len(value), 1)
    if isinstance(value, int) and not isinstance(value, bool):
        return value.bit_length() // 64 + 1
    return 1


def held(value: Any) -> int:
    """How many values (characters of strings) a list or mapping holds in all, shared parts
    counted each time they occur: what printing, comparing, hashing or sorting it walks.

    Ten lines of template can nest a list in itself by reference thirty times: a few hundred
    objects that stand for a billion values, and one ``==`` between two of them never ends.
    Sizes are cached per container for the render (the sandbox cannot change a list or a
    mapping once built), so each container is walked once. Namespaces count as one value:
    they change, and they can hold themselves.
    """
    if not isinstance(value, list | tuple | dict | set | frozenset):
        return _leaf(value)
    budget = _budget.get()
    known = budget.held if budget is not None else {}

    def cached(node: Any) -> int | None:
        seen = known.get(id(node))
        return seen[1] if seen is not None and seen[0] is node else None

    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, children_done = stack.pop()
        if cached(node) is not None:
            continue
        children = [*node.keys(), *node.values()] if isinstance(node, dict) else list(node)
        if not children_done:
            stack.append((node, True))
            stack.extend(
                (child, False)
                for child in children
                if isinstance(child, list | tuple | dict | set | frozenset)
                and cached(child) is None
            )
            continue
        size = 1
        for child in children:
            if isinstance(child, list | tuple | dict | set | frozenset):
                size += cached(child) or 0
            else:
                size += _leaf(child)
        known[id(node)] = (node, size)
    return cached(value) or 0


def remember(value: Any, size: int) -> None:
    """Record what a list built from known parts holds (``+``, ``*``), sparing a walk."""
    budget = _budget.get()
    if budget is not None and isinstance(value, list | tuple):
        budget.held[id(value)] = (value, size)


def check_held(what: str, size: int) -> None:
    """Refuse a list or mapping that would hold more than ``max_built`` values in all."""
    limit = limits().max_built
    if size > limit:
        raise LimitExceeded(
            f"{what} would hold more than {limit:,} values in all (shared parts counted each "
            "time they occur)",
            "max_built",
        )


_PRINTF: Final = re.compile(r"%(?:\(([^)]*)\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)", re.S)
_SPEC_NUMBER: Final = re.compile(r"\d+")


def _number(text: str) -> int:
    # a width of 20 digits is as refused as one of 5,000, without converting either
    return int(text) if len(text) <= 12 else 10**12


def printf_size(fmt: str, values: Any) -> int:
    """About how long ``fmt % values`` is: the format, every width and precision, and every
    value it prints (a mapping key used twice counts twice)."""
    limit = limits().max_text
    positional = list(values) if isinstance(values, tuple) else [values]
    mapping = values if isinstance(values, Mapping) else None
    total = len(fmt)
    index = 0
    for match in _PRINTF.finditer(fmt):
        key, width, precision, conversion = match.groups()
        if conversion == "%":
            continue
        for spec in (width, precision):
            if spec == "*":
                star = positional[index] if index < len(positional) else 0
                index += 1
                total += abs(star) if isinstance(star, int) else 0
            elif spec:
                total += _number(spec)
        if key is not None and mapping is not None:
            total += measure(mapping.get(key), limit)
        else:
            total += measure(positional[index] if index < len(positional) else None, limit)
            index += 1
        if total > limit:
            break
    return total


def format_spec_size(format_spec: str) -> int:
    """The widths and precisions a ``str.format`` spec asks for (``>10000000``, ``.30f``)."""
    return sum(_number(n) for n in _SPEC_NUMBER.findall(format_spec))


def replace_size(text: str, old: str, new: str, count: Any = -1) -> int:
    """How long ``text.replace(old, new, count)`` is, computed without building it."""
    found = text.count(old) if old else len(text) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(text) + found * (len(new) - len(old))


def materialize(iterable: Any) -> Any:
    """A list of an iterable's items (counted as loop iterations); sized values unchanged."""
    if isinstance(iterable, Sized):
        return iterable
    return list(iterate(iterable))


def checked_result(what: str, value: Any) -> Any:
    """A call's or filter's result, refused when too long and counted as built; iterators
    are counted as loops."""
    if isinstance(value, str | bytes | bytearray):
        check_text(what, len(value))
        built(len(value))
    elif isinstance(value, list | tuple | dict | set | frozenset):
        check_items(what, len(value))
        built(len(value))
        check_held(what, held(value))
    elif isinstance(value, Iterator):
        return iterate(value)
    return value


def built(size: int) -> None:
    """Count what an operation built against the render's ``max_built``."""
    budget = _budget.get()
    if budget is not None:
        budget.build(size)


# ---------------------------------------------------------------------- guards


def _guard(function: Any) -> Any:
    # the sandbox's call() lets its own guards through without counting them as calls
    function.fibo_guard = True
    return function


@_guard
def iterate(iterable: Iterable[Any]) -> Iterator[Any]:
    """Every loop of a compiled template iterates through this: it counts the iterations."""
    budget = _budget.get()
    if budget is None:
        yield from iterable
        return
    for item in iterable:
        budget.iteration()
        yield item


@_guard
def concat(*parts: Any) -> str:
    """The ``~`` operator: measured before the string is built."""
    limit = limits().max_text
    size = 0
    for part in parts:
        size += measure(part, limit)
        if size > limit:
            raise too_long("~")
    text = "".join(map(str, parts))
    built(len(text))
    return text


@_guard
def container(value: Any) -> Any:
    """A list, tuple or mapping literal: refused when it holds too much in all."""
    check_held("a literal", held(value))
    return value


@_guard
def charge(size: int) -> None:
    """Count the literal template text an output statement writes."""
    budget = _budget.get()
    if budget is not None:
        budget.write(size)


@_guard
def count_include() -> None:
    """Count an include or import."""
    budget = _budget.get()
    if budget is not None:
        budget.include()


def _call(name: str, args: list[nodes.Expr], lineno: int) -> nodes.Call:
    call = nodes.Call(nodes.ImportedName(f"{__name__}.{name}"), args, [], None, None, lineno=lineno)
    return call


class _Guards(NodeTransformer):
    """Puts the guards into a parsed template (see :func:`guard_tree`)."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        assert isinstance(node.iter, nodes.Expr)
        node.iter = _call("iterate", [node.iter], node.lineno)
        return node

    def _literal(self, node: nodes.Expr) -> nodes.Node:
        self.generic_visit(node)
        if node.find(nodes.Name) is None and node.find(nodes.Call) is None:
            return node  # constant: nothing shared, nothing to measure
        return _call("container", [node], node.lineno)

    visit_List = _literal
    visit_Tuple = _literal
    visit_Dict = _literal

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        return _call("concat", list(node.nodes), node.lineno)

    def visit_Output(self, node: nodes.Output) -> Any:
        self.generic_visit(node)
        size = sum(len(n.data) for n in node.nodes if isinstance(n, nodes.TemplateData))
        if not size:
            return node
        charge_size = _call("charge", [nodes.Const(size, lineno=node.lineno)], node.lineno)
        return [nodes.ExprStmt(charge_size, lineno=node.lineno), node]

    def _counted(self, node: nodes.Node) -> Any:
        self.generic_visit(node)
        return [nodes.ExprStmt(_call("count_include", [], node.lineno), lineno=node.lineno), node]

    visit_Include = _counted
    visit_Import = _counted
    visit_FromImport = _counted


def guard_tree(tree: nodes.Template) -> nodes.Template:
    """Rewrite a parsed template so that its compiled code calls the guards: every ``for``
    iterates through :func:`iterate`, every ``~`` is :func:`concat`, every literal output is
    charged to the output budget and every include or import is counted."""
    guarded = _Guards().visit(tree)
    assert isinstance(guarded, nodes.Template)
    return guarded
