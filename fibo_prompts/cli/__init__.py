"""The ``fibo`` command line: a thin layer over the library API.

Only this package prints or exits. Modules import the library inside each command, so
``fibo --help`` stays fast (no pydantic import). Every :class:`FiboPromptsError` becomes a
one-line message and exit code 1; usage errors exit 2; no traceback for bad input. ``fibo diff``
follows diff(1) instead: 0 equal, 1 different, 2 on any error.
"""

from __future__ import annotations

import io
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from fibo_prompts import __version__
from fibo_prompts.cli import (
    _brand,
    _diff,
    _edit,
    _generate,
    _library,
    _prompt,
    _provenance,
    _schema,
    _serve,
    _variation,
)
from fibo_prompts.cli._common import HELP_OPTIONS

HELP = """Write, check, compare and version the structured JSON prompts of Bria's FIBO
text-to-image model, and generate images from them: on Bria, Segmind or inference.sh with an
API key, or as a local layout preview without one.

\b
Start with:
  fibo validate examples/product_shot.json
  fibo generate examples/product_shot.json -o shot.png
  fibo COMMAND --help
"""

#: what a value reads as in help, by its click type (typer would print ``<str>``, ``<int>``)
_WORDS = {"int": "INTEGER", "float": "NUMBER", "str": "TEXT", "path": "PATH"}


def _word_argument(param: Any) -> None:
    """An argument shown as its name alone (``PROMPT``, ``[PROMPT]``, ``FILE...``), as
    click does, rather than typer's ``{prompt}`` and ``prompt <str>``."""
    if param.metavar is None:
        param.metavar = (param.name or "value").upper()
    usage = param.metavar if param.required else f"[{param.metavar}]"
    if param.nargs != 1 and not usage.endswith("..."):
        usage += "..."
    # per instance: typer has no setting for these, and its plain help calls them
    param._usage_display_name = lambda: usage
    param.display_type_rich = lambda ctx: None  # noqa: ARG005 - typer passes ctx=


def _name_values(command: Any) -> None:
    """Give every option value and argument without a metavar a word (``--seed INTEGER``,
    ``PROMPT``): typer's plain help shows Python types (``<int>``, ``{prompt}``).

    Typed ``Any``: typer's commands derive from its own copy of click, not from ``click``.
    """
    for param in command.params:
        if param.param_type_name == "argument":
            _word_argument(param)
            continue
        if param.metavar is not None or param.is_flag or param.count:
            continue
        if param.type_descriptor.is_choice:
            continue  # typer shows the choices themselves: <text|json>
        if param.type_descriptor.is_path:
            bare = "path"
        else:
            bare = param.bare_type().removeprefix("list[").removesuffix("]")
        param.metavar = _WORDS.get(bare, bare.upper()) + ("..." if param.nargs != 1 else "")
    for sub in getattr(command, "commands", {}).values():
        _name_values(sub)


class _Group(TyperGroup):
    """The ``fibo`` group: its commands' values named in words once they are all built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _name_values(self)


app = typer.Typer(
    name="fibo",
    cls=_Group,
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # rich help formatting imports ~100 ms of modules; plain help keeps `fibo --help` instant
    rich_markup_mode=None,
    context_settings=HELP_OPTIONS,
)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"fibo-prompts {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Options that come before the command."""


_prompt.register(app)
_brand.register(app)
_diff.register(app)
_generate.register(app)
_edit.register(app)
_variation.register(app)
_provenance.register(app)
_library.register(app)
_schema.register(app)
_serve.register(app)


def main() -> None:
    """Entry point of the ``fibo`` console script.

    Click's own errors (a missing option, a bad value) are shown as Click shows them, but
    their last line starts ``error:`` like every other error (Click writes ``Error:``).
    """
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as exc:
        # typer vendors its own Click, whose errors all derive from this public class
        _show_usage_error(exc)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _show_usage_error(exc: typer.TyperException) -> None:
    """Write Click's own rendering of ``exc`` to stderr with ``Error:`` as ``error:``.

    A group called without a command shows its help this way too; its text is kept as is.
    """
    show = getattr(exc, "show", None)  # every Click exception has one; the base class not
    if show is None:
        typer.echo(f"error: {exc.format_message()}", err=True)
        return
    shown = io.StringIO()
    show(file=shown)
    text = shown.getvalue()
    last = f"Error: {exc.format_message()}\n"
    if text.endswith(last):
        text = f"{text.removesuffix(last)}error: {exc.format_message()}\n"
    typer.echo(text, err=True, nl=False)


__all__ = ["app", "main"]
