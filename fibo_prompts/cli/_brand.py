"""``fibo templates | render | lint | brand``: brand kits, templates and brand lint."""

import json
from pathlib import Path
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
    command_group,
    fail,
    load,
    printable,
    user_errors,
    write_output,
)

if TYPE_CHECKING:
    from fibo_prompts.brand import BrandKit, Finding, Template
    from fibo_prompts.prompt import StructuredPrompt

MAX_VARS_BYTES = 1_000_000  # a --vars file is read up to this size (like a brand kit)


Dirs = Annotated[
    list[Path] | None,
    typer.Option(
        "--dir",
        metavar="DIR",
        help="Also look for templates in DIR (before the built-in ones); repeatable.",
    ),
]
Brand = Annotated[
    Path, typer.Option("--brand", "-b", metavar="KIT", help="The brand kit (YAML or JSON).")
]


def _kit(path: Path) -> "BrandKit":
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.brand import BrandKit

    return BrandKit.load(path)


# ---------------------------------------------------------------------- templates


def templates_list(dirs: Dirs = None) -> None:
    """List the templates: name, kind (build or edit) and what each one makes."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.brand import list_templates
    from fibo_prompts.errors import TemplateError

    broken: list[TemplateError] = []
    with user_errors():
        templates = list_templates(dirs, errors=broken)
    if not templates and not broken:
        typer.echo("no templates found")
        return
    width = max((len(t.name) for t in templates), default=0)
    for template in templates:
        summary = _first_sentence(template.description)
        typer.echo(f"{template.name:<{width}}  {template.kind:<5}  {summary}")
    # each broken template on its own line, after the good ones are listed
    for error in broken:
        typer.echo(f"error: {printable(str(error))}", err=True)
    if broken:
        raise typer.Exit(1)


def _first_sentence(text: str) -> str:
    sentence = text.split(". ")[0].split(": ")[0].rstrip(".")
    return sentence + "."


def templates_show(
    name: Annotated[str, typer.Argument(help="A template name, or the path of a template file.")],
    output_format: Annotated[
        Format, typer.Option("--format", help="text, or json (the header as data).")
    ] = Format.text,
    dirs: Dirs = None,
) -> None:
    """Show a template's description and variables (type, default, examples)."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.brand import load_template

    with user_errors():
        template = load_template(name, dirs=dirs)
    if output_format is Format.json:
        typer.echo(json.dumps(template.to_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(_describe(template))


def _describe(template: "Template") -> str:
    lines = [f"{template.name} ({template.kind})  {template.source}", template.description]
    if template.kind == "edit":
        lines.append("Applied to an existing prompt: fibo render ... --base PROMPT")
    lines.append("")
    if not template.variables:
        lines.append("Variables: none")
        return "\n".join(lines)
    lines.append("Variables:")
    width = max(len(name) for name in template.variables)
    for variable in template.variables.values():
        if variable.required:
            status = "required"
        elif variable.default is None:
            status = "optional"
        else:
            status = f"default: {json.dumps(variable.default, ensure_ascii=False)}"
        lines.append(f"  {variable.name:<{width}}  {variable.type:<9}  {status}")
        if variable.description:
            lines.append(f"      {variable.description}")
        if variable.choices is not None:
            lines.append("      one of: " + ", ".join(str(c) for c in variable.choices))
        for example in variable.examples:
            lines.append(f"      e.g. {json.dumps(example, ensure_ascii=False)}")
    return "\n".join(lines)


# ---------------------------------------------------------------------- render


def render(
    template: Annotated[str, typer.Argument(help="A template name, or a template file.")],
    brand: Brand,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="NAME=VALUE",
            help="A variable; lists as a JSON array or comma-separated. Repeatable.",
        ),
    ] = None,
    vars_file: Annotated[
        Path | None,
        typer.Option("--vars", metavar="FILE", help="Variables from a YAML or JSON mapping."),
    ] = None,
    base: Annotated[
        str | None,
        typer.Option("--base", metavar="PROMPT", help="The prompt an edit template changes."),
    ] = None,
    output: Output = None,
    dirs: Dirs = None,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Render a template with a brand kit into a validated structured prompt.

    A build template makes a whole prompt; an edit template changes the --base prompt (only
    the edited values' bytes change) and lists the changed paths on stderr. --var overrides
    --vars.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.brand import load_template

    variables = _read_vars(vars_file) if vars_file is not None else {}
    for item in var or []:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            fail(f"--var {item!r}: write NAME=VALUE", code=2)
        variables[name.strip()] = value
    with user_errors():
        kit = _kit(brand)
        loaded = load_template(template, dirs=dirs)
        if loaded.kind == "edit":
            if base is None:
                fail(f"{loaded.name} is an edit template: give the prompt to edit with --base", 2)
            prompt = load(base, lenient=lenient, max_bytes=max_bytes)
            result, changes = loaded.edit(prompt, kit, variables)
            for change in changes:
                typer.echo(f"changed: {change.path}", err=True)
            if not changes:
                typer.echo("no changes", err=True)
        else:
            if base is not None:
                fail(f"{loaded.name} is a {loaded.kind} template: --base is for edit templates", 2)
            result = loaded.render(kit, variables)
        write_output(result.wire, file=STDIN, output=output, in_place=False, max_bytes=max_bytes)


def _read_vars(path: Path) -> dict[str, Any]:
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._yaml import YAMLProblem, load_yaml

    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_VARS_BYTES + 1)
        # the size first: the cut may fall inside a UTF-8 character
        if len(raw) > MAX_VARS_BYTES:
            fail(f"--vars {path}: over {MAX_VARS_BYTES:,} bytes; not a variables file")
        text = raw.decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(f"--vars {path}: cannot read ({getattr(exc, 'strerror', None) or exc})")
    try:
        data = load_yaml(text)
    except YAMLProblem as exc:
        if exc.message.startswith(("YAML aliases", "duplicate key", "a number of")):
            fail(f"--vars {path}: {exc.where()}{exc.message}")
        fail(f"--vars {path}: {exc.where()}not valid YAML or JSON ({exc.message})")
    if data is None:
        return {}
    if not isinstance(data, dict):
        fail(f"--vars {path}: expected a mapping of variable names to values")
    return {str(key): value for key, value in data.items()}


# ---------------------------------------------------------------------- lint


def lint(
    files: Annotated[
        list[str], typer.Argument(help="Prompt files, or - for stdin.", metavar="PROMPT...")
    ],
    brand: Brand,
    output_format: Annotated[
        Format, typer.Option("--format", help="text: one line per finding; json.")
    ] = Format.text,
    aspect_ratio: Annotated[
        str | None,
        typer.Option("--aspect-ratio", metavar="W:H", help="Also check this aspect ratio."),
    ] = None,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Check prompts against a brand kit. Exit 1 when any finding is an error (or a file
    cannot be read), 0 otherwise.

    Each finding is one line: FILE:LINE:COL: PATH: SEVERITY: MESSAGE [RULE] (SUGGESTION).
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.brand import lint as lint_prompt
    from fibo_prompts.errors import FiboPromptsError

    with user_errors():
        kit = _kit(brand)
    reports: list[dict[str, Any]] = []
    failed = False
    for file in files:
        name = "<stdin>" if file == STDIN else file
        try:
            prompt = load(file, lenient=lenient, max_bytes=max_bytes)
        except FiboPromptsError as exc:
            failed = True
            reports.append({"file": name, "error": str(exc), "findings": []})
            continue
        findings = lint_prompt(prompt, kit, aspect_ratio=aspect_ratio)
        failed = failed or any(f.severity == "error" for f in findings)
        reports.append({"file": name, "error": None, "findings": _located(prompt, findings)})
    _print_lint(reports, output_format)
    if failed:
        raise typer.Exit(1)


def _located(
    prompt: "StructuredPrompt", findings: "list[Finding]"
) -> "list[tuple[Finding, int, int]]":
    """Each finding with the line and column of its path in the prompt's text."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._jsoncst import locate
    from fibo_prompts._jsontree import line_col
    from fibo_prompts.prompt.paths import parse_path

    located = []
    for finding in findings:
        parts = parse_path(finding.path) if finding.path else ()
        offset, _ = locate(prompt.syntax_tree(), parts, key=True)
        line, column = line_col(prompt.wire, offset)
        located.append((finding, line, column))
    located.sort(key=lambda item: (item[1], item[2]))
    return located


def _print_lint(reports: list[dict[str, Any]], output_format: Format) -> None:
    if output_format is Format.json:
        out = []
        for report in reports:
            findings = [
                {**finding.to_dict(), "line": line, "column": column}
                for finding, line, column in report["findings"]
            ]
            out.append(
                {
                    "file": report["file"],
                    "error": report["error"],
                    "errors": sum(1 for f in findings if f["severity"] == "error"),
                    "findings": findings,
                }
            )
        typer.echo(json.dumps(out, indent=2, ensure_ascii=False))
        return
    counts = {"error": 0, "warning": 0, "info": 0, "unreadable": 0}
    for report in reports:
        if report["error"] is not None:
            # counted apart: "no findings" would read as if the file had been checked
            counts["unreadable"] += 1
            typer.echo(f"error: {report['error']}")
            continue
        for finding, line, column in report["findings"]:
            counts[finding.severity] += 1
            typer.echo(f"{report['file']}:{line}:{column}: {finding.format()}")
    summary = ", ".join(
        f"{n} {kind}{'s' if n != 1 and kind != 'unreadable' else ''}"
        for kind, n in counts.items()
        if n
    )
    files = len(reports)
    typer.echo(f"{files} file{'s' if files != 1 else ''}: {summary or 'no findings'}", err=True)


# ---------------------------------------------------------------------- brand apply


def brand_apply(
    file: FileArgument,
    brand: Brand,
    output: Output = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", "-i", help="Overwrite the prompt file.")
    ] = False,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Fill the fields a prompt leaves empty with the brand's defaults (lighting, camera,
    colour scheme, mood, medium, style, text fonts and colours). Nothing the prompt says is
    overwritten; each filled path is listed on stderr."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.brand import apply_brand

    with user_errors():
        kit = _kit(brand)
        prompt = load(file, lenient=lenient, max_bytes=max_bytes)
        result, changes = apply_brand(prompt, kit)
        for change in changes:
            typer.echo(f"filled: {change.path}", err=True)
        if not changes:
            typer.echo("nothing to fill", err=True)
        write_output(result.wire, file=file, output=output, in_place=in_place, max_bytes=max_bytes)


def register(app: typer.Typer) -> None:
    """Add the brand commands to the app: templates (list, show), render, lint, brand apply."""
    templates_app = command_group("templates", "List brand templates and show their variables.")
    templates_app.command("list")(templates_list)
    templates_app.command("show")(templates_show)
    brand_app = command_group("brand", "Apply a brand kit to prompts.")
    brand_app.command("apply")(brand_apply)
    app.add_typer(templates_app)
    app.command("render")(render)
    app.command("lint")(lint)
    app.add_typer(brand_app)
