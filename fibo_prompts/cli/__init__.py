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
    """Entry point of the ``fibo`` console script."""
    app()


__all__ = ["app", "main"]
