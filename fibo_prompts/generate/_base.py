"""Everything the sync and async clients share: configuration, seeds, flows, journal, store.

:class:`BaseClient` builds every flow (submit, wait, result, cancel), holds the task-stream
slots and chooses the HTTP transport; :class:`Client` and :class:`AsyncClient` only run the
flows through their driver (:mod:`._drive`). All decisions live here or in the flows
(:mod:`._flows`), so the twins cannot drift.
"""

from __future__ import annotations

import hashlib
import os
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from fibo_prompts._blobs import store_blob
from fibo_prompts._files import write_file
from fibo_prompts._redact import redact, was_redacted
from fibo_prompts.errors import (
    ConfigurationError,
    FiboPromptsError,
    JobExpiredError,
    SubmitOutcomeUnknownError,
    VersionConflictError,
)
from fibo_prompts.generate import backends as registry
from fibo_prompts.generate._flows import (
    Fetched,
    cancel_flow,
    result_flow,
    stored_parameters,
    submit_flow,
)
from fibo_prompts.generate._images import MAX_IMAGE_BYTES, content_hash
from fibo_prompts.generate._retry import PollPolicy, RetryPolicy
from fibo_prompts.generate._schedule import DurationEstimator, RateBudget
from fibo_prompts.generate._steps import REQUEST_TIMEOUT, Flow
from fibo_prompts.generate._stream import watch_flow
from fibo_prompts.generate._transport import lean_transport_applies
from fibo_prompts.generate.backends import Backend
from fibo_prompts.generate.journal import OUTCOME_UNKNOWN, JobJournal, data_dir
from fibo_prompts.jobs import Generation, GenerationRequest, Job, JobState, Timings
from fibo_prompts.prompt import StructuredPrompt
from fibo_prompts.provenance import (
    build_record,
    embed_provenance,
    sidecar_path,
)

if TYPE_CHECKING:
    from fibo_prompts.library import Library

__all__ = [
    "BaseClient",
    "JobProgress",
    "RequestLike",
    "check_library_target",
    "prompt_facts",
    "rebase_job",
    "store_image",
    "write_text_atomic",
]

RequestLike = GenerationRequest | StructuredPrompt
#: a progress hook: called with the job as it moves (``generate(on_progress=...)``)
JobProgress = Callable[[Job], None]
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0, pool=60.0)


class StreamSlots:
    """At most ``limit`` task streams open at once in one client (threads or tasks alike).

    A stream holds a connection for as long as its job runs, so streams are counted apart
    from the request slots; a job that finds no stream slot free simply polls.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(0, limit)
        self._free = self.limit
        self._lock = threading.Lock()

    def take(self) -> bool:
        """Take a slot if one is free."""
        with self._lock:
            if self._free <= 0:
                return False
            self._free -= 1
            return True

    def give(self) -> None:
        """Return a slot."""
        with self._lock:
            self._free += 1


class BaseClient:
    """Shared state and pure logic of :class:`Client` and :class:`AsyncClient`: the flows
    they drive, the stream slots, and which HTTP transport they run on."""

    def __init__(
        self,
        backend: str | Backend = "bria",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        backend_options: Mapping[str, Any] | None = None,
        journal: JobJournal | str | os.PathLike[str] | bool = True,
        image_dir: str | os.PathLike[str] | None = None,
        poll: PollPolicy | None = None,
        retry: RetryPolicy | None = None,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_image_bytes: int = MAX_IMAGE_BYTES,
        http_client: object | None = None,
        max_connections: int = 32,
        max_streams: int = 64,
        request_timeout: float | None = REQUEST_TIMEOUT,
    ) -> None:
        # before anything (the journal) is opened
        if request_timeout is not None and not request_timeout > 0:  # NaN fails this too
            raise ConfigurationError(
                f"request_timeout={request_timeout!r}: give a positive number of seconds, or "
                "None for no cap"
            )
        if isinstance(backend, Backend):
            self.backend = backend
        else:
            options = dict(backend_options or {})
            if api_key is not None:
                options["api_key"] = api_key
            if base_url is not None:
                options["base_url"] = base_url
            self.backend = registry.get(backend)(**options)
        self.backend.require_key()
        self.poll_policy = poll or PollPolicy()
        self.retry_policy = retry or RetryPolicy()
        # seeds and jitter need no cryptographic quality, but a fresh process must not
        # repeat the previous one's seeds: seed from the OS unless the caller injects one
        self._rng = rng or random.Random()
        self._clock = clock
        self.max_image_bytes = max_image_bytes
        self._own_journal = False
        self.journal: JobJournal | None
        if journal is True:
            self.journal, self._own_journal = JobJournal(), True
        elif journal is False:
            self.journal = None
        elif isinstance(journal, JobJournal):
            self.journal = journal
        else:
            self.journal, self._own_journal = JobJournal(journal), True
        self.image_dir = Path(image_dir) if image_dir is not None else data_dir() / "images"
        self._estimators: dict[str, DurationEstimator] = {}
        # one budget for every status poll and result fetch of this client, all jobs together
        rate = self.poll_policy.rate_limit
        self._budget = RateBudget(rate if rate is not None else self.backend.poll_rate_limit)
        self._choose_transport(http_client, max_connections, max_streams, request_timeout)

    def _choose_transport(
        self,
        http_client: object | None,
        max_connections: int,
        max_streams: int,
        request_timeout: float | None,
    ) -> None:
        """Decide what the twins build their HTTP client on, in this order:

        * ``_local_transport``: an in-process backend's transport factory (``preview``,
          ``diffusers``); no network request, so no per-request cap (a diffusers render on a
          CPU may well run longer);
        * else the caller's ``http_client`` (not closed by ``close``);
        * else a pool of their own, of ``_pool_size`` connections (the request slots and a
          connection per task stream); the async twin uses the lean transport when
          ``_lean`` (no proxy asked for by the environment).
        """
        self._local_transport: Callable[[], Any] | None = getattr(self.backend, "transport", None)
        local = self._local_transport is not None
        self._own_http = http_client is None or local
        self._request_timeout = None if local else request_timeout
        streams = max_streams if self.poll_policy.stream and self.backend.streams else 0
        self._streams = StreamSlots(streams)
        self._pool_size = max_connections + streams
        self._lean = not local and http_client is None and lean_transport_applies()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend={self.backend!r}>"

    # ------------------------------------------------------------------ requests and seeds

    def _prepare(self, request: RequestLike) -> tuple[GenerationRequest, int]:
        if isinstance(request, StructuredPrompt):
            request = GenerationRequest(prompt=request)
        if not isinstance(request, GenerationRequest):
            raise ConfigurationError(
                f"expected a GenerationRequest or StructuredPrompt, got {type(request).__name__}"
            )
        seed = request.seed if request.seed is not None else self._draw_seed()
        self.backend.check(request, seed)
        return request, seed

    def _draw_seed(self) -> int:
        lo, hi = self.backend.ranges.seed
        return self._rng.randint(lo, hi)

    def _estimator(self, kind: str) -> DurationEstimator:
        est = self._estimators.get(kind)
        if est is None:
            prior = self.backend.expected_duration * (0.5 if kind == "structured_prompt" else 1)
            est = self._estimators[kind] = DurationEstimator(prior)
        return est

    # ------------------------------------------------------------------ flows

    def _submit_flow(self, request: GenerationRequest, seed: int) -> Flow[Job]:
        flow = submit_flow(
            self.backend,
            lambda: self.backend.build_submit(request, seed),
            lambda response: self.backend.parse_submit(response, request, seed),
            retry=self.retry_policy,
            rng=self._rng,
            budget=self._budget,
            clock=self._clock,
        )
        unknown = Job(
            backend=self.backend.name,
            request_id="",
            submitted_at=0.0,
            seed=seed,
            wire=request.wire,
            parameters=request.parameters(),
        )
        return self._journal_unknown(flow, unknown)

    def _prompt_flow(
        self,
        text: str | None,
        wire: str | None,
        instruction: str | None,
        seed: int,
        images: tuple[str, ...] = (),
    ) -> Flow[Job]:
        self.backend.check_seed(seed)

        def build() -> httpx.Request:
            if images:  # image → structured prompt
                return self.backend.build_describe(images, instruction or text, seed)
            return self.backend.build_prompt_submit(text, wire, instruction, seed)

        flow = submit_flow(
            self.backend,
            build,
            lambda response: self.backend.parse_prompt_submit(response, seed),
            retry=self.retry_policy,
            rng=self._rng,
            budget=self._budget,
            clock=self._clock,
        )
        words: dict[str, Any] = {
            k: v for k, v in (("text", text), ("instruction", instruction)) if v
        }
        if images:
            words["images"] = list(images)
        unknown = Job(
            backend=self.backend.name,
            request_id="",
            kind="structured_prompt",
            submitted_at=0.0,
            seed=seed,
            wire=wire,
            parameters=words,
        )
        return self._journal_unknown(flow, unknown)

    def _journal_unknown(self, flow: Flow[Job], sketch: Job) -> Flow[Job]:
        """``flow``, with a submit whose outcome is unknown journaled before its error goes on:
        it may have been billed, and ``fibo jobs list`` is where the user looks. The row gets
        a made-up id (``unknown-…``; the service gave none) and the status
        :data:`~fibo_prompts.generate.journal.OUTCOME_UNKNOWN`; it is never polled or resent.
        """
        try:
            return (yield from flow)
        except SubmitOutcomeUnknownError as exc:
            if self.journal is None or self.backend.preview:
                raise
            row = f"unknown-{uuid.uuid4().hex[:12]}"
            job = sketch.model_copy(
                update={
                    "request_id": row,
                    "state": JobState.FAILED,
                    "status": OUTCOME_UNKNOWN,
                    "submitted_at": time.time(),
                    "completed_at": None,
                    "parameters": stored_parameters(sketch.parameters),
                    "error": exc.message,
                }
            )
            try:
                self._record(job)
                where = f"journaled as {row}"
            except FiboPromptsError as failed:
                # the journal's own trouble must never hide that the job may be billed
                where = f"not journaled ({failed})"
            raise SubmitOutcomeUnknownError(f"{exc.message}; {where}", backend=exc.backend) from exc

    @contextmanager
    def _stream_slot(self, job: Job) -> Iterator[bool]:
        """Whether to follow ``job``'s task stream: a slot is held (and given back after the
        wait) when the job is still running and one is free; otherwise the job is polled."""
        streamed = not job.state.terminal and self._streams.take()
        try:
            yield streamed
        finally:
            if streamed:
                self._streams.give()

    def _wait_flow(
        self, job: Job, *, stream: bool, on_update: JobProgress | None = None
    ) -> Flow[Job]:
        """Follow the job's task stream (``stream``) or poll it, until it ends."""
        return watch_flow(
            self.backend,
            job,
            stream=stream,
            estimator=self._estimator(job.kind),
            poll=self.poll_policy,
            retry=self.retry_policy,
            rng=self._rng,
            clock=self._clock,
            on_update=on_update,
            budget=self._budget,
        )

    def _cancel_flow(self, job: Job) -> Flow[Job]:
        return cancel_flow(
            self.backend,
            job,
            poll=self.poll_policy,
            retry=self.retry_policy,
            rng=self._rng,
            clock=self._clock,
        )

    def _result_flow(self, job: Job) -> Flow[Fetched]:
        return result_flow(
            self.backend,
            job,
            poll=self.poll_policy,
            retry=self.retry_policy,
            rng=self._rng,
            clock=self._clock,
            max_image_bytes=self.max_image_bytes,
            budget=self._budget,
        )

    def _learn(self, job: Job) -> None:
        """Teach the poll schedule the service's own duration figure, where it gives one."""
        if not self.backend.reports_duration or job.state is not JobState.SUCCEEDED:
            return
        reported = job.metrics.get("total_time")
        if isinstance(reported, int | float) and reported > 0:
            self._estimator(job.kind).observe(float(reported))
        elif job.completed_at is not None:
            self._estimator(job.kind).observe(job.completed_at - job.submitted_at)

    # ------------------------------------------------------------------ journal and store

    def _record(self, job: Job, image_path: str | None = None) -> None:
        if self.journal is not None and not self.backend.preview:
            self.journal.record(job, base_url=self.backend.base_url, image_path=image_path)

    def _expired_by_age(self, job: Job) -> Job | None:
        """The job marked expired when it is past the service's retention window."""
        retention = self.backend.retention_s
        if retention is not None and time.time() - job.submitted_at > retention:
            return job.model_copy(
                update={
                    "state": JobState.EXPIRED,
                    "status": "EXPIRED",
                    "error": f"submitted over {retention:.0f} s ago",
                }
            )
        return None

    def _resume_entries(self, sent_to: str | None = None) -> list[Job]:
        """The unfinished jobs of this backend that were sent to ``sent_to`` (a base URL as the
        journal keeps it, credentials redacted; default: this client's own), each ready to be
        polled at this client's base URL (:func:`rebase_job`)."""
        if self.journal is None:
            return []
        public = self.backend.public_base_url
        where = public if sent_to is None else redact(sent_to.rstrip("/"))
        entries = self.journal.entries(backend=self.backend.name, unfinished=True)
        return [rebase_job(e.job, where, self.backend) for e in entries if e.base_url == where]

    def _expired_error(self, job: Job) -> JobExpiredError:
        return JobExpiredError(
            f"{job.error}; the service no longer keeps it: submit again",
            backend=self.backend.name,
            request_id=job.request_id,
            job=job,
        )

    def _store_image(self, content: bytes, media_type: str) -> tuple[Path, str]:
        return store_image(self.image_dir, content, media_type)

    def _model_name(self) -> str:
        if self.backend.preview:
            return "layout-preview"
        label = getattr(self.backend, "model_label", None) or getattr(self.backend, "model", None)
        return str(label) if label else "FIBO"

    def _finish(self, fetched: Fetched) -> Generation:
        job, content, media_type = fetched.job, fetched.content, fetched.media_type
        assert content is not None and media_type is not None
        metrics = job.metrics

        def number(*keys: str) -> float | None:
            for key in keys:
                value = metrics.get(key)
                if isinstance(value, int | float):
                    return float(value)
            return None

        total = None if job.completed_at is None else job.completed_at - job.submitted_at
        params = dict(job.parameters)
        text = params.pop("text", None)
        timings = Timings(
            queue_s=number("queue_time"),
            inference_s=number("inference_time", "generation_time"),
            total_s=None if self.backend.preview else total,
        )
        seed = job.seed if job.seed is not None else 0
        prompt_hash, summary = prompt_facts(job.wire)
        record = build_record(
            backend=self.backend.name,
            model=self._model_name(),
            preview=self.backend.preview,
            request_id=job.request_id,
            seed=seed,
            parameters=params,
            text=text,
            wire=job.wire,
            content_hash=prompt_hash,
            width=fetched.width,
            height=fetched.height,
            media_type=media_type,
            timings=timings.model_dump(),
            cost=number("cost"),
            completed_at=job.completed_at,
            received_sha256=content_hash(content),
            warnings=job.warnings,
        )
        path, digest = self._store_with_provenance(
            content, media_type, record, job.wire, summary or text
        )
        self._record(job, image_path=str(path))
        self._learn(job)
        return Generation(
            backend=self.backend.name,
            request_id=job.request_id,
            image_path=path,
            image_sha256=digest,
            media_type=media_type,
            width=fetched.width,
            height=fetched.height,
            wire=job.wire,
            text=text,
            seed=seed,
            parameters=params,
            timings=timings,
            cost=number("cost"),
            returned_prompt=job.returned_prompt,
            preview=self.backend.preview,
            warnings=list(job.warnings),
            record=record,
        )

    def _store_with_provenance(
        self,
        content: bytes,
        media_type: str,
        record: Mapping[str, Any],
        wire: str | None,
        summary: str | None,
        returned: str | None = None,
    ) -> tuple[Path, str]:
        embedded, sidecar = embed_provenance(
            content,
            record=record,
            wire=wire,
            returned_prompt=returned,
            summary=summary,
        )
        path, digest = self._store_image(embedded, media_type)
        if sidecar is not None:
            write_text_atomic(sidecar_path(path), sidecar)
        return path, digest

    def check_recordable(self, request: RequestLike, library: Library, name: str) -> None:
        """Raise, before anything is paid for, if a generation of ``request`` could not be
        recorded in ``library`` under ``name``: a bad name, or a version reference
        (``name@3``) whose wire string is not the one this backend sends (fal re-serialises
        it). ``generate(..., library=, name=)`` checks this itself; this is for a caller that
        records with :meth:`record_in_library`.

        Raises:
            VersionConflictError, InvalidNameError, PromptNotFoundError, ConfigurationError.
        """
        check_library_target(request, library, name, self.backend)

    def record_in_library(self, generation: Generation, library: Library, name: str) -> Generation:
        """Record a finished generation in ``library`` under the prompt ``name`` (or a version
        reference such as ``"bottle@production"``) and return it, its image re-written with
        the library reference in its provenance.

        ``generate(..., library=, name=)`` does this itself; this is for a caller that must
        keep the paid-for generation in hand if the library fails (``fibo generate --save``
        still writes the image to ``-o`` then).
        """
        return self._record_in_library(generation, library, name)

    def _record_in_library(
        self, generation: Generation, library: Library | None, name: str | None
    ) -> Generation:
        """Record a finished generation in the library (when one was given); return it.

        The image is first re-written with the library reference in its provenance, so the
        copy the library keeps says which version it belongs to.
        """
        if library is None or not name or generation.wire is None:
            return generation
        record = dict(generation.record)
        wire_hash = hashlib.sha256(generation.wire.encode("utf-8")).hexdigest()
        record["library"] = {"name": name, "version": f"sha256:{wire_hash}"}
        # embed_provenance replaces the earlier chunks: the image bytes are read as stored
        path, digest = self._store_with_provenance(
            generation.read_bytes(),
            generation.media_type,
            record,
            generation.wire,
            prompt_facts(generation.wire)[1] or generation.text,
            generation.returned_prompt,
        )
        updated = generation.model_copy(
            update={"image_path": path, "image_sha256": digest, "record": record}
        )
        # after payment: a recording error propagates, but the image is already stored and the
        # job is in the journal, so nothing paid for is lost
        library.record_generation(updated, name)
        return updated

    def _finish_prompt(self, fetched: Fetched) -> StructuredPrompt:
        """Journal a finished structured-prompt job; its returned prompt, parsed leniently."""
        job = fetched.job
        self._record(job)
        self._learn(job)
        assert job.returned_prompt is not None
        return StructuredPrompt.parse(job.returned_prompt, lenient=True)

    def _close_journal(self) -> None:
        if self._own_journal and self.journal is not None:
            self.journal.close()
            self.journal = None


def rebase_job(job: Job, stored_base: str, backend: Backend) -> Job:
    """``job`` as read from the journal, made ready to poll through ``backend``.

    A job URL the journal redacted (it held credentials) is dropped: the backend builds it
    again from its own base URL and the request id; a job that had succeeded with a dropped
    image URL is polled once more for it. A URL on the stored base URL is moved to the
    backend's base URL when they differ (``fibo jobs resume --base-url``).
    """
    update: dict[str, Any] = {}
    target = backend.base_url
    for name in ("status_url", "result_url", "image_url"):
        url = getattr(job, name)
        if url is None:
            continue
        if was_redacted(url):
            update[name] = None
        elif stored_base != backend.public_base_url and url.startswith(stored_base + "/"):
            update[name] = target + url[len(stored_base) :]
    if not update:
        return job
    if "image_url" in update and update["image_url"] is None and job.state is JobState.SUCCEEDED:
        update["state"], update["status"] = JobState.PENDING, "RESUMED"
    return job.model_copy(update=update)


def coerce_wire(prompt: StructuredPrompt | str | None) -> str | None:
    """The wire string of a prompt given as a model or as JSON text."""
    if prompt is None:
        return None
    if isinstance(prompt, StructuredPrompt):
        return prompt.wire
    return StructuredPrompt.parse(prompt, lenient=True).wire


def check_library_target(
    request: RequestLike,
    library: Library | None,
    name: str | None,
    backend: Backend | None = None,
    *,
    variation: bool = False,
) -> None:
    """Refuse, before anything is paid for, a generation that could not be recorded: no
    name, no structured prompt, a bad name, or a version reference (``name@3``) whose wire
    is not what ``backend`` will send (a variation run saves new versions: a plain name)."""
    if library is None:
        if name is not None:
            raise ConfigurationError("name= is only used with library=; pass the library too")
        return
    if not name:
        raise ConfigurationError(
            "generate(library=...) needs name= (a prompt name or a version reference such as "
            "'bottle@production') to record the generation under"
        )
    prompt = request if isinstance(request, StructuredPrompt) else request.prompt
    if prompt is None:
        raise ConfigurationError(
            "a text-only request cannot be recorded in a library: give it a structured prompt"
        )
    # the library's module is loaded already (a Library was given); imported here so that
    # importing fibo_prompts.generate does not pay for it
    from fibo_prompts.library import check_prompt_name, is_plain_name

    if is_plain_name(name):
        check_prompt_name(name)
        return
    if variation:
        raise ConfigurationError(
            f"a variation run saves each variation as a new version of a prompt: give a "
            f"prompt name, not the version reference {name!r}"
        )
    version = library.get(name)
    sent = prompt.wire if backend is None else backend.effective_wire(prompt.wire)
    if version.wire != sent:
        changed = backend is not None and sent != prompt.wire
        how = f" ({backend.name} re-serialises the prompt)" if changed and backend else ""
        raise VersionConflictError(
            f"{name!r} is {version.name}@{version.number}, whose wire string is not the one "
            f"this generation would send{how}; record it under the prompt name "
            f"({version.name!r}) to save what is sent",
            name=version.name,
        )


def prompt_facts(wire: str | None) -> tuple[str | None, str | None]:
    """The content hash and the short description of the prompt a generation sent (its
    ``wire``), from one lenient parse; ``(None, None)`` where there is no wire or it cannot
    be read (a service may return a prompt that does not parse).

    The short description is the first line of an image's A1111 ``parameters`` text.
    """
    if wire is None:
        return None, None
    try:
        prompt = StructuredPrompt.parse(wire, lenient=True)
    except FiboPromptsError:  # a service may return a prompt we cannot parse; still record
        return None, None
    summary = prompt.to_dict().get("short_description")
    return prompt.content_hash(), summary if isinstance(summary, str) else None


def write_text_atomic(path: Path, text: str) -> None:
    """Write a small text file (a sidecar, run.json) complete or not at all, through
    :func:`fibo_prompts._files.write_file`."""
    write_file(path, text, what="file", parents=True)


def store_image(image_dir: Path, content: bytes, media_type: str) -> tuple[Path, str]:
    """Store image bytes content-addressed (``ab/abcdef….png``); return the path and digest
    (the one store: :func:`fibo_prompts._blobs.store_blob`, shared with the library)."""
    return store_blob(image_dir, content, media_type)
