"""``fibo sweep|vary|grid|refine`` (controlled variation) and ``fibo inspect|reproduce``
(images that carry their own recipe).

Everything works offline on the ``preview`` backend. Runs write their images (with
provenance), ``contact_sheet.png`` and ``run.json`` into one folder and print where.
"""

import json
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fibo_prompts.cli._arguments import (
    check_parameter,
    edit,
    json_or_text,
    shown,
)
from fibo_prompts.cli._common import (
    exact_text,
    fail,
    json_text,
    load,
    printable,
    user_errors,
)
from fibo_prompts.cli._generate import (
    PREVIEW_NOTE,
    MaxImageBytes,
    RequestTimeout,
    http_limits,
    no_stdout,
    pick_backend,
    require_key,
)
from fibo_prompts.cli._library import Format, LibraryPath

if TYPE_CHECKING:
    from fibo_prompts.generate import Client, Generation, GenerationRequest
    from fibo_prompts.generate.variation import VariationRun
    from fibo_prompts.library import Library
    from fibo_prompts.prompt import StructuredPrompt

Backend = Annotated[
    str | None,
    typer.Option("--backend", "-b", help="bria, segmind, segmind-v1, inferencesh or preview."),
]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="Override the service URL.")]
Steps = Annotated[int | None, typer.Option(help="Diffusion steps.")]
Guidance = Annotated[float | None, typer.Option(help="Guidance scale.")]
AspectRatio = Annotated[str | None, typer.Option("--aspect-ratio", help="For example 16:9.")]
Negative = Annotated[str | None, typer.Option("--negative", help="Negative prompt.")]
OutDir = Annotated[
    Path | None,
    typer.Option("--out-dir", "-o", help="Folder for the images, contact sheet and run.json."),
]
OutputFormat = Annotated[
    Format, typer.Option("--format", help="text for people, json for scripts.")
]
Concurrency = Annotated[int, typer.Option(min=1, help="Generations in flight at once.")]
#: generate.contact_sheet.DEFAULT_CELL_SIZE, not imported here: importing the generate
#: package takes a quarter second, and `fibo --help` must stay instant (a test keeps them equal)
SHEET_CELL_SIZE = 256
CellSize = Annotated[
    int,
    typer.Option(
        "--cell-size",
        min=64,
        max=1024,
        help="The contact sheet's thumbnails: their longest side in pixels (64 to 1024).",
    ),
]
Timeout = Annotated[float, typer.Option(help="Give up waiting for a job after this many seconds.")]
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
    if not edited.lenient:
        return
    from fibo_prompts.prompt import unknown_key_issues

    before = {issue.path for issue in unknown_key_issues(prompt.to_dict())}
    for issue in unknown_key_issues(edited.to_dict()):
        if issue.path not in before:
            fail(f"{label}: {issue.path}: {issue.message}")


def _seeds(text: str) -> list[int]:
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
    from fibo_prompts.generate import Client, PollPolicy

    name, fallback = pick_backend(backend)
    if fallback:
        typer.echo(f"note: {PREVIEW_NOTE}", err=True)
    poll = PollPolicy(timeout=timeout)
    require_key(name)
    return stack.enter_context(Client(name, base_url=base_url, poll=poll, **limits))


def _library(stack: ExitStack, path: Path | None, save: str | None) -> "Library | None":
    if save is None:
        return None
    from fibo_prompts.library import Library

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
    from fibo_prompts.generate import GenerationRequest

    return GenerationRequest(
        prompt=load(prompt, lenient=False, max_bytes=1_000_000),
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
    cell_size: int = SHEET_CELL_SIZE


def _execute(
    kind: str,
    prompt: str,
    total: int,
    settings: _Settings,
    checks: list[Check] | None = None,
    **axes: Any,
) -> None:
    """Load the prompt, run ``client.<kind>(...)`` with a progress bar, report the run."""
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
        if run.contact_sheet is not None and settings.cell_size != SHEET_CELL_SIZE:
            from fibo_prompts._files import write_file

            # the library writes the sheet at its default size; drawn again at the asked one
            sheet = run.contact_sheet_png(thumb=settings.cell_size)
            write_file(run.contact_sheet, sheet, what="contact sheet")
    _report(run, settings.output_format)


def sweep(
    prompt: Annotated[str, typer.Argument(help="A structured prompt file, or - for stdin.")],
    seeds: Annotated[str | None, typer.Option(help="Comma-separated seeds: 1,2,3.")] = None,
    count: Annotated[int | None, typer.Option(min=1, help="Draw this many seeds.")] = None,
    backend: Backend = None,
    base_url: BaseUrl = None,
    steps: Steps = None,
    guidance: Guidance = None,
    aspect_ratio: AspectRatio = None,
    negative: Negative = None,
    out_dir: OutDir = None,
    output_format: OutputFormat = Format.text,
    concurrency: Concurrency = 8,
    timeout: Timeout = 600,
    save: Save = None,
    library: LibraryPath = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
    cell_size: CellSize = SHEET_CELL_SIZE,
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
    prompt: Annotated[str, typer.Argument(help="A structured prompt file, or - for stdin.")],
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
    output_format: OutputFormat = Format.text,
    concurrency: Concurrency = 8,
    timeout: Timeout = 600,
    save: Save = None,
    library: LibraryPath = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
    cell_size: CellSize = SHEET_CELL_SIZE,
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
    prompt: Annotated[str, typer.Argument(help="A structured prompt file, or - for stdin.")],
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
    output_format: OutputFormat = Format.text,
    concurrency: Concurrency = 8,
    timeout: Timeout = 600,
    save: Save = None,
    library: LibraryPath = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
    cell_size: CellSize = SHEET_CELL_SIZE,
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


_MAX_PATCH_BYTES = 1_000_000  # a patch is smaller than the prompt it edits


def _read_patch(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            raw = stream.read(_MAX_PATCH_BYTES + 1)
    except OSError as exc:
        fail(f"{path}: cannot read the patch ({exc.strerror})")
    if len(raw) > _MAX_PATCH_BYTES:
        fail(f"{path}: over {_MAX_PATCH_BYTES:,} bytes; not read as a patch")
    return raw


def _copy_image(generation: "Generation", target: Path) -> None:
    from fibo_prompts.cli._output import write_image

    write_image(generation, target)  # in the format target's extension names


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
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The new image.")] = None,
    prompt_output: Annotated[
        Path | None, typer.Option("--prompt-output", help="Write the refined prompt here.")
    ] = None,
    output_format: OutputFormat = Format.text,
    timeout: Timeout = 600,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
) -> None:
    """Refine an image's prompt (or a prompt file) and generate again with the same seed;
    print the prompt diff. --instruction needs a backend with Bria's structured-prompt
    service; --set/--patch work everywhere."""
    from fibo_prompts.diff import render_text
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
            base = load(source, lenient=False, max_bytes=1_000_000)
            _check_edits(base, checks)
        patch_data = None
        if patch is not None:
            from fibo_prompts.diff import load_patch

            patch_data = load_patch(_read_patch(patch))
        client = _client(stack, backend, base_url, timeout, limits)
        result = client.refine(
            base, instruction=instruction, edits=edits, patch=patch_data, seed=seed
        )
        generation = result.generation
        target = output or Path(f"fibo-refined-{generation.seed}{generation.image_path.suffix}")
        _copy_image(generation, target)
        if prompt_output is not None and result.prompt is not None:
            from fibo_prompts.cli._common import write_output

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


def _inspect_sheet(image: str, sheet: dict[str, Any], *, wire: bool, output_format: Format) -> None:
    """Print a contact sheet's run manifest: a line for the run, then one per cell (its image
    file, label and seed). The manifest comes from the image: untrusted, so escaped."""
    if wire:
        fail(f"{image}: a contact sheet has no structured prompt; inspect one of its images")
    if output_format is Format.json:
        sys.stdout.write(json_text({"fibo:contact_sheet": sheet}) + "\n")
        return
    raw_cells = sheet.get("cells")
    cells = [c for c in raw_cells if isinstance(c, dict)] if isinstance(raw_cells, list) else []
    preview = " (PREVIEW images)" if sheet.get("preview") is True else ""
    lines = [
        f"a contact sheet of a {sheet.get('kind')} run on {sheet.get('backend')}{preview}, "
        f"{len(cells)} cell{'s' if len(cells) != 1 else ''}"
    ]
    for cell in cells:
        line = f"  {cell.get('image') or 'FAILED'}  {cell.get('label')}"
        values = cell.get("values")
        if not (isinstance(values, dict) and "seed" in values):  # else the label says it
            line += f"  seed {cell.get('seed')}"
        if cell.get("error"):
            line += f"  error: {cell['error']}"
        lines.append(line)
    for line in lines:
        typer.echo(printable(line).replace("\n", "\\n"))


def inspect(
    image: Annotated[str, typer.Argument(help="An image written by fibo-prompts.")],
    wire: Annotated[
        bool, typer.Option("--wire", help="Print only the exact wire string, byte for byte.")
    ] = False,
    output_format: OutputFormat = Format.text,
) -> None:
    """Print an image's provenance: the exact structured prompt sent, seed, parameters,
    backend, request id, timings and library version.

    Everything shown comes from the image, so it is untrusted: control characters are escaped
    in the summary and in JSON; --wire is exact when piped, escaped on a terminal."""
    from fibo_prompts.errors import ProvenanceMissingError
    from fibo_prompts.provenance import (
        read_contact_sheet,
        read_image,
        read_provenance,
        received_sha256,
    )

    with user_errors():
        try:
            info = read_provenance(image)
        except ProvenanceMissingError:
            # a run's contact sheet has no generation of its own, but says what it shows
            sheet = read_contact_sheet(image)
            if sheet is None:
                raise
            _inspect_sheet(image, sheet, wire=wire, output_format=output_format)
            return
        content = read_image(image) if info.source != "sidecar" else None
    if wire:
        if info.wire is None:
            fail(f"{image}: a text-only generation; it has no structured prompt")
        sys.stdout.write(exact_text(info.wire))
        return
    intact = None
    if content is not None:
        intact = received_sha256(content) == info.record.get("received_sha256")
    if output_format is Format.json:
        data = info.to_json()
        data["image_intact"] = intact
        sys.stdout.write(json_text(data) + "\n")
        return
    record = info.record
    rows: list[tuple[str, Any]] = [
        ("image", f"{image}{'  (layout PREVIEW, not a FIBO render)' if info.preview else ''}"),
        (
            "stored in",
            {
                "png": "PNG iTXt chunks",
                "exif": "EXIF UserComment",
                "sidecar": f"sidecar {image}.json",
            }[info.source],
        ),
        ("backend", f"{record.get('backend')} (model {record.get('model')})"),
        ("request", record.get("request_id")),
        ("seed", record.get("seed")),
    ]
    for key in ("steps", "guidance", "aspect_ratio", "negative_prompt", "text"):
        if record.get(key) is not None:
            rows.append((key.replace("_", " "), record[key]))
    for key, value in (record.get("parameters") or {}).items():
        rows.append(
            (key.replace("_", " "), json.dumps(value) if not isinstance(value, str) else value)
        )
    rows.append(
        ("size", f"{record.get('width')}x{record.get('height')} {record.get('media_type')}")
    )
    timings = {k: v for k, v in (record.get("timings") or {}).items() if v is not None}
    if timings:
        rows.append(("timings", ", ".join(f"{k[:-2]} {v:.2f}s" for k, v in timings.items())))
    if record.get("cost") is not None:
        rows.append(("cost", record["cost"]))
    if record.get("created_at"):
        rows.append(("created", record["created_at"]))
    if record.get("prompt"):
        rows.append(("content", record["prompt"].get("content_hash")))
    if info.library:
        rows.append(("library", f"{info.library.get('name')} {info.library.get('version')}"))
    converted = record.get("converted_from")
    if intact is not None and not intact and isinstance(converted, str):
        # written in another format for its file name: received_sha256 is of the original
        rows.append(
            (
                "pixels",
                f"converted from {converted} for the file name "
                "(received_sha256 is of the service's bytes)",
            )
        )
    elif intact is not None:
        rows.append(
            (
                "pixels",
                "as the service sent them"
                if intact
                else "CHANGED since generation (received_sha256 does not match)",
            )
        )
    rows.append(("format", f"fibo:generation v{info.format} ({record.get('tool')})"))
    for key, value in rows:
        # a parameter's name comes from the image too; a value's newlines would fake rows
        line = f"{key + ':':<11} {value}"
        typer.echo(printable(line).replace("\n", "\\n"))
    if info.wire is not None:
        typer.echo("")
        shown = printable(info.wire)
        sys.stdout.write(shown if shown.endswith("\n") else shown + "\n")


def reproduce(
    image: Annotated[str, typer.Argument(help="An image written by fibo-prompts.")],
    backend: Backend = None,
    base_url: BaseUrl = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="The new image.")] = None,
    output_format: OutputFormat = Format.text,
    timeout: Timeout = 600,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
) -> None:
    """Generate again from an image's own record: the same wire string, seed and parameters
    (on its backend unless --backend is given)."""
    from fibo_prompts.generate import Client, PollPolicy
    from fibo_prompts.provenance import read_provenance

    no_stdout(output)
    limits = http_limits(max_image_bytes, request_timeout)
    with user_errors():
        info = read_provenance(image)
        request = info.to_request()
        name = backend or info.backend
        poll = PollPolicy(timeout=timeout)
        with Client(name, base_url=base_url, poll=poll, **limits) as client:
            generation = client.generate(request)
        target = output or Path(f"fibo-reproduced-{generation.seed}{generation.image_path.suffix}")
        _copy_image(generation, target)
    same = generation.record.get("received_sha256") == info.record.get("received_sha256")
    if output_format is Format.json:
        data = {
            "image": str(target),
            "backend": generation.backend,
            "seed": generation.seed,
            "request_id": generation.request_id,
            "wire_identical": generation.wire == info.wire,
            "pixels_identical": same,
        }
        sys.stdout.write(json_text(data) + "\n")
        return
    kind = "PREVIEW (not a FIBO render)" if generation.preview else "image"
    typer.echo(
        f"{kind} written to {target} (backend {generation.backend}, seed {generation.seed}, "
        f"request {generation.request_id}); same wire string: "
        f"{'yes' if generation.wire == info.wire else 'NO'}; identical image: "
        f"{'yes' if same else 'no'}"
    )


def register(app: typer.Typer) -> None:
    """Add the variation and provenance commands to the ``fibo`` app."""
    app.command("sweep")(sweep)
    app.command("vary")(vary)
    app.command("grid")(grid)
    app.command("refine")(refine)
    app.command("inspect")(inspect)
    app.command("reproduce")(reproduce)


__all__ = ["parse_assignment", "register"]
