"""The sandboxed Jinja environment of brand templates, and the slots that keep values out of
the prompt's structure.

Why slots: a template body is YAML whose *structure* (keys, nesting, lists) must come from
the template alone. Escaping values for YAML or JSON at output time depends on where the
value lands (inside quotes, a plain scalar, a key...), which Jinja cannot know. So every
``{{ expression }}`` is replaced by a *slot*, ``\\ue000N\\ue001`` (private-use characters that
no input may contain), and the value is kept aside in a list. The rendered text, the
*skeleton*, holds only the template's own characters and slot markers; it is parsed as YAML
and the values are put back into the parsed strings afterwards. A value holding quotes,
braces, newlines, backslashes, ``#``, ``: `` or ``{{ 7*7 }}`` is therefore never parsed: it
can only ever become (part of) the string it was written into. A side benefit: the skeleton
does not depend on the values, so its parse is cached.

Output that reaches the text without passing through the finalize hook would defeat this;
in Jinja 3.1 that is only ``{% filter %}`` and ``{% call %}`` blocks, which templates may not
use (checked when a template is loaded). Rendered text that re-enters an expression
(``{{ super() }}``, a macro call, a ``{% set %}`` block) already holds slots: it becomes one
text value whose slots are expanded, never structure.

Line markers: to point an error at a template line, a second environment (used only after
something went wrong) inserts ``\\ue002FILE\\x1fLINE\\ue003`` before every line of literal
template text; stripping them gives back exactly the skeleton plus a map from skeleton
offsets to template lines.
"""

from __future__ import annotations

import functools
import math
import os
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound, nodes, pass_context
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import _PassArg  # jinja2 exports no public way to ask
from markupsafe import Markup

from fibo_prompts.brand import _limits
from fibo_prompts.brand._limits import (
    LimitExceeded,
    check_held,
    check_items,
    check_text,
    checked_result,
    format_spec_size,
    held,
    materialize,
    measure,
    printf_size,
    remember,
    replace_size,
)
from fibo_prompts.brand.kit import RESERVED_CHARACTERS
from fibo_prompts.errors import FileAccessError, TemplateError

SLOT_OPEN: Final = "\ue000"
SLOT_CLOSE: Final = "\ue001"
MARK_OPEN: Final = "\ue002"
MARK_CLOSE: Final = "\ue003"
SLOT: Final = re.compile("\ue000([0-9]+)\ue001")
_MARK: Final = re.compile("\ue002([^\ue003\x1f]*)\x1f([0-9]+)\ue003")

#: Longest string or list a template may build with ``*``, and the largest exponent of
#: ``**``: the sandbox stops attribute escapes, not resource exhaustion.
MAX_REPEAT: Final = 100_000
MAX_EXPONENT: Final = 256
#: Longest integer ``*`` and ``**`` may build: Python's own int/str conversion limit.
MAX_INT_DIGITS: Final = 4_300
MAX_INT_BITS: Final = 14_300
#: Most values one render may write (a runaway loop is a template bug, not a prompt).
MAX_SLOTS: Final = 10_000
#: Largest template file read (the shipped ones are about 2 KB).
MAX_TEMPLATE_BYTES: Final = 1_000_000

_slots: ContextVar[list[Any] | None] = ContextVar("fibo_template_slots", default=None)


class OutputError(Exception):
    """An expression produced something that cannot be written into a prompt (internal)."""


@pass_context
def _finalize(_context: Context, value: Any) -> str:
    """Jinja's finalize hook: every ``{{ }}`` output becomes a slot (see module docstring).

    ``pass_context`` also stops Jinja from folding constant expressions at compile time,
    which would bake a slot number into the compiled template.
    """
    slots = _slots.get()
    if slots is None:  # pragma: no cover - renders always run inside slot_scope()
        raise OutputError("template rendered outside fibo_prompts")
    if isinstance(value, Undefined):
        str(value)  # StrictUndefined raises UndefinedError with the variable's name
    if isinstance(value, bool) or value is None:
        what = "nothing (None)" if value is None else f"a boolean ({value})"
        raise OutputError(f"an expression rendered {what}; write text, or guard it with {{% if %}}")
    if isinstance(value, str | int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise OutputError(f"an expression rendered {value}, which JSON cannot hold")
        if len(slots) >= MAX_SLOTS:
            raise SecurityError(f"a render may write at most {MAX_SLOTS:,} values")
        _account(value)
        slots.append(value)
        return f"{SLOT_OPEN}{len(slots) - 1}{SLOT_CLOSE}"
    if isinstance(value, list | tuple):
        raise OutputError(
            "an expression rendered a list; loop over it or write it with |join(', ')"
        )
    if isinstance(value, dict):
        raise OutputError("an expression rendered a mapping; write one of its fields")
    raise OutputError(f"an expression rendered a {type(value).__name__}, not text or a number")


def _account(value: str | int | float) -> None:
    """Charge a value to the render's output, expanded: text rendered earlier (a ``{% set %}``
    block, a macro) holds slots of its own, and a few bytes of slot markers can stand for
    megabytes, or nest thousands deep, once expanded."""
    budget = _limits.current()
    if budget is None:  # pragma: no cover - renders always run inside SlotScope()
        return
    if isinstance(value, str):
        size, depth = len(value), 0
        if SLOT_OPEN in value:
            for match in SLOT.finditer(value):
                index = int(match[1])
                size += budget.sizes[index] - len(match[0])
                depth = max(depth, budget.depths[index] + 1)
    else:
        size, depth = measure(value), 0
    limits = budget.limits
    if depth > limits.max_nesting:
        raise LimitExceeded(
            f"rendered text is nested in rendered text more than {limits.max_nesting} levels deep",
            "max_nesting",
        )
    if size > limits.max_text:
        raise LimitExceeded(
            f"rendered text would expand to more than {limits.max_text:,} characters", "max_text"
        )
    budget.sizes.append(size)
    budget.depths.append(depth)
    budget.write(size)


class SlotScope:
    """Collects the values of one render under its limits (:class:`RenderLimits`, default:
    those in force); use as a context manager around ``render``."""

    def __init__(self, limits: _limits.RenderLimits | None = None) -> None:
        self.values: list[Any] = []
        self._token: Any = None
        self._budget = _limits.Scope(limits)

    def __enter__(self) -> list[Any]:
        self._budget.__enter__()
        self._token = _slots.set(self.values)
        return self.values

    def __exit__(self, *_exc: object) -> None:
        _slots.reset(self._token)
        self._budget.__exit__()


def expand(value: Any, values: Sequence[Any]) -> str:
    """A value as text, with slots inside it (rendered text re-used) expanded."""
    if isinstance(value, str):
        if SLOT_OPEN in value:
            return SLOT.sub(lambda m: expand(values[int(m[1])], values), value)
        return value
    return str(value)


def natural_join(items: Sequence[Any], last: str = "and") -> str:
    """``["a", "b", "c"] | natural_join`` → ``"a, b and c"``."""
    words = [str(item) for item in items]
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + f" {last} " + words[-1]


def capfirst(text: str) -> str:
    """Upper-case the first character only (Jinja's ``capitalize`` lowers the rest)."""
    text = str(text)
    return text[:1].upper() + text[1:]


class BrandSandbox(ImmutableSandboxedEnvironment):
    """ImmutableSandboxedEnvironment with render limits (see :mod:`._limits`): sizes checked
    before ``*``, ``**``, ``+``, ``%``, ``~``, ``str`` methods, ``str.format`` and filters
    build anything; loops, calls and includes counted; a deadline."""

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Parse, then put the render guards into the tree (:func:`._limits.guard_tree`)."""
        tree = _limits.guard_tree(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    def call(self, context: Context, obj: Any, /, *args: Any, **kwargs: Any) -> Any:
        """Count the call and check what it would build, before and after."""
        if getattr(obj, "fibo_guard", False):
            # Jinja passes a loop's or block's variables along; guards take none
            return obj(*args)
        budget = _limits.current()
        if budget is not None:
            budget.call()
        what, args = _check_method(obj, args, kwargs)
        return checked_result(what, super().call(context, obj, *args, **kwargs))

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """``str.format``/``format_map`` through a formatter that measures every field first."""
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        owner: str = value.__self__
        formatter: SandboxedFormatter
        if isinstance(owner, Markup):
            formatter = _EscapeFormatter(self, len(owner), escape=owner.escape)
        else:
            formatter = _Formatter(self, len(owner))
        is_map = value.__name__ == "format_map"

        def bounded(*args: Any, **kwargs: Any) -> str:
            if is_map:
                if kwargs or len(args) != 1:
                    return wrapped(*args, **kwargs)  # let Jinja raise its TypeError
                kwargs, args = args[0], ()
            return type(owner)(formatter.vformat(owner, args, kwargs))

        return functools.update_wrapper(bounded, value)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Refuse ``*``, ``**``, ``+`` and ``%`` results large enough to exhaust memory or CPU."""
        if operator == "+":
            if isinstance(left, str) and isinstance(right, str):
                check_text("+", len(left) + len(right))
            elif isinstance(left, list | tuple) and isinstance(right, list | tuple):
                check_items("+", len(left) + len(right))
                size = held(left) + held(right)
                check_held("+", size)
                result = super().call_binop(context, operator, left, right)
                remember(result, size)
                return checked_result(operator, result)
        elif operator == "%" and isinstance(left, str):
            check_text("%", printf_size(left, right))
        elif operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is over the sandbox limit {MAX_EXPONENT}")
            if _whole(left) is not None and _whole(right) is not None and right > 0:
                _check_int_bits(abs(left).bit_length() * right)
        elif operator == "*":
            if _whole(left) is not None and _whole(right) is not None:
                _check_int_bits(abs(left).bit_length() + abs(right).bit_length())
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(count, int)
                    and len(seq) * count > MAX_REPEAT
                ):
                    raise SecurityError(
                        f"repeating a sequence to {len(seq) * count:,} items is over the "
                        f"sandbox limit {MAX_REPEAT:,}"
                    )
                if isinstance(seq, list | tuple) and isinstance(count, int):
                    size = held(seq) * max(count, 0) + 1
                    check_held("*", size)
                    result = super().call_binop(context, operator, left, right)
                    remember(result, size)
                    return checked_result(operator, result)
        return checked_result(operator, super().call_binop(context, operator, left, right))


def _check_int_bits(bits: int) -> None:
    # a product past Python's 4,300-digit limit cannot even be printed, and squaring such
    # numbers in a loop takes minutes inside one multiplication, out of the deadline's reach
    if bits > MAX_INT_BITS:
        raise SecurityError(
            f"a number of more than {MAX_INT_DIGITS:,} digits is over the sandbox limit"
        )


class _Measured:
    """str.format fields measured before they are formatted (mixed into Jinja's formatters)."""

    def __init__(self, env: Any, size: int, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)  # type: ignore[call-arg]
        self.total = size

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        """``!r``/``!s``/``!a``: measure the value before it is printed."""
        if conversion is not None:
            check_text("str.format", self.total + measure(value) * 2)
        return super().convert_field(value, conversion)  # type: ignore[misc]

    def format_field(self, value: Any, format_spec: str) -> Any:
        """``{:>1000000000}``, ``{:.1000000f}``: refused before the padding is built."""
        self.total += max(measure(value), format_spec_size(format_spec))
        check_text("str.format", self.total)
        return super().format_field(value, format_spec)  # type: ignore[misc]


class _Formatter(_Measured, SandboxedFormatter):
    pass


class _EscapeFormatter(_Measured, SandboxedEscapeFormatter):
    pass


def _arg(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any
) -> Any:
    return args[index] if len(args) > index else kwargs.get(name, default)


def _whole(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _check_method(
    obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]
) -> tuple[str, tuple[Any, ...]]:
    """Check a ``str``/``bytes``/``int`` method call that can build a large result from small
    arguments; returns the name for messages and the (possibly materialized) arguments."""
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "a call")
    if isinstance(owner, str | bytes):
        what = f"{type(owner).__name__}.{name}"
        if name in ("ljust", "rjust", "center", "zfill"):
            width = _whole(_arg(args, kwargs, 0, "width", 0))
            if width is not None:
                check_text(what, max(len(owner), width))
        elif name == "expandtabs":
            tabsize = _whole(_arg(args, kwargs, 0, "tabsize", 8))
            tab = "\t" if isinstance(owner, str) else b"\t"
            if tabsize is not None:
                check_text(what, len(owner) + owner.count(tab) * tabsize)  # type: ignore[arg-type]
        elif name == "replace" and len(args) >= 2 and isinstance(owner, str):
            old, new = args[0], args[1]
            if isinstance(old, str) and isinstance(new, str):
                count = _arg(args, kwargs, 2, "count", -1)
                check_text(what, replace_size(owner, old, new, count))
        elif name == "join" and args:
            items = materialize(args[0])
            check_text(what, sum(measure(i) for i in items) + len(owner) * len(items))
            args = (items, *args[1:])
        elif name == "translate" and args and isinstance(args[0], Mapping):
            widest = max((measure(v) for v in args[0].values()), default=1)
            check_text(what, len(owner) * max(widest, 1))
        return what, args
    if isinstance(owner, int) and name == "to_bytes":
        length = _whole(_arg(args, kwargs, 0, "length", 1))
        if length is not None:
            check_text("int.to_bytes", length)
        return "int.to_bytes", args
    return f"{name}()", args


# Filters that can build much more than they are given, checked before they run; each takes
# the filter's own arguments and returns the value to pass on (a generator materialized).
def _center(value: Any, width: Any = 80, *_: Any, **__: Any) -> Any:
    if _whole(width) is not None:
        check_text("|center", max(measure(value), width))
    return value


def _indent(value: Any, width: Any = 4, *_: Any, **__: Any) -> Any:
    lines = value.count("\n") + 1 if isinstance(value, str) else 1
    step = width if _whole(width) is not None else measure(width)
    check_text("|indent", measure(value) + lines * step)
    return value


def _format(value: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(value, str):
        check_text("|format", printf_size(value, kwargs or args))
    return value


def _slice(value: Any, slices: Any = 1, *_: Any, **__: Any) -> Any:
    if _whole(slices) is not None:
        check_items("|slice", slices)
    return value


def _batch(value: Any, linecount: Any = 1, fill_with: Any = None, *_: Any, **__: Any) -> Any:
    if fill_with is not None and _whole(linecount) is not None:
        check_items("|batch", linecount)
    return value


def _replace(value: Any, old: Any = "", new: Any = "", count: Any = None, **__: Any) -> Any:
    if isinstance(value, str) and isinstance(old, str) and isinstance(new, str):
        check_text("|replace", replace_size(value, old, new, -1 if count is None else count))
    return value


def _joiner(what: str) -> Callable[..., Any]:
    def check(value: Any, d: Any = "", *_: Any, **__: Any) -> Any:
        items = materialize(value)
        if isinstance(items, Sequence | set | frozenset | Mapping):
            separators = len(items) * max(measure(d) if isinstance(d, str) else 5, 5)
            check_text(what, sum(measure(item) for item in items) + separators)
        return items

    return check


def _wordwrap(value: Any, width: Any = 79, *args: Any, **kwargs: Any) -> Any:
    wrap = _arg(args, kwargs, 1, "wrapstring", None) or "\n"
    if isinstance(value, str) and isinstance(wrap, str) and _whole(width) is not None:
        breaks = len(value) // max(width, 1) + value.count(" ") + value.count("\n") + 1
        check_text("|wordwrap", len(value) + breaks * len(wrap))
    return value


def _sum(value: Any, attribute: Any = None, start: Any = 0, *_: Any, **__: Any) -> Any:
    del attribute  # the items' attribute is taken after the check; the count is the same
    if isinstance(start, list | tuple):
        items = materialize(value)
        count = len(start) + sum(len(i) for i in items if isinstance(i, list | tuple))
        check_items("|sum", count)
        return items
    return value


def _listed(value: Any, *_: Any, **__: Any) -> Any:
    if isinstance(value, str):
        check_items("|list", len(value))
    return value


def _printed(what: str, factor: int) -> Callable[..., Any]:
    def check(value: Any, *_: Any, **__: Any) -> Any:
        check_text(what, measure(value) * factor)
        return value

    return check


_FILTER_CHECKS: Final[dict[str, Callable[..., Any]]] = {
    "center": _center,
    "indent": _indent,
    "format": _format,
    "slice": _slice,
    "batch": _batch,
    "replace": _replace,
    "join": _joiner("|join"),
    "natural_join": _joiner("|natural_join"),
    "wordwrap": _wordwrap,
    "sum": _sum,
    "string": _printed("|string", 1),
    "list": _listed,
    "pprint": _printed("|pprint", 2),
    "tojson": _printed("|tojson", 6),
    "xmlattr": _printed("|xmlattr", 6),
    "urlencode": _printed("|urlencode", 3),
    "urlize": _printed("|urlize", 4),
    "e": _printed("|e", 6),
    "escape": _printed("|escape", 6),
    "forceescape": _printed("|forceescape", 6),
}


def _guarded_filter(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
    """A filter that counts as a call, is checked before it runs (when it can build more than
    it is given) and has its result measured."""
    check = _FILTER_CHECKS.get(name)
    skip = 0 if _PassArg.from_obj(function) is None else 1  # context, eval context or env
    what = f"|{name}"

    @functools.wraps(function)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _limits.current()
        if budget is not None:
            budget.call()
        if check is not None and len(args) > skip:
            value = check(*args[skip:], **kwargs)
            args = (*args[:skip], value, *args[skip + 1 :])
        return checked_result(what, function(*args, **kwargs))

    return guarded


class CheckedLoader(BaseLoader):
    """Loads template files from a search path: UTF-8 only, no reserved characters.

    Names are paths relative to a search directory; ``..`` and absolute names are refused
    (as Jinja's own FileSystemLoader does).
    """

    def __init__(self, search_path: Sequence[str]) -> None:
        self.search_path = list(search_path)

    def resolve(self, name: str) -> Path | None:
        """The file a template name refers to, or None."""
        parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".")]
        if not parts or ".." in parts or name.startswith("/"):
            return None
        for directory in self.search_path:
            candidate = Path(directory, *parts)
            if candidate.is_file():
                return candidate
        return None

    def get_source(self, _environment: Any, template: str) -> tuple[str, str, Callable[[], bool]]:
        """Read a template's source (see :class:`jinja2.BaseLoader`)."""
        path = self.resolve(template)
        if path is None:
            raise TemplateNotFound(template)
        source = read_template_text(path)
        mtime = path.stat().st_mtime_ns

        def uptodate() -> bool:
            try:
                return path.stat().st_mtime_ns == mtime
            except OSError:
                return False

        return source, str(path), uptodate


def read_template_text(path: Path) -> str:
    """A template file's text; TemplateError when it is not UTF-8 or holds reserved chars."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_TEMPLATE_BYTES + 1)
    except OSError as exc:
        raise FileAccessError(
            f"{display_path(path)}: cannot read ({exc.strerror})", path=str(path)
        ) from None
    if len(raw) > MAX_TEMPLATE_BYTES:
        raise TemplateError(
            f"over {MAX_TEMPLATE_BYTES:,} bytes; not a brand template", template=display_path(path)
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise TemplateError(
            f"not UTF-8 (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the template as UTF-8",
            template=display_path(path),
            line=line,
        ) from None
    text = text.removeprefix("\ufeff")
    for index, char in enumerate(text):
        if char in RESERVED_CHARACTERS:
            raise TemplateError(
                f"holds the reserved character U+{ord(char):04X}; remove it",
                template=display_path(path),
                line=text.count("\n", 0, index) + 1,
            )
    return text


def display_path(path: str | Path) -> str:
    """A path as messages show it: relative to the working directory when inside it."""
    text = str(path)
    try:
        relative = os.path.relpath(text)
    except ValueError:  # pragma: no cover - another drive on Windows
        return text
    return text if relative.startswith("..") else relative


class LineMarkers(Extension):
    """Puts a ``FILE:LINE`` marker before every line of literal template text."""

    def filter_stream(self, stream: TokenStream) -> Iterator[Token]:
        """Rewrite the data tokens of a template's token stream (see module docstring)."""
        filename = stream.filename or stream.name or "?"
        for token in stream:
            if token.type != "data":
                yield token
                continue
            lines = token.value.split("\n")
            marked = [
                f"{MARK_OPEN}{filename}\x1f{token.lineno + k}{MARK_CLOSE}{line}"
                for k, line in enumerate(lines)
            ]
            yield Token(token.lineno, "data", "\n".join(marked))


class LineMap:
    """Marked render output, stripped: the skeleton text and where each part came from."""

    def __init__(self, marked: str) -> None:
        pieces: list[str] = []
        self.offsets: list[int] = []
        self.places: list[tuple[str, int]] = []
        length = 0
        position = 0
        for match in _MARK.finditer(marked):
            chunk = marked[position : match.start()]
            pieces.append(chunk)
            length += len(chunk)
            self.offsets.append(length)
            self.places.append((match[1], int(match[2])))
            position = match.end()
        pieces.append(marked[position:])
        self.text = "".join(pieces)

    def place(self, offset: int) -> tuple[str, int] | None:
        """The template (file, line) that produced the skeleton character at ``offset``."""
        index = bisect_right(self.offsets, offset) - 1
        if index < 0:
            return self.places[0] if self.places else None
        return self.places[index]


_environments: dict[tuple[tuple[str, ...], bool], BrandSandbox] = {}


def environment(search_path: Sequence[str], *, markers: bool = False) -> BrandSandbox:
    """The (cached) sandbox for a search path; ``markers`` adds line markers."""
    key = (tuple(search_path), markers)
    env = _environments.get(key)
    if env is None:
        env = BrandSandbox(
            loader=CheckedLoader(search_path),
            undefined=StrictUndefined,
            autoescape=False,
            finalize=_finalize,
            # trim_blocks would also eat the newline after an inline {% endblock %}, gluing
            # two YAML lines together; blank lines left by block tags are harmless in YAML.
            trim_blocks=False,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=True,
            cache_size=400,
            extensions=[LineMarkers] if markers else [],
        )
        # the classic escape routes go through these helpers' __globals__; none is needed
        for name in ("lipsum", "cycler", "joiner"):
            env.globals.pop(name, None)
        # renders must be reproducible: the same variables and kit give the same prompt
        env.filters.pop("random", None)
        env.filters["natural_join"] = natural_join
        env.filters["capfirst"] = capfirst
        for name, function in list(env.filters.items()):
            env.filters[name] = _guarded_filter(name, function)
        _environments[key] = env
    return env
