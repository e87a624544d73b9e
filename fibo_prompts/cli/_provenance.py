"""``fibo inspect|reproduce``: images that carry their own recipe.

``inspect`` prints what an image's provenance says (everything in it is untrusted, so it is
escaped); ``reproduce`` sends the same request again and compares the result.
"""

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from fibo_prompts.cli._common import (
    Backend,
    BaseUrl,
    Format,
    FormatOption,
    ImageOutput,
    JobTimeout,
    MaxImageBytes,
    RequestTimeout,
    Wire,
    exact_text,
    fail,
    json_text,
    printable,
    user_errors,
)
from fibo_prompts.cli._generate import http_limits, no_stdout
from fibo_prompts.cli._output import write_image

ImageArgument = Annotated[str, typer.Argument(help="An image written by fibo-prompts.")]


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
    image: ImageArgument,
    wire: Wire = False,
    output_format: FormatOption = Format.text,
) -> None:
    """Print an image's provenance: the exact structured prompt sent, seed, parameters,
    backend, request id, timings and library version.

    Everything shown comes from the image, so it is untrusted: control characters are escaped
    in the summary and in JSON; --wire is exact when piped, escaped on a terminal."""
    # imported here, not at the top: fibo --help stays fast
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
    image: ImageArgument,
    backend: Backend = None,
    base_url: BaseUrl = None,
    output: ImageOutput = None,
    output_format: FormatOption = Format.text,
    timeout: JobTimeout = 600,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
) -> None:
    """Generate again from an image's own record: the same wire string, seed and parameters
    (on its backend unless --backend is given)."""
    # imported here, not at the top: fibo --help stays fast
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
        write_image(generation, target)  # in the format target's extension names
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
    """Add ``inspect`` and ``reproduce`` to the ``fibo`` app."""
    app.command("inspect")(inspect)
    app.command("reproduce")(reproduce)


__all__ = ["register"]
