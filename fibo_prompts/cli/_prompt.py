"""``fibo validate | get | set | fmt``: check and edit structured prompt files."""

import enum
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.cli._common import (
    STDIN,
    FileArgument,
    Format,
    Lenient,
    MaxBytes,
    Output,
    exact_text,
    json_text,
    load,
    printable,
    user_errors,
    write_output,
)

if TYPE_CHECKING:
    from fibo_prompts.errors import PromptIssue

InPlace = Annotated[
    bool, typer.Option("--in-place", "-i", help="Overwrite FILE (only if the result is valid).")
]


class Style(enum.StrEnum):
    """Serialization styles of ``fibo fmt``."""

    compact = "compact"
    pretty = "pretty"
    canonical = "canonical"


def validate(
    files: Annotated[
        list[str], typer.Argument(help="Prompt files, or - for stdin.", metavar="FILE...")
    ],
    lenient: Lenient = False,
    output_format: Annotated[
        Format, typer.Option("--format", help="text: one line per problem; json.")
    ] = Format.text,
    warnings: Annotated[
        bool, typer.Option("--warnings/--no-warnings", help="Also report convention warnings.")
    ] = True,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Check prompt files. Exit 0 when all are valid, 1 when any is not, 2 on usage errors.

    Each problem is one line: FILE:LINE:COL: PATH: MESSAGE. Warnings (more than 5 objects,
    over-long text, placeholder text, token length near the cap) never fail a file.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import (
        FiboPromptsError,
        PromptParseError,
        PromptValidationError,
    )

    reports: list[dict[str, Any]] = []
    failed = False
    for file in files:
        name = "<stdin>" if file == STDIN else file
        errors: list[PromptIssue | str] = []
        found: list[PromptIssue] = []
        try:
            prompt = load(file, lenient=lenient, max_bytes=max_bytes)
            found = prompt.check() if warnings else []
        except PromptValidationError as exc:
            errors.extend(exc.issues)
        except PromptParseError as exc:
            errors.append(exc.message if exc.hint is None else f"{exc.message} ({exc.hint})")
            where = ":".join(str(p) for p in (exc.line, exc.column) if p is not None)
            name_where = f"{name}:{where}" if where else name
            reports.append(_report(name, errors, found, parse_where=name_where, exc=exc))
            failed = True
            continue
        except FiboPromptsError as exc:
            # FileAccessError and friends already name the file
            errors.append(str(exc).removeprefix(f"{name}: "))
            reports.append(_report(name, errors, found, parse_where=None, exc=None))
            failed = True
            continue
        failed = failed or bool(errors)
        reports.append(_report(name, errors, found, parse_where=None, exc=None))
    _print_reports(reports, output_format)
    if failed:
        raise typer.Exit(1)


def _report(
    name: str,
    errors: list[Any],
    warnings: "list[PromptIssue]",
    *,
    parse_where: str | None,
    exc: Exception | None,
) -> dict[str, Any]:
    return {
        "file": name,
        "errors": errors,
        "warnings": warnings,
        "parse_where": parse_where,
        "exc": exc,
    }


def _issue_json(issue: "PromptIssue") -> dict[str, Any]:
    return {
        "path": issue.path,
        "message": issue.message,
        "code": issue.code,
        "value": issue.value,
        "line": issue.line,
        "column": issue.column,
        "suggestion": issue.suggestion,
    }


def _print_reports(reports: list[dict[str, Any]], output_format: Format) -> None:
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import PromptIssue, PromptParseError

    if output_format is Format.json:
        out = []
        for report in reports:
            errors = []
            for error in report["errors"]:
                if isinstance(error, PromptIssue):
                    errors.append(_issue_json(error))
                else:
                    exc = report["exc"]
                    line = exc.line if isinstance(exc, PromptParseError) else None
                    column = exc.column if isinstance(exc, PromptParseError) else None
                    errors.append(
                        {
                            "path": None,
                            "message": error,
                            "code": "parse",
                            "value": None,
                            "line": line,
                            "column": column,
                            "suggestion": None,
                        }
                    )
            out.append(
                {
                    "file": report["file"],
                    "valid": not errors,
                    "errors": errors,
                    "warnings": [_issue_json(w) for w in report["warnings"]],
                }
            )
        typer.echo(json_text(out))
        return
    # issues quote the file's values: never let them drive the terminal
    for report in reports:
        for error in report["errors"]:
            if isinstance(error, PromptIssue):
                typer.echo(printable(error.format(report["file"])))
            else:
                typer.echo(printable(f"{report['parse_where'] or report['file']}: {error}"))
        for warning in report["warnings"]:
            typer.echo(printable(warning.format(report["file"])))
    if len(reports) > 1:
        bad = sum(1 for r in reports if r["errors"])
        typer.echo(f"{len(reports)} files: {len(reports) - bad} valid, {bad} invalid", err=True)


def get(
    file: FileArgument,
    path: Annotated[str, typer.Argument(help="A path such as objects[0].location.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print strings as JSON too (quoted, escaped).")
    ] = False,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Print the value at PATH: strings as plain text, anything else as JSON.

    Plain text is exact when piped; on a terminal its control characters are escaped."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.cli import _arguments

    with user_errors():
        prompt = load(file, lenient=lenient, max_bytes=max_bytes)
    value = _arguments.get(prompt, path, path_label=f"argument PATH {_arguments.shown(path)}")
    if isinstance(value, str) and not as_json:
        typer.echo(exact_text(value))
    else:
        typer.echo(json_text(value))


def set_(
    file: FileArgument,
    path: Annotated[str, typer.Argument(help="A path such as lighting.conditions.")],
    value: Annotated[
        str, typer.Argument(help="The new value: parsed as JSON if it is valid JSON, else text.")
    ],
    output: Output = None,
    in_place: InPlace = False,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Set the value at PATH, changing only that value's bytes in the file.

    The result is validated first: with --in-place an invalid result leaves FILE untouched.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.cli import _arguments

    value_label = f"argument VALUE {_arguments.shown(value)}"
    parsed = _arguments.json_or_text(value, value_label)
    with user_errors():
        prompt = load(file, lenient=lenient, max_bytes=max_bytes)
        edited = _arguments.edit(
            prompt,
            path,
            parsed,
            path_label=f"argument PATH {_arguments.shown(path)}",
            value_label=value_label,
        )
        write_output(edited.wire, file=file, output=output, in_place=in_place, max_bytes=max_bytes)


def fmt(
    file: FileArgument,
    style: Annotated[
        Style, typer.Option("--style", help="compact (FIBO's own form), pretty, or canonical.")
    ] = Style.pretty,
    output: Output = None,
    in_place: InPlace = False,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Rewrite a prompt in one style. compact and pretty keep key order and every value;
    canonical cleans empties and uses FIBO's key order. Note: restyling changes the tokens FIBO
    reads, so the same seed may give a different image."""
    with user_errors():
        prompt = load(file, lenient=lenient, max_bytes=max_bytes)
        text = prompt.to_json(style.value)
        write_output(text, file=file, output=output, in_place=in_place, max_bytes=max_bytes)


def register(app: typer.Typer) -> None:
    """Add the prompt commands to the app."""
    app.command()(validate)
    app.command()(get)
    app.command("set")(set_)
    app.command()(fmt)
