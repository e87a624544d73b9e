"""What the command modules share: their common options (declared once, here), input,
output and error reporting."""

from __future__ import annotations

import contextlib
import enum
import json
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from fibo_prompts._limits import MAX_IMAGE_BYTES, REQUEST_TIMEOUT

if TYPE_CHECKING:
    from fibo_prompts.prompt import StructuredPrompt

STDIN = "-"
STDIN_NAME = "<stdin>"


HELP_OPTIONS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


class Format(enum.StrEnum):
    """``--format``: text for people, json for scripts."""

    text = "text"
    json = "json"


# ---------------------------------------------------------------------- shared options
# Each option that several commands take, with one spelling and one help text.

PromptArgument = Annotated[str, typer.Argument(help="A structured prompt file, or - for stdin.")]
FileArgument = Annotated[str, typer.Argument(help="A prompt file, or - for stdin.")]
Lenient = Annotated[
    bool,
    typer.Option("--lenient", help="Accept and keep unknown keys (API responses, VLM output)."),
]
MaxBytes = Annotated[
    int, typer.Option("--max-bytes", min=1, help="Refuse inputs larger than this.")
]
Output = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the result to this file.")
]
FormatOption = Annotated[
    Format, typer.Option("--format", help="text for people, json for scripts.")
]
Wire = Annotated[
    bool, typer.Option("--wire", help="Print only the exact wire string, byte for byte.")
]
LibraryPath = Annotated[
    Path | None,
    typer.Option(
        "--library",
        "-L",
        envvar="FIBO_LIBRARY",
        help="The library file (default: $FIBO_LIBRARY, else library.sqlite in the data dir).",
    ),
]
Backend = Annotated[
    str | None,
    typer.Option(
        "--backend",
        "-b",
        help="bria, bria-edit, bria-lite, segmind, segmind-v1, inferencesh, fal, fal-lite, "
        "fal-edit, replicate, preview or diffusers.",
    ),
]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="Override the service URL.")]
Steps = Annotated[int | None, typer.Option(help="Diffusion steps.")]
Guidance = Annotated[float | None, typer.Option(help="Guidance scale.")]
Negative = Annotated[str | None, typer.Option("--negative", help="Negative prompt.")]
ImageOutput = Annotated[Path | None, typer.Option("--output", "-o", help="The new image.")]
ExpectedDuration = Annotated[
    float | None,
    typer.Option("--expected-duration", help="Typical job seconds (first poll near it)."),
]
JobTimeout = Annotated[
    float, typer.Option(help="Give up waiting for a job after this many seconds.")
]
Journal = Annotated[Path | None, typer.Option(help="The journal file.")]
MaxImageBytes = Annotated[
    int | None,
    typer.Option(
        "--max-image-bytes",
        help="Refuse an image (or a service answer) over this many bytes; the download stops "
        f"there. Default {MAX_IMAGE_BYTES} ({MAX_IMAGE_BYTES // 2**20} MiB).",
    ),
]
RequestTimeout = Annotated[
    float | None,
    typer.Option(
        "--request-timeout",
        help="The longest one HTTP request may take, body included, in seconds. "
        f"Default {REQUEST_TIMEOUT:g}.",
    ),
]


def command_group(name: str, help: str) -> typer.Typer:
    """A sub-command group (``fibo lib ...``) with the same settings as the main app."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings=HELP_OPTIONS,
    )


# C0 controls but tab and newline (layout), DEL and C1: what a terminal may act on. ESC
# starts ANSI and OSC sequences (OSC 52 writes the clipboard), CR overwrites a line, U+009B is
# a one-character CSI to some terminals. The bidi embeddings, overrides and isolates
# (U+202A-U+202E, U+2066-U+2069) reorder the text shown around them (Trojan Source).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_JSON_CONTROL = re.compile("[\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def printable(text: str) -> str:
    """``text`` with terminal control characters shown as ``\\x1b`` escapes and bidi
    controls as ``\\u202e``, so text from an image, a prompt or an error message can never
    drive the terminal it is printed to, nor reorder what it shows."""
    if CONTROL_CHARACTERS.search(text) is None:
        return text
    return CONTROL_CHARACTERS.sub(_escape, text)


def json_text(data: Any, *, indent: int | None = 2) -> str:
    """JSON for stdout: non-ASCII kept readable, but DEL, C1 and bidi control characters
    (which ``ensure_ascii=False`` leaves raw) written as ``\\u`` escapes: the same data, safe
    on a terminal."""
    text = json.dumps(data, indent=indent, ensure_ascii=False)
    return _JSON_CONTROL.sub(lambda match: f"\\u{ord(match[0]):04x}", text)


def exact_text(text: str) -> str:
    """Text that scripts need byte for byte (a wire string, a value for ``$(...)``): kept
    exact when stdout is a pipe or a file, shown :func:`printable` on a terminal."""
    return printable(text) if stdout_is_terminal() else text


def stdout_is_terminal() -> bool:
    """Whether stdout is a terminal (a function, so tests can say it is)."""
    return sys.stdout.isatty()


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit; control characters quoted from the input
    are escaped (:func:`printable`)."""
    typer.echo(f"error: {printable(message)}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's errors into a message and exit code 1, never a traceback; the
    library's own warnings become one ``note: ...`` line each on stderr."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import FiboPromptsError

    with warnings.catch_warnings():
        shown = warnings.showwarning

        def note(message: Warning | str, category: type[Warning], *args: Any, **kw: Any) -> None:
            # a library warning is news for the user, not a source location for a developer
            if category.__module__.startswith("fibo_prompts."):
                typer.echo(f"note: {printable(str(message))}", err=True)
            else:
                shown(message, category, *args, **kw)

        warnings.showwarning = note
        try:
            yield
        except FiboPromptsError as exc:
            fail(str(exc))


def read_source(file: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of a file (or stdin for ``-``) and the name to show in messages."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import PromptTooLargeError
    from fibo_prompts.prompt import read_limited

    if file == STDIN:
        raw = sys.stdin.buffer.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise PromptTooLargeError(size=len(raw), limit=max_bytes, source=STDIN_NAME)
        return raw, STDIN_NAME
    return read_limited(file, max_bytes), file


def load(file: str, *, lenient: bool, max_bytes: int) -> StructuredPrompt:
    """Parse a prompt file or stdin."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.prompt import StructuredPrompt

    raw, name = read_source(file, max_bytes)
    return StructuredPrompt.parse(raw, lenient=lenient, max_bytes=max_bytes, source_name=name)


def write_output(
    text: str,
    *,
    file: str,
    output: Path | None,
    in_place: bool,
    max_bytes: int | None = None,
    what: str = "prompt",
) -> None:
    """Write to ``-o`` (``-o -`` is stdout), over the input file (``--in-place``), or to
    stdout, through :func:`fibo_prompts._files.write_file` (devices and FIFOs written
    through, symlinks edited at their target, new files honouring the umask).

    ``max_bytes`` is the command's ``--max-bytes``: a result the command would refuse to read
    back is refused here too, before anything is written.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._files import write_file

    if in_place and output is not None:
        fail("use either --in-place or -o/--output, not both", code=2)
    if in_place and file == STDIN:
        fail("--in-place needs a file, not stdin", code=2)
    target = Path(file) if in_place else output
    to_stdout = target is None or str(target) == STDIN
    if max_bytes is not None:
        size = len(text.encode("utf-8"))
        if size > max_bytes:
            where = "<stdout>" if to_stdout else str(target)
            fail(
                f"{where}: the result is {size:,} bytes, over the {max_bytes:,}-byte limit; "
                "nothing was written (raise --max-bytes to write it)"
            )
    if to_stdout or target is None:
        sys.stdout.write(exact_text(text))
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        return
    write_file(target, text, what=what)
