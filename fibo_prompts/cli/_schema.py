"""``fibo schema``: print or export the generated JSON Schemas."""

from pathlib import Path
from typing import Annotated

import typer

from fibo_prompts.cli._common import user_errors


def schema(
    lenient: Annotated[
        bool, typer.Option("--lenient", help="The lenient profile (unknown keys allowed).")
    ] = False,
    export: Annotated[
        Path | None,
        typer.Option("--export", metavar="DIR", help="Write every schema file into DIR."),
    ] = None,
) -> None:
    """Print the structured prompt's JSON Schema (draft 2020-12), or export all of them."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.prompt.schema import schema_text
    from fibo_prompts.schemas import export_schemas

    with user_errors():
        if export is not None:
            for path in export_schemas(export):
                typer.echo(f"wrote {path}")
            return
        typer.echo(schema_text(lenient=lenient), nl=False)


def register(app: typer.Typer) -> None:
    """Add the schema command to the app."""
    app.command()(schema)
