"""The ``fibo`` command line: a thin layer over the library API.

Only this package prints or exits. Modules import the library inside each command, so
``fibo --help`` stays fast (no pydantic import). Every :class:`FiboPromptsError` becomes a
one-line message and exit code 1; usage errors exit 2; no traceback for bad input. ``fibo diff``
follows diff(1) instead: 0 equal, 1 different, 2 on any error.
"""

from __future__ import annotations

import typer

from fibo_prompts.cli import _brand, _diff, _generate, _library, _prompt, _schema, _variation
from fibo_prompts.cli._common import HELP_OPTIONS

app = typer.Typer(
    name="fibo",
    help="The structured-prompt workbench for Bria's FIBO: validate, edit and format prompts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # rich help formatting imports ~100 ms of modules; plain help keeps `fibo --help` instant
    rich_markup_mode=None,
    context_settings=HELP_OPTIONS,
)
_prompt.register(app)
_brand.register(app)
_diff.register(app)
_generate.register(app)
_variation.register(app)
_library.register(app)
_schema.register(app)


def main() -> None:
    """Entry point of the ``fibo`` console script.

    Click's own errors (a missing option, a bad value) are shown as Click shows them, but
    their last line starts ``error:`` like every other error (Click writes ``Error:``).
    """
    import io
    import sys

    # typer vendors its own copy of Click: its exceptions are these, not click's
    from typer._click.exceptions import ClickException, NoArgsIsHelpError

    try:
        code = app(standalone_mode=False)
    except NoArgsIsHelpError as exc:
        exc.show()  # the help text itself, not an error
        sys.exit(exc.exit_code)
    except ClickException as exc:
        shown = io.StringIO()
        exc.show(file=shown)
        text = shown.getvalue()
        head, sep, message = text.rpartition("Error: ")
        typer.echo(f"{head}error: {message}" if sep else text, err=True, nl=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        typer.echo("error: aborted", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["app", "main"]
