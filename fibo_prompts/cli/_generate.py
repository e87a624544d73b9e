"""``fibo generate``, ``fibo jobs list|resume|cancel`` and ``fibo emulator``.

Nothing heavy is imported at module level (pydantic, httpx, rich, PIL load inside the
commands), so ``fibo --help`` stays fast.
"""

import base64
import math
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from fibo_prompts._limits import DEFAULT_MAX_BYTES
from fibo_prompts.cli._common import (
    Backend,
    BaseUrl,
    ExpectedDuration,
    Format,
    FormatOption,
    Guidance,
    Journal,
    LibraryPath,
    MaxImageBytes,
    Negative,
    PromptArgument,
    RequestTimeout,
    Steps,
    command_group,
    fail,
    json_text,
    load,
    printable,
    user_errors,
)
from fibo_prompts.cli._output import write_image

if TYPE_CHECKING:
    from rich.console import Console

    from fibo_prompts.generate import Client, Generation, GenerationRequest, Job
    from fibo_prompts.library import Library
    from fibo_prompts.prompt import StructuredPrompt

#: Hosted backends in the order ``fibo generate`` tries them, with their key variables.
KEYED_BACKENDS = (
    ("bria", ("BRIA_API_TOKEN", "BRIA_API_KEY")),
    ("segmind", ("SEGMIND_API_KEY",)),
    ("inferencesh", ("INFERENCE_API_KEY", "INFERENCESH_API_KEY")),
)
PREVIEW_NOTE = (
    "no API key configured (BRIA_API_TOKEN, SEGMIND_API_KEY or INFERENCE_API_KEY): using the "
    "preview backend; the image is a layout PREVIEW, not a FIBO render"
)

jobs_app = command_group("jobs", "The job journal: list jobs, finish or cancel unfinished ones.")


def no_stdout(path: Path | None, option: str = "--output") -> None:
    """Refuse ``-`` (stdout) as where an image goes, exit 2: the commands print their
    summary on stdout, and a JPEG's provenance sidecar could not follow it there."""
    if path is not None and str(path) == "-":
        if option == "--out-dir":
            fail(
                "--out-dir -: a run's images are written to a folder, not to stdout; give a "
                "folder name",
                code=2,
            )
        fail(f"{option} -: images are not written to stdout; give a file name", code=2)


def http_limits(max_image_bytes: int | None, request_timeout: float | None) -> dict[str, Any]:
    """The client keyword arguments of ``--max-image-bytes`` and ``--request-timeout``
    (only those given: the client keeps its own defaults); a bad value exits 2."""
    limits: dict[str, Any] = {}
    if max_image_bytes is not None:
        if max_image_bytes < 1:
            fail(
                f"--max-image-bytes must be a positive number of bytes, got {max_image_bytes}",
                code=2,
            )
        limits["max_image_bytes"] = max_image_bytes
    if request_timeout is not None:
        # inf is refused too: "no cap" is for the API (request_timeout=None), not a typo away
        if not (request_timeout > 0 and math.isfinite(request_timeout)):
            fail(
                f"--request-timeout must be a positive number of seconds, got {request_timeout:g}",
                code=2,
            )
        limits["request_timeout"] = request_timeout
    return limits


def pick_backend(explicit: str | None) -> tuple[str, bool]:
    """The backend to use and whether it was chosen because no key is configured."""
    if explicit:
        return explicit, False
    chosen = os.environ.get("FIBO_PROMPTS_BACKEND")
    if chosen:
        return chosen, False
    for name, envs in KEYED_BACKENDS:
        if any(os.environ.get(v) for v in envs):
            return name, False
    return "preview", True


def require_key(name: str) -> None:
    """Fail before the client is made when backend ``name`` needs a key the environment
    lacks, naming the variable to set (the library's message names its ``api_key=``
    parameter, which the command line does not have). An unknown name is left to the client,
    whose message lists the backends."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import BackendNotFoundError
    from fibo_prompts.generate import backends

    try:
        key_env: tuple[str, ...] = getattr(backends.get(name), "key_env", ())
    except BackendNotFoundError:
        return
    if key_env and not any(os.environ.get(v) for v in key_env):
        fail(f"{name}: no API key: set {key_env[0]} (or use --backend preview)")


def generate(
    prompt: PromptArgument,
    backend: Backend = None,
    seed: Annotated[int | None, typer.Option(help="Seed (drawn and reported if omitted).")] = None,
    steps: Steps = None,
    guidance: Guidance = None,
    aspect_ratio: Annotated[
        str | None, typer.Option("--aspect-ratio", help="For example 1:1 or 16:9.")
    ] = None,
    negative: Negative = None,
    text: Annotated[str | None, typer.Option("--text", help="A text prompt to add.")] = None,
    base_url: BaseUrl = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Where to write the image.")
    ] = None,
    timeout: Annotated[float, typer.Option(help="Give up waiting after this many seconds.")] = 600,
    expected: ExpectedDuration = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
    ip_signal: Annotated[
        bool, typer.Option("--ip-signal", help="Ask Bria to warn of possible IP content.")
    ] = False,
    save: Annotated[
        str | None,
        typer.Option(
            "--save",
            metavar="NAME",
            help="Record the generation in the library under this prompt name (or a version "
            "such as NAME@production, whose prompt must be this one).",
        ),
    ] = None,
    library: LibraryPath = None,
    output_format: FormatOption = Format.text,
    images: Annotated[
        list[str] | None,
        typer.Option(
            "--image",
            metavar="URL|FILE",
            help="A reference image: a URL, or a file sent base64-encoded (at most 10 MiB); "
            "repeatable.",
        ),
    ] = None,
    prompt_moderation: Annotated[
        bool | None,
        typer.Option(
            "--prompt-moderation/--no-prompt-moderation",
            help="Ask the service to moderate the prompt (default: the service's).",
        ),
    ] = None,
    input_moderation: Annotated[
        bool | None,
        typer.Option(
            "--visual-input-moderation/--no-visual-input-moderation",
            help="Ask the service to moderate reference images (default: the service's).",
        ),
    ] = None,
    output_moderation: Annotated[
        bool | None,
        typer.Option(
            "--visual-output-moderation/--no-visual-output-moderation",
            help="Ask the service to moderate the result (default: the service's).",
        ),
    ] = None,
    webhook_url: Annotated[
        str | None,
        typer.Option("--webhook-url", metavar="URL", help="Passed to the service where supported."),
    ] = None,
    sync: Annotated[
        bool, typer.Option("--sync", help="Bria only: wait in the submit instead of polling.")
    ] = False,
    num_results: Annotated[
        int,
        typer.Option(
            "--num-results",
            "-n",
            help="Images to make, 1-4, each its own job and seed (--seed S: S, S+1, ...); "
            "-o out.png writes out.png, out-2.png, ...",
        ),
    ] = 1,
    resolution: Annotated[
        str | None,
        typer.Option("--resolution", metavar="1MP|4MP", help="Bria only: the image size."),
    ] = None,
    allow_unreleased: Annotated[
        bool,
        typer.Option(
            "--allow-unreleased",
            help="Bria only: use a route Bria announces as coming soon (--backend bria-lite).",
        ),
    ] = False,
) -> None:
    """Generate an image from a structured prompt, with a progress display.

    With no API key configured, the local preview backend is used, and says so.
    """
    # imported here, not at the top: fibo --help stays fast
    from rich.console import Console

    from fibo_prompts.errors import FiboPromptsError
    from fibo_prompts.generate import Client, GenerationRequest, PollPolicy

    no_stdout(output)
    limits = http_limits(max_image_bytes, request_timeout)
    name, fallback = pick_backend(backend)
    if sync and name != "bria":
        fail("--sync is Bria's blocking mode: use it with --backend bria", code=2)
    if not 1 <= num_results <= 4:
        fail(f"--num-results must be 1 to 4, got {num_results}", code=2)
    options: dict[str, Any] = {"sync": True} if sync else {}
    if resolution is not None:
        if resolution not in ("1MP", "4MP"):
            fail(f"--resolution must be 1MP or 4MP, got {printable(resolution)}", code=2)
        if name not in ("bria", "bria-lite"):
            fail("--resolution is Bria's: use it with --backend bria", code=2)
        options["resolution"] = resolution
    if allow_unreleased:
        if not name.startswith("bria"):
            fail("--allow-unreleased is for Bria's announced routes (--backend bria-lite)", 2)
        options["allow_unreleased"] = True
    err = Console(stderr=True, highlight=False)
    saved: str | None = None
    with user_errors(), ExitStack() as stack:
        structured = load(prompt, lenient=False, max_bytes=DEFAULT_MAX_BYTES) if prompt else None
        lib = _library_target(stack, save, library, structured)
        request = GenerationRequest(
            prompt=structured,
            text=text,
            seed=seed,
            steps=steps,
            guidance=guidance,
            aspect_ratio=aspect_ratio,
            negative_prompt=negative,
            ip_signal=True if ip_signal else None,
            images=tuple(_reference(image) for image in images or ()),
            prompt_content_moderation=prompt_moderation,
            visual_input_content_moderation=input_moderation,
            visual_output_content_moderation=output_moderation,
            webhook_url=webhook_url,
        )
        poll = PollPolicy(timeout=timeout, expected_duration=expected)
        require_key(name)
        written: list[dict[str, Any]] = []
        with Client(
            name, base_url=base_url, poll=poll, backend_options=options or None, **limits
        ) as client:
            if lib is not None and save is not None:
                client.check_recordable(request, lib, save)  # e.g. fal re-serialises the wire
            # one job per result, each with its own seed; each image is written as soon as
            # it is made, so a later failure does not lose those already paid for
            for index in range(num_results):
                one = request if seed is None else request.replace(seed=seed + index)
                generation = _run(client, one, err)
                target = _numbered(output, index) or Path(
                    f"fibo-{generation.seed}{generation.image_path.suffix}"
                )
                saved = None
                if lib is not None and save is not None:  # a library is opened for --save only
                    try:
                        # the image is rewritten with its library reference, then recorded
                        generation = client.record_in_library(generation, lib, save)
                        entry = lib.generations(save, limit=1)[0]
                    except FiboPromptsError as exc:
                        # the image is paid for: it reaches -o whatever happened to the library
                        write_image(generation, target)
                        fail(f"{exc}; the image was written to {target} without its library record")
                    saved = f"{entry.name}@{entry.number}"
                # once the input passed every check: a bad file or value is the news, not
                # the key
                if fallback and index == 0:
                    typer.echo(f"note: {PREVIEW_NOTE}", err=True)
                for warning in generation.warnings:  # the service's text: escaped, one line
                    line = printable(warning).replace("\n", "\\n")
                    typer.echo(f"warning: {line}", err=True)
                write_image(generation, target)  # in the format target's extension names
                written.append(_summary(generation, target, saved))
                if output_format is not Format.json:
                    _say(generation, target, saved)
    if output_format is Format.json:
        # one object for one image (as before --num-results), a list for several
        sys.stdout.write(json_text(written[0] if num_results == 1 else written) + "\n")


def _numbered(output: Path | None, index: int) -> Path | None:
    """``-o out.png`` for the first result, ``out-2.png``, ``out-3.png``... for the others."""
    if output is None or index == 0:
        return output
    return output.with_name(f"{output.stem}-{index + 1}{output.suffix}")


def _summary(generation: "Generation", target: Path, saved: str | None) -> dict[str, Any]:
    """One result of ``fibo generate --format json``."""
    return {
        "image": str(target),
        "seed": generation.seed,
        "backend": generation.backend,
        "request_id": generation.request_id,
        "preview": generation.preview,
        "warnings": list(generation.warnings),
        "library": saved,
    }


def _say(generation: "Generation", target: Path, saved: str | None) -> None:
    """One result of ``fibo generate`` for people."""
    kind = "PREVIEW (not a FIBO render)" if generation.preview else "image"
    typer.echo(
        f"{kind} written to {target} (backend {generation.backend}, seed {generation.seed}, "
        f"request {generation.request_id})"
    )
    if saved is not None:
        typer.echo(f"saved in the library as {printable(saved)}")


#: the largest reference image file ``--image`` sends (base64 makes it a third larger)
REFERENCE_IMAGE_MAX_BYTES = 10 * 1024 * 1024


def _reference(image: str) -> str:
    """An ``--image`` value as the request carries it: a URL as given, a file base64-encoded."""
    if image.startswith(("http://", "https://")):
        return image
    try:
        with open(image, "rb") as file:
            data = file.read(REFERENCE_IMAGE_MAX_BYTES + 1)
    except FileNotFoundError:
        fail(f"--image {printable(image)}: no such file (give a file or a URL)")
    except OSError as exc:
        fail(f"--image {printable(image)}: cannot read ({exc.strerror})")
    if len(data) > REFERENCE_IMAGE_MAX_BYTES:
        fail(f"--image {printable(image)}: over {REFERENCE_IMAGE_MAX_BYTES:,} bytes")
    return base64.b64encode(data).decode("ascii")


def _library_target(
    stack: ExitStack, save: str | None, path: Path | None, prompt: "StructuredPrompt | None"
) -> "Library | None":
    """The library ``--save`` records in, opened, once the name is known to be usable: a
    bad name is refused before anything is paid for."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.library import Library, check_prompt_name, is_plain_name

    if save is None:
        return None
    if prompt is None:
        fail("--save needs a structured prompt file", code=2)
    if is_plain_name(save):
        check_prompt_name(save)
    # a version reference is checked against the wire the backend sends, once the client
    # is built (Client.check_recordable)
    return stack.enter_context(Library(path))


def _run(client: "Client", request: "GenerationRequest", err: "Console") -> "Generation":
    # imported here, not at the top: fibo --help stays fast
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    # no live display off a terminal: it would leave a blank line before an error
    with Progress(*columns, console=err, transient=True, disable=not err.is_terminal) as progress:
        task = progress.add_task(f"submitting to {client.backend.name}", total=None)

        def show(job: "Job") -> None:
            done = job.state.terminal
            waiting = f"waiting for request {job.request_id}"
            progress.update(task, description="downloading the image" if done else waiting)

        return client.generate(request, on_progress=show)


@jobs_app.command("list")
def jobs_list(
    unfinished: Annotated[
        bool, typer.Option("--unfinished", help="Only jobs with work left.")
    ] = False,
    journal: Journal = None,
) -> None:
    """List the jobs in the journal: backend, request id, state, image."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate import JobJournal

    with user_errors(), JobJournal(journal) as store:
        entries = store.entries(unfinished=unfinished)
    if not entries:
        typer.echo("no jobs")
        return
    for e in entries:
        # a submit that may or may not have been billed: no id to poll, check the service
        state = "outcome-unknown" if e.outcome_unknown else e.job.state.value
        typer.echo(f"{e.job.backend}\t{e.job.request_id}\t{state}\t{e.image_path or '-'}")


def _base_url_env(name: str) -> str:
    """The environment variable of a backend's base URL (``""`` if it has none)."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate import backends

    factory = backends.get(name)
    return str(getattr(getattr(factory, "func", factory), "base_url_env", ""))


def _where_to_resume(name: str, stored: str, override: str | None) -> str | None:
    """The base URL to finish a job at: ``--base-url``; else the journal's own; else, when
    the journal redacted its credentials, the environment's base URL if it is the same one
    with them. ``None``: the credentials are nowhere to be had."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts._redact import redact, was_redacted

    if override:
        return override
    if not was_redacted(stored):
        return stored
    variable = _base_url_env(name)
    configured = os.environ.get(variable) if variable else None
    if configured and redact(configured.rstrip("/")) == stored:
        return configured
    return None


def _no_credentials(name: str, stored: str, count: int, verb: str = "resume") -> str:
    variable = _base_url_env(name) or "the backend's base URL variable"
    jobs = f"{count} job{'s' if count != 1 else ''}"
    return (
        f"{name}: cannot {verb} {jobs} sent to {stored}: the journal keeps no credentials; "
        f"pass them with --base-url (or set {variable})"
    )


@jobs_app.command("resume")
def jobs_resume(
    journal: Journal = None,
    timeout: Annotated[float, typer.Option(help="Deadline per job, seconds.")] = 600,
    expected: ExpectedDuration = None,
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="Only this backend's jobs.")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url",
            help="Poll the jobs at this service URL instead of the one they were sent to "
            "(the journal keeps URLs without their credentials: give them here).",
        ),
    ] = None,
    max_image_bytes: MaxImageBytes = None,
    request_timeout: RequestTimeout = None,
) -> None:
    """Finish every unfinished job where it was sent (keys from the environment). Exit 1 if
    any failed."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.errors import FiboPromptsError
    from fibo_prompts.generate import Client, Generation, JobJournal, PollPolicy

    limits = http_limits(max_image_bytes, request_timeout)
    failed = 0
    with user_errors(), JobJournal(journal) as store:
        entries = store.entries(backend=backend, unfinished=True)
        groups: dict[tuple[str, str], int] = {}
        for entry in entries:
            key = (entry.job.backend, entry.base_url)
            groups[key] = groups.get(key, 0) + 1
        if not groups:
            typer.echo("nothing to resume")
            return
        names = sorted({name for name, _ in groups})
        if base_url and len(names) > 1:
            fail(
                f"--base-url is one service's URL, and the journal has unfinished jobs of "
                f"{', '.join(names)}: say whose with --backend",
                code=2,
            )
        for (name, stored), count in sorted(groups.items()):
            where = _where_to_resume(name, stored, base_url)
            if where is None:
                typer.echo(f"error: {_no_credentials(name, stored, count)}", err=True)
                failed += count
                continue
            try:
                poll = PollPolicy(timeout=timeout, expected_duration=expected)
                client = Client(name, base_url=where, journal=store, poll=poll, **limits)
            except FiboPromptsError as exc:
                typer.echo(f"error: {name}: cannot resume: {exc}", err=True)
                failed += count
                continue
            with client:
                for outcome in client.resume(sent_to=stored):
                    if isinstance(outcome, FiboPromptsError):
                        failed += 1
                        typer.echo(f"error: {outcome}", err=True)
                    elif isinstance(outcome, Generation):
                        typer.echo(f"{name}\t{outcome.request_id}\tdone\t{outcome.image_path}")
                    else:  # a structured prompt: its exact string is kept in the journal
                        typer.echo(
                            f"{name}\t-\tdone\tstructured prompt ({len(outcome.wire)} chars)"
                        )
    if failed:
        raise typer.Exit(1)


@jobs_app.command("cancel")
def jobs_cancel(
    request_id: Annotated[str, typer.Argument(help="The job's request id (fibo jobs list).")],
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="When several backends have the id.")
    ] = None,
    journal: Journal = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="The service URL, credentials included, if it had any."),
    ] = None,
) -> None:
    """Stop a job on its service and mark it cancelled in the journal (key from the
    environment). Only inference.sh can cancel; Bria and Segmind have no cancel endpoint."""
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.generate import Client, JobJournal, JobState, backends, rebase_job

    with user_errors(), JobJournal(journal) as store:
        entry = store.get(request_id, backend=backend)
        if entry is None:
            fail(f"{request_id}: no such job in {store.path} (see fibo jobs list)")
        before = entry.job
        # the job lives where it was sent: its journal base URL, not today's setting
        where = _where_to_resume(before.backend, entry.base_url, base_url)
        if where is None:
            fail(_no_credentials(before.backend, entry.base_url, 1, "cancel"))
        service = backends.get(before.backend)(base_url=where)
        service.build_cancel(before)  # a service that cannot cancel says so, key or not
        with Client(service, journal=store) as client:
            # its URLs as the journal keeps them (credentials dropped) made usable again
            target = (
                before if before.state.terminal else rebase_job(before, entry.base_url, service)
            )
            job = client.cancel(target)
    if before.state.terminal:
        typer.echo(f"{job.backend}\t{job.request_id}\talready {job.state.value}: nothing to cancel")
    elif job.state is JobState.CANCELLED:
        typer.echo(f"{job.backend}\t{job.request_id}\tcancelled (service status {job.status})")
    else:
        typer.echo(
            f"{job.backend}\t{job.request_id}\talready {job.state.value}: it ended before the "
            "cancel arrived"
        )


def emulator(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0: any free port).")] = 8765,
    config: Annotated[
        Path | None, typer.Option(metavar="FILE", help="A JSON or TOML config file (keys above).")
    ] = None,
    log: Annotated[
        Path | None,
        typer.Option(
            "--log",
            metavar="FILE",
            help="Append one line per request to FILE: UTC time, method, path (no query), status.",
        ),
    ] = None,
) -> None:
    """Serve the hosted APIs' protocols locally (Bria v2, Segmind v1/v2, inference.sh).

    Point a client at it with --base-url http://127.0.0.1:8765 and any API key.

    \b
    --config keys (JSON or TOML; all optional):
      duration_s, duration_sigma  median job seconds (0), log-normal spread (0)
      expiry_s                    jobs are gone this long after the submit (3600)
      image_size                  longest side of result images, pixels (256)
      rate_limits                 {"bria.submit": 10, ...}: requests/s per
                                  service (bria, segmind, inferencesh) and
                                  endpoint (submit, status, result)
      api_keys                    {"bria": "KEY", ...}: the key each service
                                  requires (default: any non-empty key)
      seed                        seed of faults and durations (random)
      stream_heartbeat_s          inference.sh stream heartbeat seconds (10)
      segmind_v1_response         jpeg, png, json_url or json_base64 (jpeg)
      bria_lite                   serve Bria's lite routes, announced as "coming
                                  soon" (false: they answer 404)
      faults                      {"rate_limit": 0.1, ...}: probabilities 0..1 of
                                  rate_limit, server_error, reset_before_submit,
                                  reset_after_submit, gateway_after_accept,
                                  reset_poll, slow, truncate, stream_break,
                                  failed, unknown, moderation, echo_key; and
                                  slow_s (1), retry_after_s (1) in seconds
    """
    # imported here, not at the top: fibo --help stays fast
    from fibo_prompts.emulator import Emulator, EmulatorConfig

    with user_errors():
        settings = EmulatorConfig.load(config) if config else EmulatorConfig()
        try:
            request_log = None if log is None else log.open("a", encoding="utf-8")
        except OSError as exc:
            fail(f"--log {printable(str(log))}: cannot open ({exc.strerror})")
        try:
            server = Emulator(settings, host=host, port=port, request_log=request_log)
        except OSError as exc:
            fail(f"cannot listen on {host}:{port} ({exc.strerror})")
    typer.echo(f"listening on {server.url} (Ctrl-C to stop)")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if request_log is not None:
            request_log.close()


def register(app: typer.Typer) -> None:
    """Add ``generate``, ``jobs`` and ``emulator`` to the ``fibo`` app."""
    app.command("generate")(generate)
    app.add_typer(jobs_app, name="jobs")
    app.command("emulator")(emulator)


__all__ = ["register"]
