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

import math
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Final

from jinja2 import BaseLoader, StrictUndefined, TemplateNotFound, pass_context
from jinja2.exceptions import SecurityError
from jinja2.ext import Extension
from jinja2.lexer import Token, TokenStream
from jinja2.runtime import Context, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from fibo_prompts.brand.kit import RESERVED_CHARACTERS
from fibo_prompts.errors import TemplateError

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
#: Most values one render may write (a runaway loop is a template bug, not a prompt).
MAX_SLOTS: Final = 10_000

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
        slots.append(value)
        return f"{SLOT_OPEN}{len(slots) - 1}{SLOT_CLOSE}"
    if isinstance(value, list | tuple):
        raise OutputError(
            "an expression rendered a list; loop over it or write it with |join(', ')"
        )
    if isinstance(value, dict):
        raise OutputError("an expression rendered a mapping; write one of its fields")
    raise OutputError(f"an expression rendered a {type(value).__name__}, not text or a number")


class SlotScope:
    """Collects the values of one render; use as a context manager around ``render``."""

    def __init__(self) -> None:
        self.values: list[Any] = []
        self._token: Any = None

    def __enter__(self) -> list[Any]:
        self._token = _slots.set(self.values)
        return self.values

    def __exit__(self, *_exc: object) -> None:
        _slots.reset(self._token)


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
    """ImmutableSandboxedEnvironment with size limits on ``*`` and ``**``."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Refuse ``*`` and ``**`` results large enough to exhaust memory or CPU."""
        if operator == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"exponent {right} is over the sandbox limit {MAX_EXPONENT}")
        elif operator == "*":
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
        return super().call_binop(context, operator, left, right)


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
    from fibo_prompts.errors import FileAccessError

    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FileAccessError(
            f"{display_path(path)}: cannot read ({exc.strerror})", path=str(path)
        ) from None
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
    import os

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
        _environments[key] = env
    return env
