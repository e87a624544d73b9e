"""``Client`` and ``AsyncClient``: the same methods, one driving flows with ``httpx.Client``
and ``time.sleep``, the other with ``httpx.AsyncClient`` and ``anyio.sleep``.

Example (no key, no network)::

    from fibo_prompts.generate import Client, GenerationRequest
    from fibo_prompts import StructuredPrompt

    with Client("preview") as client:
        gen = client.generate(GenerationRequest(prompt=StructuredPrompt.load(
            "examples/minimal.json"), seed=42))
        print(gen.image_path, gen.seed)
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

import anyio
import httpx

from fibo_prompts._limits import MAX_IMAGE_BYTES
from fibo_prompts.errors import ConfigurationError, FiboPromptsError
from fibo_prompts.generate._base import (
    DEFAULT_TIMEOUT,
    BaseClient,
    JobProgress,
    RequestLike,
    check_library_target,
    coerce_wire,
)
from fibo_prompts.generate._bounded import DeadlineHTTPTransport
from fibo_prompts.generate._drive import RequestGate, adrive, drive
from fibo_prompts.generate._flows import raise_for_job
from fibo_prompts.generate._retry import PollPolicy, RetryPolicy
from fibo_prompts.generate._steps import REQUEST_TIMEOUT, Flow, answer_limit
from fibo_prompts.generate._transport import AsyncHTTP11Transport
from fibo_prompts.generate.backends import Backend
from fibo_prompts.generate.journal import JobJournal
from fibo_prompts.generate.variation import AsyncVariationMethods, VariationMethods
from fibo_prompts.jobs import Generation, Job
from fibo_prompts.prompt import StructuredPrompt

if TYPE_CHECKING:
    from fibo_prompts.library import Library

__all__ = ["AsyncClient", "Client"]

T = TypeVar("T")
Outcome = Generation | FiboPromptsError
#: what :meth:`Client.resume` yields per job: an image, a structured prompt, or the error
Resumed = Generation | StructuredPrompt | FiboPromptsError


def _pool(connections: int) -> httpx.Limits:
    return httpx.Limits(max_connections=connections, max_keepalive_connections=connections)


class Client(VariationMethods, BaseClient):
    """The synchronous client.

    Args:
        backend: a registered name (``bria``, ``segmind``, ``segmind-v1``, ``inferencesh``,
            ``preview``) or a :class:`Backend` instance.
        api_key: the key (default: the service's usual environment variable).
        base_url: the service origin (default: ``FIBO_PROMPTS_<NAME>_BASE_URL`` or the
            public URL).
        backend_options: extra backend arguments (``sync``, ``mode``, ``input_map``...).
        journal: ``True`` (the default journal), ``False`` (none), a path or a journal.
        image_dir: where images are stored (default: the data dir's ``images/``).
        poll: the polling policy (deadline, intervals).
        retry: the retry policy.
        rng: the random source of seeds and jitter (tests inject a seeded one).
        clock: a monotonic clock (tests inject a fake one with ``sleep``).
        sleep: how to wait.
        http_client: an ``httpx.Client`` to use (not closed by :meth:`close`).
        max_image_bytes: refuse larger images: the download stops past it (and is refused
            unread when its ``Content-Length`` says more); also the cap of any other answer
            body.
        request_timeout: the longest one HTTP request may take, body included (seconds;
            ``None``: no cap). Status polls, result fetches and image downloads also end by
            the poll deadline; a submit cut by it raises
            :class:`~fibo_prompts.errors.SubmitOutcomeUnknownError` and is never resent.
            Not applied to in-process backends (``preview``, ``diffusers``).
        max_connections: HTTP connections of the client's own pool; the async client also
            keeps at most this many requests in flight, whatever the number of jobs (a
            blocking backend such as ``segmind-v1`` thus renders at most this many at once).
        max_streams: task streams open at once (inference.sh), each on a connection of its
            own beside the pool's; jobs beyond it poll. ``PollPolicy(stream=False)`` polls
            every job.

    Raises:
        ConfigurationError: no key for a backend that needs one, or a bad base URL.
        BackendNotFoundError: an unknown backend name.
    """

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
        sleep: Callable[[float], None] = time.sleep,
        http_client: httpx.Client | None = None,
        max_image_bytes: int = MAX_IMAGE_BYTES,
        max_connections: int = 32,
        max_streams: int = 64,
        request_timeout: float | None = REQUEST_TIMEOUT,
    ) -> None:
        super().__init__(
            backend,
            api_key=api_key,
            base_url=base_url,
            backend_options=backend_options,
            journal=journal,
            image_dir=image_dir,
            poll=poll,
            retry=retry,
            rng=rng,
            clock=clock,
            max_image_bytes=max_image_bytes,
            http_client=http_client,
            max_connections=max_connections,
            max_streams=max_streams,
            request_timeout=request_timeout,
        )
        self._sleep = sleep
        self._http: httpx.Client
        if self._local_transport is not None:
            self._http = httpx.Client(transport=self._local_transport())
        elif http_client is not None:
            self._http = http_client
        else:
            # sockets that stop at each request's deadline: a trickled answer cannot outlast it
            own = DeadlineHTTPTransport(limits=_pool(self._pool_size))
            self._http = httpx.Client(timeout=DEFAULT_TIMEOUT, transport=own)

    def _drive(self, flow: Flow[T]) -> T:
        return drive(
            flow,
            self._http,
            self._sleep,
            max_body=answer_limit(self.max_image_bytes),
            request_timeout=self._request_timeout,
        )

    def submit(self, request: RequestLike) -> Job:
        """Check and send one paid request; record it in the journal; return the job.

        Raises:
            InvalidParameterError: out of the backend's ranges (nothing sent).
            SubmitOutcomeUnknownError: sent, no answer: it may have been accepted.
        """
        req, seed = self._prepare(request)
        job = self._drive(self._submit_flow(req, seed))
        self._record(job)
        return job

    def poll(self, job: Job, *, on_progress: JobProgress | None = None) -> Job:
        """Wait until the job is terminal (within the poll deadline) and return it.

        Where the service streams task updates (inference.sh) the job's stream is followed
        instead, falling back to polling if it breaks. ``on_progress`` is called with the
        job at each pending answer (status, poll count), and once with the terminal job.

        Raises:
            PollTimeoutError: the deadline passed; the job may still run (resume later).
        """
        with self._stream_slot(job) as streamed:
            job = self._drive(self._wait_flow(job, stream=streamed, on_update=on_progress))
        self._record(job)
        if on_progress is not None:
            on_progress(job)
        return job

    def cancel(self, job: Job) -> Job:
        """Ask the service to stop a job; record the outcome in the journal; return the job.

        The job comes back ``CANCELLED`` (``status`` keeps the service's word, e.g.
        ``CANCELLING`` while it stops), or in its own terminal state when it had already
        ended: a succeeded job can still be collected with :meth:`result`. A job that was
        already terminal is returned unchanged, without a request.

        Raises:
            ConfigurationError: the service has no cancel endpoint (Bria, Segmind, the
                preview); nothing is sent.
        """
        job = self._drive(self._cancel_flow(job))
        self._record(job)
        return job

    def result(self, job: Job) -> Generation:
        """Download and store a finished job's image; typed error for a failed job."""
        if job.kind != "image":
            raise ConfigurationError("result() is for image jobs; use structured_prompt()")
        return self._finish(self._drive(self._result_flow(job)))

    def generate(
        self,
        request: RequestLike,
        *,
        library: Library | None = None,
        name: str | None = None,
        on_progress: JobProgress | None = None,
    ) -> Generation:
        """Submit, poll and download: the image of one request.

        With ``library`` (and the prompt ``name`` or a version reference such as
        ``"bottle@production"``), the generation is recorded against the exact version whose
        bytes were sent; the check happens before anything is paid for.

        ``on_progress`` (e.g. a progress bar's update) is called with the :class:`Job` once
        it is submitted (its ``request_id`` known), at each pending answer while it runs,
        and once with the terminal job, before its image is downloaded. It runs in the
        caller's thread (the async client's: in the event loop) and must not block.
        """
        check_library_target(request, library, name, self.backend)
        job = self.submit(request)
        if on_progress is not None:
            on_progress(job)
        job = self.poll(job, on_progress=on_progress)
        raise_for_job(self.backend, job)
        return self._record_in_library(self.result(job), library, name)

    def generate_many(
        self,
        requests: Sequence[RequestLike],
        *,
        concurrency: int = 8,
        rate_limit: float | None = None,
        on_result: Callable[[int, Outcome], None] | None = None,
    ) -> list[Generation | FiboPromptsError]:
        """Generate many; results in input order, failures as error values.

        Args:
            concurrency: jobs in flight at once (threads here).
            rate_limit: at most this many submits per second.
            on_result: called with (input index, outcome) as each job finishes (progress).
        """
        limiter = _RateLimiter(rate_limit, self._clock)

        def one(index: int, request: RequestLike) -> Outcome:
            outcome: Outcome
            try:
                limiter.acquire(self._sleep)
                outcome = self.generate(request)
            except FiboPromptsError as exc:
                outcome = exc
            if on_result is not None:
                on_result(index, outcome)
            return outcome

        with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            return list(pool.map(one, range(len(requests)), requests))

    def structured_prompt(
        self,
        *,
        text: str | None = None,
        prompt: StructuredPrompt | str | None = None,
        instruction: str | None = None,
        seed: int | None = None,
        images: Sequence[str] = (),
    ) -> StructuredPrompt:
        """Text → structured prompt, or refine ``prompt`` with ``instruction`` (Bria's VLM);
        with ``images`` (one image, URL or base64), describe it as a structured prompt.

        The returned prompt is parsed leniently and keeps the service's exact string.
        """
        wire = coerce_wire(prompt)
        if text is None and wire is None and not images:
            raise ConfigurationError("give text=, images=, or prompt= with instruction=")
        seed = seed if seed is not None else self._draw_seed()
        flow = self._prompt_flow(text, wire, instruction, seed, tuple(images))
        job = self._drive(flow)
        self._record(job)
        return self._collect_prompt(self.poll(job))

    def _collect_prompt(self, job: Job) -> StructuredPrompt:
        return self._finish_prompt(self._drive(self._result_flow(job)))

    def resume(
        self, *, sent_to: str | None = None
    ) -> list[Generation | StructuredPrompt | FiboPromptsError]:
        """Finish every unfinished job of this backend in the journal, oldest first.

        An image job gives its :class:`Generation`; a structured-prompt job (from
        :meth:`structured_prompt`) gives the returned :class:`StructuredPrompt`, whose exact
        string is also kept in the journal; a job that failed or expired gives its error.

        Args:
            sent_to: resume the jobs that were sent to this base URL (as the journal keeps
                it: credentials ``[REDACTED]``), polling them at this client's base URL.
                Default: the jobs sent to this client's own base URL; jobs sent elsewhere
                are left for a client of theirs (their URLs and keys belong there).
        """
        out: list[Resumed] = []
        for job in self._resume_entries(sent_to):
            expired = self._expired_by_age(job)
            if expired is not None:
                self._record(expired)
                out.append(self._expired_error(expired))
                continue
            try:
                done = self.poll(job)
                raise_for_job(self.backend, done)
                if done.kind == "structured_prompt":
                    out.append(self._collect_prompt(done))
                else:
                    out.append(self.result(done))
            except FiboPromptsError as exc:
                out.append(exc)
        return out

    def close(self) -> None:
        """Close the HTTP connections and the journal."""
        if self._own_http:
            self._http.close()
        self._close_journal()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncClient(AsyncVariationMethods, BaseClient):
    """The asynchronous client (asyncio or trio via anyio); same methods as :class:`Client`.

    Arguments as :class:`Client`, with ``sleep`` an async (or sync) callable and
    ``http_client`` an ``httpx.AsyncClient``. ``generate_many`` keeps thousands of jobs in
    flight with bounded concurrency and a submit rate limit.
    """

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
        sleep: Callable[[float], Awaitable[None] | None] = anyio.sleep,
        http_client: httpx.AsyncClient | None = None,
        max_image_bytes: int = MAX_IMAGE_BYTES,
        max_connections: int = 32,
        max_streams: int = 64,
        request_timeout: float | None = REQUEST_TIMEOUT,
    ) -> None:
        super().__init__(
            backend,
            api_key=api_key,
            base_url=base_url,
            backend_options=backend_options,
            journal=journal,
            image_dir=image_dir,
            poll=poll,
            retry=retry,
            rng=rng,
            clock=clock,
            max_image_bytes=max_image_bytes,
            http_client=http_client,
            max_connections=max_connections,
            max_streams=max_streams,
            request_timeout=request_timeout,
        )
        self._sleep = sleep
        # Thousands of jobs share a few connections: every request first takes one of
        # ``max_connections`` slots. httpcore's pool scans all its connections (with a
        # socket check each) on every request and response, and scans its queue against
        # them, so its cost per request grows with the number of connections and of queued
        # requests; a small pool behind this gate keeps both short.
        self._gate = RequestGate(max_connections)
        #: our own transport of our own client, which the flows may call directly
        self._direct: AsyncHTTP11Transport | None = None
        self._http: httpx.AsyncClient
        if self._local_transport is not None:
            self._http = httpx.AsyncClient(transport=self._local_transport())
        elif http_client is not None:
            self._http = http_client
        elif self._lean:
            # httpcore's pool cost ~1 ms of CPU per request here (see ._transport)
            self._direct = AsyncHTTP11Transport(max_connections=self._pool_size)
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, transport=self._direct)
        else:
            self._http = httpx.AsyncClient(timeout=DEFAULT_TIMEOUT, limits=_pool(self._pool_size))

    async def _adrive(self, flow: Flow[T]) -> T:
        return await adrive(
            flow,
            self._http,
            self._sleep,
            gate=self._gate,
            direct=self._direct,
            max_body=answer_limit(self.max_image_bytes),
            request_timeout=self._request_timeout,
        )

    async def submit(self, request: RequestLike) -> Job:
        """Check and send one paid request; record it in the journal; return the job."""
        req, seed = self._prepare(request)
        job = await self._adrive(self._submit_flow(req, seed))
        self._record(job)
        return job

    async def poll(self, job: Job, *, on_progress: JobProgress | None = None) -> Job:
        """Wait until the job is terminal (within the poll deadline) and return it.

        Follows the job's task stream where the service has one; ``on_progress`` as in
        :meth:`Client.poll`.
        """
        with self._stream_slot(job) as streamed:
            job = await self._adrive(self._wait_flow(job, stream=streamed, on_update=on_progress))
        self._record(job)
        if on_progress is not None:
            on_progress(job)
        return job

    async def cancel(self, job: Job) -> Job:
        """Ask the service to stop a job (as :meth:`Client.cancel`)."""
        job = await self._adrive(self._cancel_flow(job))
        self._record(job)
        return job

    async def result(self, job: Job) -> Generation:
        """Download and store a finished job's image; typed error for a failed job."""
        if job.kind != "image":
            raise ConfigurationError("result() is for image jobs; use structured_prompt()")
        return self._finish(await self._adrive(self._result_flow(job)))

    async def generate(
        self,
        request: RequestLike,
        *,
        library: Library | None = None,
        name: str | None = None,
        on_progress: JobProgress | None = None,
    ) -> Generation:
        """Submit, poll and download: the image of one request (as :meth:`Client.generate`,
        ``on_progress`` included: a plain function, called in the event loop)."""
        check_library_target(request, library, name, self.backend)
        job = await self.submit(request)
        if on_progress is not None:
            on_progress(job)
        job = await self.poll(job, on_progress=on_progress)
        raise_for_job(self.backend, job)
        return self._record_in_library(await self.result(job), library, name)

    async def generate_many(
        self,
        requests: Sequence[RequestLike],
        *,
        concurrency: int = 8,
        rate_limit: float | None = None,
        on_result: Callable[[int, Outcome], None] | None = None,
    ) -> list[Generation | FiboPromptsError]:
        """Generate many; results in input order, failures as error values.

        Args:
            concurrency: jobs in flight at once (thousands are fine).
            rate_limit: at most this many submits per second.
            on_result: called with (input index, outcome) as each job finishes (progress).
        """
        results: list[Outcome | None] = [None] * len(requests)
        gate = anyio.CapacityLimiter(max(1, concurrency))
        limiter = _AsyncRateLimiter(rate_limit, self._clock)

        async def one(index: int, request: RequestLike) -> None:
            async with gate:
                outcome: Outcome
                try:
                    await limiter.acquire(self._sleep)
                    outcome = await self.generate(request)
                except FiboPromptsError as exc:
                    outcome = exc
                results[index] = outcome
                if on_result is not None:
                    on_result(index, outcome)

        async with anyio.create_task_group() as group:
            for index, request in enumerate(requests):
                group.start_soon(one, index, request)
        return [r for r in results if r is not None]

    async def structured_prompt(
        self,
        *,
        text: str | None = None,
        prompt: StructuredPrompt | str | None = None,
        instruction: str | None = None,
        seed: int | None = None,
        images: Sequence[str] = (),
    ) -> StructuredPrompt:
        """Text → structured prompt, or refine ``prompt`` with ``instruction`` (Bria's VLM);
        with ``images``, describe the image as a structured prompt."""
        wire = coerce_wire(prompt)
        if text is None and wire is None and not images:
            raise ConfigurationError("give text=, images=, or prompt= with instruction=")
        seed = seed if seed is not None else self._draw_seed()
        flow = self._prompt_flow(text, wire, instruction, seed, tuple(images))
        job = await self._adrive(flow)
        self._record(job)
        return await self._collect_prompt(await self.poll(job))

    async def _collect_prompt(self, job: Job) -> StructuredPrompt:
        return self._finish_prompt(await self._adrive(self._result_flow(job)))

    async def resume(
        self, *, sent_to: str | None = None
    ) -> list[Generation | StructuredPrompt | FiboPromptsError]:
        """Finish every unfinished job of this backend in the journal (as :meth:`Client.resume`,
        ``sent_to`` included).

        The jobs are finished concurrently, so a crash with thousands of jobs in flight is
        recovered in about the time of the longest one; results keep the journal's order.
        """
        out: list[Resumed | None] = []

        async def finish(index: int, job: Job) -> None:
            # a waiting job is a sleeping task; the request gate bounds the traffic
            try:
                done = await self.poll(job)
                raise_for_job(self.backend, done)
                if done.kind == "structured_prompt":
                    out[index] = await self._collect_prompt(done)
                else:
                    out[index] = await self.result(done)
            except FiboPromptsError as exc:
                out[index] = exc

        async with anyio.create_task_group() as group:
            for job in self._resume_entries(sent_to):
                out.append(None)
                expired = self._expired_by_age(job)
                if expired is not None:
                    self._record(expired)
                    out[-1] = self._expired_error(expired)
                else:
                    group.start_soon(finish, len(out) - 1, job)
        return [r for r in out if r is not None]

    async def aclose(self) -> None:
        """Close the HTTP connections and the journal."""
        if self._own_http:
            await self._http.aclose()
        self._close_journal()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _RateLimiter:
    """At most ``rate`` acquisitions per second across threads (evenly spaced)."""

    def __init__(self, rate: float | None, clock: Callable[[], float]) -> None:
        self._gap = 0.0 if not rate else 1.0 / rate
        self._clock = clock
        self._next = 0.0
        self._lock = threading.Lock()

    def acquire(self, sleep: Callable[[float], None]) -> None:
        if not self._gap:
            return
        with self._lock:
            now = self._clock()
            slot = max(now, self._next)
            self._next = slot + self._gap
        if slot > now:
            sleep(slot - now)


class _AsyncRateLimiter:
    """At most ``rate`` acquisitions per second across tasks (evenly spaced)."""

    def __init__(self, rate: float | None, clock: Callable[[], float]) -> None:
        self._gap = 0.0 if not rate else 1.0 / rate
        self._clock = clock
        self._next = 0.0

    async def acquire(self, sleep: Callable[[float], Awaitable[None] | None]) -> None:
        if not self._gap:
            return
        # no await between reading and reserving the slot, so no lock is needed
        now = self._clock()
        slot = max(now, self._next)
        self._next = slot + self._gap
        if slot > now:
            pending = sleep(slot - now)
            if pending is not None:
                await pending
