"""``fibo diff`` and ``fibo patch apply | revert | carry``: compare prompts, move changes.

``fibo diff`` follows diff(1): exit 0 when the prompts are equal, 1 when they differ, 2 on
any error (unreadable or invalid input included), so scripts can branch on it.
"""

import enum
from typing import TYPE_CHECKING, Annotated

import typer

from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.cli import _common
from fibo_prompts.cli._common import (
    CONTROL_CHARACTERS,
    STDIN,
    Lenient,
    MaxBytes,
    Output,
    command_group,
    fail,
    json_text,
    load,
    printable,
    read_source,
    user_errors,
    write_output,
)

if TYPE_CHECKING:
    from fibo_prompts.diff import PromptDiff

IgnoreNulls = Annotated[
    bool,
    typer.Option("--ignore-nulls", help="Treat null, empty and absent values alike."),
]
IgnoreScores = Annotated[
    bool,
    typer.Option("--ignore-scores", help="Ignore the two quality scores in aesthetics."),
]
IgnoreCase = Annotated[
    bool, typer.Option("--ignore-case", help="Ignore changes of letter case only.")
]
IgnoreSpace = Annotated[
    bool, typer.Option("--ignore-whitespace", help="Ignore changes of whitespace only.")
]


class DiffFormat(enum.StrEnum):
    """Output formats of ``fibo diff``."""

    text = "text"
    json = "json"
    patch = "patch"
    delta = "delta"
    html = "html"


def _render(
    result: "PromptDiff", output_format: DiffFormat, color: bool | None, *, to_terminal: bool
) -> str:
    # The prompts' values are untrusted text: JSON keeps the data but writes DEL, C1 and bidi
    # controls as \u escapes; text shown on a terminal has its control characters escaped.
    if output_format is DiffFormat.json:
        return json_text(result.to_data()) + "\n"
    if output_format is DiffFormat.patch:
        return json_text(result.to_json_patch()) + "\n"
    if output_format is DiffFormat.delta:
        return result.to_delta()
    if output_format is DiffFormat.html:
        return result.to_html(document=True)
    if color is None:
        color = _common.stdout_is_terminal()
    if not color:
        text = result.to_text()
        return printable(text) if to_terminal else text
    return _render_color(result)


def _render_color(result: "PromptDiff") -> str:
    """The text format in colour, as rich renders it for a terminal."""
    # imported here, not at the top: fibo --help stays fast
    from rich.console import Console

    from fibo_prompts.diff import render_rich

    shown = render_rich(result)
    # same length, so the styles' spans still fit; rich would pass ESC and C1 through
    shown.plain = CONTROL_CHARACTERS.sub("\ufffd", shown.plain)
    console = Console(force_terminal=True, highlight=False, soft_wrap=True)
    with console.capture() as capture:
        console.print(shown)
    return capture.get()


def diff_command(
    a: Annotated[str, typer.Argument(metavar="A", help="The old prompt file, or - for stdin.")],
    b: Annotated[str, typer.Argument(metavar="B", help="The new prompt file, or - for stdin.")],
    output_format: Annotated[
        DiffFormat,
        typer.Option(
            "--format",
            help="text (one line per change), json, patch (RFC 6902), delta, or html.",
        ),
    ] = DiffFormat.text,
    ignore_scores: IgnoreScores = False,
    ignore_nulls: IgnoreNulls = False,
    ignore_case: IgnoreCase = False,
    ignore_whitespace: IgnoreSpace = False,
    color: Annotated[
        bool | None,
        typer.Option("--color/--no-color", help="Colour the text format (default: if a TTY)."),
    ] = None,
    output: Output = None,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Show what changed from prompt A to prompt B, in FIBO's vocabulary.

    Objects and text items are matched by identity, so reordering shows as moves. Exit 0 when
    the prompts are equal, 1 when they differ, 2 on error.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.diff import diff
    from fibo_prompts.errors import FiboPromptsError

    if a == STDIN and b == STDIN:
        fail("only one of A and B can be - (stdin)", code=2)
    try:
        old = load(a, lenient=lenient, max_bytes=max_bytes)
        new = load(b, lenient=lenient, max_bytes=max_bytes)
        result = diff(
            old,
            new,
            ignore_nulls=ignore_nulls,
            ignore_scores=ignore_scores,
            ignore_case=ignore_case,
            ignore_whitespace=ignore_whitespace,
        )
        to_terminal = output is None and _common.stdout_is_terminal()
        text = _render(result, output_format, color, to_terminal=to_terminal)
        write_output(text, file=b, output=output, in_place=False, what="diff")
    except FiboPromptsError as exc:
        fail(str(exc), code=2)
    raise typer.Exit(1 if result.changes else 0)


def _read_patch(file: str, max_bytes: int) -> bytes:
    raw, _ = read_source(file, max_bytes)
    return raw


def apply_command(
    base: Annotated[
        str, typer.Argument(metavar="BASE", help="The prompt to patch, or - for stdin.")
    ],
    patch: Annotated[str, typer.Argument(metavar="PATCH", help="A JSON Patch or JSON delta file.")],
    output: Output = None,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Apply a patch (from fibo diff --format patch or delta) to BASE.

    Only the patched values' bytes change. A patch whose tests fail (BASE drifted) is refused
    with every conflict listed; nothing is written.
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.diff import apply

    if base == STDIN and patch == STDIN:
        fail("only one of BASE and PATCH can be - (stdin)", code=2)
    with user_errors():
        prompt = load(base, lenient=lenient, max_bytes=max_bytes)
        result = apply(prompt, _read_patch(patch, max_bytes), max_bytes=max_bytes)
        write_output(result.wire, file=base, output=output, in_place=False, max_bytes=max_bytes)


def revert_command(
    target: Annotated[
        str, typer.Argument(metavar="TARGET", help="The patched prompt, or - for stdin.")
    ],
    patch: Annotated[
        str, typer.Argument(metavar="PATCH", help="The JSON Patch or JSON delta that made it.")
    ],
    output: Output = None,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Undo a patch: turn TARGET back into the prompt the patch was made from."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.diff import revert

    if target == STDIN and patch == STDIN:
        fail("only one of TARGET and PATCH can be - (stdin)", code=2)
    with user_errors():
        prompt = load(target, lenient=lenient, max_bytes=max_bytes)
        result = revert(prompt, _read_patch(patch, max_bytes), max_bytes=max_bytes)
        write_output(result.wire, file=target, output=output, in_place=False, max_bytes=max_bytes)


def carry_command(
    a: Annotated[str, typer.Argument(metavar="A", help="The prompt before the refinement.")],
    b: Annotated[str, typer.Argument(metavar="B", help="The prompt after the refinement.")],
    onto: Annotated[
        str, typer.Argument(metavar="ONTO", help="The sibling prompt to carry it onto.")
    ],
    output: Output = None,
    ignore_scores: IgnoreScores = False,
    ignore_nulls: IgnoreNulls = False,
    lenient: Lenient = False,
    max_bytes: MaxBytes = DEFAULT_MAX_BYTES,
) -> None:
    """Carry the refinement A -> B onto ONTO; conflicts are listed, never guessed."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.diff import carry, diff

    with user_errors():
        old = load(a, lenient=lenient, max_bytes=max_bytes)
        new = load(b, lenient=lenient, max_bytes=max_bytes)
        sibling = load(onto, lenient=lenient, max_bytes=max_bytes)
        refinement = diff(old, new, ignore_nulls=ignore_nulls, ignore_scores=ignore_scores)
        result = carry(refinement, sibling)
        write_output(result.wire, file=onto, output=output, in_place=False, max_bytes=max_bytes)


def register(app: typer.Typer) -> None:
    """Add ``fibo diff`` and the ``fibo patch`` group to the app."""
    app.command("diff")(diff_command)
    patch_app = command_group(
        "patch", "Apply, revert or carry prompt changes, keeping every other byte."
    )
    patch_app.command("apply")(apply_command)
    patch_app.command("revert")(revert_command)
    patch_app.command("carry")(carry_command)
    app.add_typer(patch_app, name="patch")
