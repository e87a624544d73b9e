"""Helpers shared by the command modules: input, output, error reporting."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:
    from fibo_prompts.prompt import StructuredPrompt

STDIN = "-"
STDIN_NAME = "<stdin>"


HELP_OPTIONS: dict[str, Any] = {"help_option_names": ["-h", "--help"]}


def command_group(name: str, help: str) -> typer.Typer:
    """A sub-command group (``fibo lib ...``) with the same settings as the main app."""
    return typer.Typer(
        name=name,
        help=help,
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings=HELP_OPTIONS,
    )


def fail(message: str, code: int = 1) -> NoReturn:
    """Print a one-line error to stderr and exit."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def user_errors() -> Iterator[None]:
    """Turn the library's errors into a message and exit code 1, never a traceback."""
    from fibo_prompts.errors import FiboPromptsError

    try:
        yield
    except FiboPromptsError as exc:
        fail(str(exc))


def read_source(file: str, max_bytes: int) -> tuple[bytes, str]:
    """The bytes of a file (or stdin for ``-``) and the name to show in messages."""
    from fibo_prompts.errors import PromptTooLargeError
    from fibo_prompts.prompt._parse import read_limited

    if file == STDIN:
        raw = sys.stdin.buffer.read(max_bytes + 1)
        if len(raw) > max_bytes:
            raise PromptTooLargeError(size=len(raw), limit=max_bytes, source=STDIN_NAME)
        return raw, STDIN_NAME
    return read_limited(file, max_bytes), file


def load(file: str, *, lenient: bool, max_bytes: int) -> StructuredPrompt:
    """Parse a prompt file or stdin."""
    from fibo_prompts.prompt import StructuredPrompt

    raw, name = read_source(file, max_bytes)
    return StructuredPrompt.parse(raw, lenient=lenient, max_bytes=max_bytes, source_name=name)


def write_output(text: str, *, file: str, output: Path | None, in_place: bool) -> None:
    """Write to ``-o``, over the input file (``--in-place``), or to stdout."""
    from fibo_prompts.errors import FileAccessError

    if in_place and output is not None:
        fail("use either --in-place or -o/--output, not both", code=2)
    if in_place and file == STDIN:
        fail("--in-place needs a file, not stdin", code=2)
    target = Path(file) if in_place else output
    if target is None:
        sys.stdout.write(text)
        if not text.endswith("\n"):
            sys.stdout.write("\n")
        return
    try:
        _atomic_write(target, text)
    except OSError as exc:
        raise FileAccessError(
            f"{target}: cannot write ({exc.strerror})", path=str(target)
        ) from None


def _atomic_write(target: Path, text: str) -> None:
    # write beside the target and rename, so a failure never leaves a half-written prompt
    directory = target.parent if str(target.parent) else Path(".")
    handle, temp = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
            stream.write(text)
        if target.exists():
            os.chmod(temp, target.stat().st_mode & 0o777)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
