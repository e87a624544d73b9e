"""``fibo edit`` (FIBO-Edit: an image changed by an instruction) and ``fibo describe`` (an
image turned into a structured prompt).

Nothing heavy is imported at module level (pydantic, httpx, rich, PIL load inside the
commands), so ``fibo --help`` stays fast.
"""

import base64
import sys
from pathlib import Path
from typing import Annotated

import typer

from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.cli._common import (
    BaseUrl,
    ExpectedDuration,
    Format,
    FormatOption,
    Guidance,
    MaxImageBytes,
    Negative,
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
    REFERENCE_IMAGE_MAX_BYTES,
    http_limits,
    no_stdout,
    require_key,
)
from fibo_prompts.cli._output import write_image

ImageArgument = Annotated[
    str,
    typer.Argument(
        metavar="IMAGE",
        help="The image: a URL, or a PNG/JPEG/WebP file (sent base64-encoded, at most 10 MiB).",
    ),
]
Seed = Annotated[int | None, typer.Option(help="Seed (drawn and reported if omitted).")]
Timeout = Annotated[float, typer.Option(help="Give up waiting after this many seconds.")]


def image_input(value: str) -> str:
    """An IMAGE argument as the request carries it: a URL as given; a file read (at most
    :data:`REFERENCE_IMAGE_MAX_BYTES`), checked to be an image within the pixel cap
    (:func:`fibo_prompts._images.open_image`) and base64-encoded. Exit 1 otherwise."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._images import open_image
    from fibo_prompts.errors import ImageError

    if value.startswith(("http://", "https://")):
        return value
    shown = printable(value)
    try:
        with open(value, "rb") as file:
            data = file.read(REFERENCE_IMAGE_MAX_BYTES + 1)
    except FileNotFoundError:
        fail(f"{shown}: no such file (give an image file or a URL)")
    except IsADirectoryError:
        fail(f"{shown}: is a folder, not an image file")
    except OSError as exc:
        fail(f"{shown}: cannot read ({exc.strerror})")
    if len(data) > REFERENCE_IMAGE_MAX_BYTES:
        fail(f"{shown}: over {REFERENCE_IMAGE_MAX_BYTES:,} bytes; give a smaller image or a URL")
    try:
        with open_image(data, what="the image", path=value, prefix=f"{value}: ") as image:
            image.verify()
    except ImageError as exc:
        fail(str(exc))
    except Exception:  # noqa: BLE001 - Pillow raises many types for a file it cannot read
        fail(f"{shown}: not an image Pillow can read (PNG, JPEG or WebP)")
    return base64.b64encode(data).decode("ascii")


#: ``fibo edit --backend``: a hosted backend's name → its edit route's registry name
EDIT_BACKENDS = {
    "diffusers": "diffusers-edit",
    "diffusers-edit": "diffusers-edit",
    "bria": "bria-edit",
    "bria-edit": "bria-edit",
    "fal": "fal-edit",
    "fal-edit": "fal-edit",
}


def _describes(name: str) -> None:
    """Exit 2 unless backend ``name`` declares the ``describe`` capability (an unknown name
    is left to the client, whose message lists the backends)."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import BackendNotFoundError
    from fibo_prompts.generate import backends

    def declared(backend: str) -> frozenset[str]:
        factory = backends.get(backend)
        while hasattr(factory, "func"):  # a functools.partial of the backend class
            factory = factory.func
        return frozenset(getattr(factory, "capabilities", ()))

    try:
        if "describe" in declared(name):
            return
    except BackendNotFoundError:
        return
    able = [n for n in backends.available() if "describe" in declared(n)]
    fail(f"--backend {printable(name)} cannot describe images; use one of: {', '.join(able)}", 2)


def edit(
    image: ImageArgument,
    instruction: Annotated[
        str | None,
        typer.Option("--instruction", "-i", help="What to change, in words."),
    ] = None,
    structured: Annotated[
        str | None,
        typer.Option(
            "--structured-instruction",
            metavar="FILE",
            help="A structured instruction (a structured prompt with edit_instruction), sent "
            "as its exact string, instead of --instruction.",
        ),
    ] = None,
    backend: Annotated[
        str, typer.Option("--backend", "-b", help="bria-edit, fal-edit or diffusers-edit.")
    ] = "bria-edit",
    seed: Seed = None,
    steps: Steps = None,
    guidance: Guidance = None,
    negative: Negative = None,
    base_url: BaseUrl = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Where to write the edited image."),
    ] = None,
    timeout: Timeout = 600,
    expected: ExpectedDuration = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
    output_format: FormatOption = Format.text,
) -> None:
    """Edit an image with an instruction (FIBO-Edit); the result carries its provenance."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate import Client, GenerationRequest, PollPolicy

    no_stdout(output)
    if (instruction is None) == (structured is None):
        fail("give --instruction TEXT or --structured-instruction FILE (one of them)", code=2)
    if instruction is not None and not instruction.strip():
        fail("--instruction is empty: say what to change", code=2)
    limits = http_limits(max_image_bytes, request_timeout)
    if backend not in EDIT_BACKENDS:
        fail(
            f"--backend {printable(backend)} cannot edit images; use bria-edit, fal-edit or "
            "diffusers-edit",
            2,
        )
    backend = EDIT_BACKENDS[backend]
    with user_errors():
        prompt = None
        if structured is not None:
            prompt = load(structured, lenient=False, max_bytes=DEFAULT_MAX_BYTES)
        request = GenerationRequest(
            prompt=prompt,
            text=instruction,
            images=(image_input(image),),
            seed=seed,
            steps=steps,
            guidance=guidance,
            negative_prompt=negative,
        )
        require_key(backend)
        poll = PollPolicy(timeout=timeout, expected_duration=expected)
        with Client(backend, base_url=base_url, poll=poll, **limits) as client:
            generation = client.generate(request)
        for warning in generation.warnings:  # the service's text: escaped, one line each
            line = printable(warning).replace("\n", "\\n")
            typer.echo(f"warning: {line}", err=True)
        target = output or Path(f"fibo-edit-{generation.seed}{generation.image_path.suffix}")
        write_image(generation, target)
    if output_format is Format.json:
        data = {
            "image": str(target),
            "seed": generation.seed,
            "backend": generation.backend,
            "request_id": generation.request_id,
        }
        sys.stdout.write(json_text(data) + "\n")
        return
    typer.echo(
        f"edited image written to {target} (backend {generation.backend}, seed "
        f"{generation.seed}, request {generation.request_id})"
    )


def describe(
    image: ImageArgument,
    text: Annotated[
        str | None,
        typer.Option("--text", help="Words to guide the description (optional)."),
    ] = None,
    backend: Annotated[str, typer.Option("--backend", "-b", help="bria.")] = "bria",
    seed: Seed = None,
    base_url: BaseUrl = None,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the structured prompt here (default: stdout)."),
    ] = None,
    timeout: Timeout = 600,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
) -> None:
    """Describe an image as a structured prompt, written as the service's exact string."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate import Client, PollPolicy

    limits = http_limits(max_image_bytes, request_timeout)
    _describes(backend)
    with user_errors():
        sent = image_input(image)
        require_key(backend)
        poll = PollPolicy(timeout=timeout)
        with Client(backend, base_url=base_url, poll=poll, **limits) as client:
            prompt = client.structured_prompt(images=[sent], text=text, seed=seed)
        write_output(prompt.wire, file="", output=output, in_place=False)
    if output is not None and str(output) != "-":
        typer.echo(f"structured prompt written to {output}", err=True)


def register(app: typer.Typer) -> None:
    """Add ``edit`` and ``describe`` to the ``fibo`` app."""
    app.command("edit")(edit)
    app.command("describe")(describe)


__all__ = ["image_input", "register"]
