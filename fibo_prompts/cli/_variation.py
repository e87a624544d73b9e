"""``fibo sweep|vary|grid|refine``: controlled variation.

Everything works offline on the ``preview`` backend. Runs write their images (with
provenance), ``contact_sheet.png`` and ``run.json`` into one folder and print where.
"""

import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fibo_prompts._limits import DEFAULT_CELL_SIZE, DEFAULT_MAX_BYTES
from fibo_prompts.cli._arguments import (
    check_parameter,
    edit,
    json_or_text,
    shown,
)
from fibo_prompts.cli._common import (
    Backend,
    BaseUrl,
    Format,
    FormatOption,
    Guidance,
    ImageOutput,
    JobTimeout,
    LibraryPath,
    MaxImageBytes,
    Negative,
    PromptArgument,
    RequestTimeout,
    Steps,
    fail,
    json_text,
    load,
    printable,
    user_errors,
    write_output,
)
from fibo_prompts.cli._generate import (
    PREVIEW_NOTE,
    http_limits,
    no_stdout,
    pick_backend,
    require_key,
)
from fibo_prompts.cli._output import write_image

if TYPE_CHECKING:
    from fibo_prompts.generate import Client, GenerationRequest
    from fibo_prompts.generate.variation import VariationRun
    from fibo_prompts.library import Library
    from fibo_prompts.prompt import StructuredPrompt

AspectRatio = Annotated[str | None, typer.Option("--aspect-ratio", help="For example 16:9.")]
OutDir = Annotated[
    Path | None,
    typer.Option("--out-dir", "-o", help="Folder for the images, contact sheet and run.json."),
]
Concurrency = Annotated[int, typer.Option(min=1, help="Generations in flight at once.")]
CellSize = Annotated[
    int,
    typer.Option(
        "--cell-size",
        min=64,
        max=1024,
        help="The contact sheet's thumbnails: their longest side in pixels (64 to 1024).",
    ),
]
Save = Annotated[
    str | None,
    typer.Option("--save", help="Record every generation in the library under this prompt name."),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option("--set", help="PATH=VALUE (JSON if valid JSON, else text); repeatable."),
]


def parse_assignment(item: str, option: str = "--set") -> tuple[str, Any]:
    """``PATH=VALUE`` → (path, value); the value is JSON where it parses, else text."""
    path, sep, raw = item.partition("=")
    if not sep or not path.strip():
        fail(f"expected PATH=VALUE, got {shown(item)}", code=2)
    return path.strip(), json_or_text(raw, f"option {option} {shown(item)}")


# (label, name, value) of each --set/--row/--column: checked against the prompt before
# anything is generated, so an error names the option instead of the prompt file
Check = tuple[str, str, Any]


def _axes(items: list[str] | None, option: str = "--set") -> dict[str, list[Any]]:
    axes: dict[str, list[Any]] = {}
    for item in items or []:
        path, value = parse_assignment(item, option)
        axes.setdefault(path, []).append(value)
    return axes


def _checks(items: list[str] | None, option: str) -> list[Check]:
    return [(f"option {option} {shown(i)}", *parse_assignment(i, option)) for i in items or []]


def _check_edits(prompt: "StructuredPrompt | None", checks: list[Check]) -> None:
    """Fail on the first ``--set`` whose path or value the prompt refuses, naming it."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate.variation import PARAMETERS

    for label, name, value in checks:
        if name in PARAMETERS:
            check_parameter(name, value, label)
        elif prompt is not None:
            edited = edit(prompt, name, value, path_label=label, value_label=label)
            _refuse_new_unknown_keys(prompt, edited, label)


def _refuse_new_unknown_keys(
    prompt: "StructuredPrompt", edited: "StructuredPrompt", label: str
) -> None:
    """An image's prompt is read leniently, so ``set`` accepts any key: refuse one the edit
    adds that FIBO does not define, as a strict prompt file would."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.prompt import unknown_key_issues

    if not edited.lenient:
        return
    before = {issue.path for issue in unknown_key_issues(prompt.to_dict())}
    for issue in unknown_key_issues(edited.to_dict()):
        if issue.path not in before:
            fail(f"{label}: {issue.path}: {issue.message}")


def _seeds(text: str) -> list[int]:
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.provenance.record import SEED_RANGE

    low, high = SEED_RANGE
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        seeds = []
    if not seeds or not all(low <= seed <= high for seed in seeds):
        fail(
            f"--seeds takes comma-separated integers from {low} to {high:,}, got {shown(text)}",
            code=2,
        )
    return seeds


def _client(
    stack: ExitStack,
    backend: str | None,
    base_url: str | None,
    timeout: float,
    limits: dict[str, Any],
) -> "Client":
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate import Client, PollPolicy

    name, fallback = pick_backend(backend)
    if fallback:
        typer.echo(f"note: {PREVIEW_NOTE}", err=True)
    poll = PollPolicy(timeout=timeout)
    require_key(name)
    return stack.enter_context(Client(name, base_url=base_url, poll=poll, **limits))


def _library(stack: ExitStack, path: Path | None, save: str | None) -> "Library | None":
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.library import Library

    if save is None:
        return None
    return stack.enter_context(Library(path))


def _base_request(
    prompt: str,
    *,
    seed: int | None = None,
    steps: int | None,
    guidance: float | None,
    aspect_ratio: str | None,
    negative: str | None,
) -> "GenerationRequest":
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate import GenerationRequest

    return GenerationRequest(
        prompt=load(prompt, lenient=False, max_bytes=DEFAULT_MAX_BYTES),
        seed=seed,
        steps=steps,
        guidance=guidance,
        aspect_ratio=aspect_ratio,
        negative_prompt=negative,
    )


def _default_dir(kind: str) -> Path:
    return Path(f"fibo-{kind}-{time.strftime('%Y%m%d-%H%M%S')}")


def _run(kind: str, total: int, start: Any) -> "VariationRun":
    """Run ``start(on_result)`` with a progress bar on stderr (hidden when not a terminal)."""
    # imported here, not at the top: fibo --help stays fast
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    console = Console(stderr=True, highlight=False)
    columns = (TextColumn(f"{kind}"), BarColumn(), MofNCompleteColumn())
    with Progress(
        *columns, console=console, transient=True, disable=not console.is_terminal
    ) as progress:
        task = progress.add_task(kind, total=total)
        run: VariationRun = start(lambda _i, _o: progress.advance(task))
    return run


def _report(run: "VariationRun", output_format: Format) -> None:
    if output_format is Format.json:
        data = run.manifest()
        data["out_dir"] = None if run.out_dir is None else str(run.out_dir)
        sys.stdout.write(json_text(data) + "\n")
    else:
        what = "PREVIEW images (not FIBO renders)" if run.preview else "images"
        typer.echo(f"{len(run.generations)} of {len(run.cells)} {what} in {run.out_dir}/")
        for cell in run.cells:
            name = cell.image_path.name if cell.image_path is not None else "FAILED"
            seed = "" if "seed" in cell.values else f"  seed {cell.seed}"
            typer.echo(printable(f"  {name}  {cell.label}{seed}"))
        if run.contact_sheet is not None:
            typer.echo(f"contact sheet: {run.contact_sheet}")
    for error in run.errors:
        typer.echo(f"error: {printable(str(error))}", err=True)
    if run.errors:
        raise typer.Exit(1)


@dataclass(frozen=True)
class _Settings:
    """The options every run command shares."""

    backend: str | None
    base_url: str | None
    steps: int | None
    guidance: float | None
    aspect_ratio: str | None
    negative: str | None
    out_dir: Path | None
    output_format: Format
    concurrency: int
    timeout: float
    save: str | None
    library: Path | None
    #: the client keyword arguments of --max-image-bytes and --request-timeout
    limits: dict[str, Any]
    #: --cell-size: the contact sheet's thumbnails
    cell_size: int = DEFAULT_CELL_SIZE


def _execute(
    kind: str,
    prompt: str,
    total: int,
    settings: _Settings,
    checks: list[Check] | None = None,
    **axes: Any,
) -> None:
    """Load the prompt, run ``client.<kind>(...)`` with a progress bar, report the run."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._files import write_file

    no_stdout(settings.out_dir, "--out-dir")
    target = settings.out_dir or _default_dir(kind)
    with user_errors(), ExitStack() as stack:
        request = _base_request(
            prompt,
            steps=settings.steps,
            guidance=settings.guidance,
            aspect_ratio=settings.aspect_ratio,
            negative=settings.negative,
        )
        _check_edits(request.prompt, checks or [])
        client = _client(
            stack, settings.backend, settings.base_url, settings.timeout, settings.limits
        )
        lib = _library(stack, settings.library, settings.save)
        method = getattr(client, kind)
        run = _run(
            kind,
            total,
            lambda progress: method(
                request,
                out_dir=target,
                library=lib,
                name=settings.save,
                concurrency=settings.concurrency,
                on_result=progress,
                **axes,
            ),
        )
        if run.contact_sheet is not None and settings.cell_size != DEFAULT_CELL_SIZE:
            # the library writes the sheet at its default size; drawn again at the asked one
            sheet = run.contact_sheet_png(thumb=settings.cell_size)
            write_file(run.contact_sheet, sheet, what="contact sheet")
    _report(run, settings.output_format)


def sweep(
    prompt: PromptArgument,
    seeds: Annotated[str | None, typer.Option(help="Comma-separated seeds: 1,2,3.")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Draw this many seeds.")] = None,
    backend: Backend = None,
    base_url: BaseUrl = None,
    steps: Steps = None,
    guidance: Guidance = None,
    aspect_ratio: AspectRatio = None,
    negative: Negative = None,
    out_dir: OutDir = None,
    output_format: FormatOption = Format.text,
    concurrency: Concurrency = 8,
    timeout: JobTimeout = 600,
    save: Save = None,
    library: LibraryPath = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
    cell_size: CellSize = DEFAULT_CELL_SIZE,
) -> None:
    """The same prompt with different seeds, and a contact sheet of the results."""
    if (seeds is None) == (count is None):
        fail("give --seeds 1,2,3 or --count N (one of them)", code=2)
    seed_list = _seeds(seeds) if seeds is not None else None
    total = len(seed_list) if seed_list is not None else int(count or 0)
    settings = _Settings(
        backend,
        base_url,
        steps,
        guidance,
        aspect_ratio,
        negative,
        out_dir,
        output_format,
        concurrency,
        timeout,
        save,
        library,
        http_limits(max_image_bytes, request_timeout),
        cell_size,
    )
    _execute("sweep", prompt, total, settings, seeds=seed_list, count=count)


def vary(
    prompt: PromptArgument,
    assignments: SetOption = None,
    seed: Annotated[
        int | None, typer.Option(help="The fixed seed (drawn once if omitted).")
    ] = None,
    backend: Backend = None,
    base_url: BaseUrl = None,
    steps: Steps = None,
    guidance: Guidance = None,
    aspect_ratio: AspectRatio = None,
    negative: Negative = None,
    out_dir: OutDir = None,
    output_format: FormatOption = Format.text,
    concurrency: Concurrency = 8,
    timeout: JobTimeout = 600,
    save: Save = None,
    library: LibraryPath = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
    cell_size: CellSize = DEFAULT_CELL_SIZE,
) -> None:
    """One generation per --set value with the seed fixed; each differs from the prompt only
    at its path. Repeat --set with the same PATH for several values of it."""
    axes = _axes(assignments)
    if not axes:
        fail("give at least one --set PATH=VALUE", code=2)
    settings = _Settings(
        backend,
        base_url,
        steps,
        guidance,
        aspect_ratio,
        negative,
        out_dir,
        output_format,
        concurrency,
        timeout,
        save,
        library,
        http_limits(max_image_bytes, request_timeout),
        cell_size,
    )
    total = sum(len(v) for v in axes.values())
    checks = _checks(assignments, "--set")
    _execute("vary", prompt, total, settings, checks, changes=axes, seed=seed)


def grid(
    prompt: PromptArgument,
    row: Annotated[
        list[str] | None, typer.Option("--row", help="Row axis NAME=VALUE; repeat per value.")
    ] = None,
    column: Annotated[
        list[str] | None,
        typer.Option("--column", help="Column axis NAME=VALUE; repeat per value."),
    ] = None,
    seeds: Annotated[
        str | None, typer.Option(help="Seeds as the row axis (instead of --row): 1,2,3.")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="The fixed seed where no axis is seed.")] = None,
    backend: Backend = None,
    base_url: BaseUrl = None,
    steps: Steps = None,
    guidance: Guidance = None,
    aspect_ratio: AspectRatio = None,
    negative: Negative = None,
    out_dir: OutDir = None,
    output_format: FormatOption = Format.text,
    concurrency: Concurrency = 8,
    timeout: JobTimeout = 600,
    save: Save = None,
    library: LibraryPath = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
    cell_size: CellSize = DEFAULT_CELL_SIZE,
) -> None:
    """Every combination of two axes (rows × columns), e.g. --seeds 1,2 and
    --column lighting.conditions="golden hour" --column lighting.conditions=overcast."""
    rows = _axes(row, "--row")
    if seeds is not None:
        if rows:
            fail("give --seeds or --row, not both", code=2)
        rows = {"seed": list(_seeds(seeds))}
    columns = _axes(column, "--column")
    if len(rows) != 1 or len(columns) != 1:
        fail(
            "a grid needs one row axis (--row NAME=VALUE or --seeds) and one column axis "
            "(--column NAME=VALUE), each repeated per value",
            code=2,
        )
    total = len(next(iter(rows.values()))) * len(next(iter(columns.values())))
    settings = _Settings(
        backend,
        base_url,
        steps,
        guidance,
        aspect_ratio,
        negative,
        out_dir,
        output_format,
        concurrency,
        timeout,
        save,
        library,
        http_limits(max_image_bytes, request_timeout),
        cell_size,
    )
    checks = _checks(row, "--row") + _checks(column, "--column")
    _execute("grid", prompt, total, settings, checks, rows=rows, columns=columns, seed=seed)


_MAX_PATCH_BYTES = DEFAULT_MAX_BYTES  # a patch is smaller than the prompt it edits


def _read_patch(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            raw = stream.read(_MAX_PATCH_BYTES + 1)
    except OSError as exc:
        fail(f"{path}: cannot read the patch ({exc.strerror})")
    if len(raw) > _MAX_PATCH_BYTES:
        fail(f"{path}: over {_MAX_PATCH_BYTES:,} bytes; not read as a patch")
    return raw


def _is_image(path: str) -> bool:
    try:
        with open(path, "rb") as stream:
            head = stream.read(12)
    except OSError:
        return False
    return head.startswith((b"\x89PNG", b"\xff\xd8\xff")) or head[8:12] == b"WEBP"


def refine(
    source: Annotated[
        str, typer.Argument(help="An image made by fibo-prompts, or a structured prompt file.")
    ],
    instruction: Annotated[
        str | None, typer.Option("--instruction", "-i", help="Bria's refine instruction.")
    ] = None,
    assignments: SetOption = None,
    patch: Annotated[
        Path | None, typer.Option("--patch", help="A JSON Patch or diff file to apply.")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed (default: the image's; drawn for a prompt).")
    ] = None,
    backend: Backend = None,
    base_url: BaseUrl = None,
    output: ImageOutput = None,
    prompt_output: Annotated[
        Path | None, typer.Option("--prompt-output", help="Write the refined prompt here.")
    ] = None,
    output_format: FormatOption = Format.text,
    timeout: JobTimeout = 600,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
) -> None:
    """Refine an image's prompt (or a prompt file) and generate again with the same seed;
    print the prompt diff. --instruction needs a backend with Bria's structured-prompt
    service; --set/--patch work everywhere."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.diff import load_patch, render_text
    from fibo_prompts.provenance import read_provenance

    no_stdout(output)
    # checked here, not by the library, so the message names the flags the user types
    if instruction is None and not assignments and patch is None:
        fail("refine needs --instruction TEXT, or --set PATH=VALUE and/or --patch FILE", code=2)
    if instruction is not None and (assignments or patch is not None):
        fail("give --instruction or --set/--patch, not both", code=2)
    limits = http_limits(max_image_bytes, request_timeout)
    checks = _checks(assignments, "--set")
    edits = {name: value for _, name, value in checks} or None
    with user_errors(), ExitStack() as stack:
        base: Any
        if _is_image(source):
            info = read_provenance(source)
            base = info
            backend = backend or info.backend
            _check_edits(info.prompt(), checks)
        else:
            base = load(source, lenient=False, max_bytes=DEFAULT_MAX_BYTES)
            _check_edits(base, checks)
        patch_data = None
        if patch is not None:
            patch_data = load_patch(_read_patch(patch))
        client = _client(stack, backend, base_url, timeout, limits)
        result = client.refine(
            base, instruction=instruction, edits=edits, patch=patch_data, seed=seed
        )
        generation = result.generation
        target = output or Path(f"fibo-refined-{generation.seed}{generation.image_path.suffix}")
        write_image(generation, target)  # in the format target's extension names
        if prompt_output is not None and result.prompt is not None:
            write_output(result.prompt.wire, file=source, output=prompt_output, in_place=False)
    if output_format is Format.json:
        data = {
            "image": str(target),
            "seed": generation.seed,
            "backend": generation.backend,
            "request_id": generation.request_id,
            "preview": generation.preview,
            "changes": [c.path for c in result.diff.changes],
            "wire": None if result.prompt is None else result.prompt.wire,
        }
        sys.stdout.write(json_text(data) + "\n")
        return
    kind = "PREVIEW (not a FIBO render)" if generation.preview else "image"
    typer.echo(
        f"{kind} written to {target} (backend {generation.backend}, same seed "
        f"{generation.seed}, request {generation.request_id})"
    )
    typer.echo(printable(render_text(result.diff)))


def register(app: typer.Typer) -> None:
    """Add the variation commands to the ``fibo`` app."""
    app.command("sweep")(sweep)
    app.command("vary")(vary)
    app.command("grid")(grid)
    app.command("refine")(refine)


__all__ = ["parse_assignment", "register"]
