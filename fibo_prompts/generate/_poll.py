"""The submit → poll → result protocol, written once and without I/O.

Each flow is a generator that yields :class:`Send` (do this request, resume me with the
response) or :class:`Wait` (sleep, resume me with ``None``), and returns its result. Transport
errors are thrown into the flow (``flow.throw``), so the flow alone decides what is retried.
:func:`drive` (``httpx.Client`` + ``time.sleep``) and :func:`adrive` (``httpx.AsyncClient`` +
``anyio.sleep``) are the only code that performs I/O, so the sync and async clients cannot
diverge, and the flows are tested with scripted responses and no clock.

The rules for anything that costs money (``design/architecture.md``):

* :func:`submit_flow` sends the paid POST. It retries only when the request provably was
  not accepted: a connection that never opened (``ConnectError``, ``ConnectTimeout``,
  ``PoolTimeout``), an HTTP 429, or a 5xx that carries no request id. Anything else after
  the bytes left (read timeout, reset, truncated answer) raises
  :class:`SubmitOutcomeUnknownError`: the job may exist and be billed, so it is never sent
  again automatically.
* :func:`poll_flow` and :func:`result_flow` only GET, which is idempotent: 429, 5xx and
  network errors are retried with capped exponential backoff and jitter, honouring
  ``Retry-After`` and Segmind's ``x-rate-limit-reset-at-utc``.
* Every wait is bounded by the poll deadline.
"""

from __future__ import annotations

import hashlib
import io
import random
import statistics
import time
from collections import deque
from collections.abc import Callable, Generator
from functools import partial
from typing import Any, NamedTuple, TypeVar

import anyio
import httpx

from fibo_prompts.errors import (
    APIConnectionError,
    APIError,
    ContentModerationError,
    GenerationFailedError,
    ImageError,
    JobExpiredError,
    PollTimeoutError,
    ResponseFormatError,
    SubmitOutcomeUnknownError,
)
from fibo_prompts.generate._log import log_exchange
from fibo_prompts.generate._retry import PollPolicy, RetryPolicy, retry_after
from fibo_prompts.generate.backends._base import Backend
from fibo_prompts.generate.models import Job, JobState

__all__ = [
    "DurationEstimator",
    "Send",
    "Wait",
    "adrive",
    "drive",
    "poll_flow",
    "result_flow",
    "submit_flow",
]

T = TypeVar("T")


class Send(NamedTuple):
    """Perform this request and resume the flow with its response."""

    request: httpx.Request


class Wait(NamedTuple):
    """Sleep this many seconds and resume the flow with ``None``."""

    seconds: float


Flow = Generator[Send | Wait, httpx.Response | None, T]

#: Errors raised while connecting: the request never reached the service.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
MAX_IMAGE_BYTES = 50 * 1024 * 1024
_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


class DurationEstimator:
    """Learns how long a backend's jobs take, to poll near the expected end.

    Keeps the last ``window`` durations (observed by the client or reported by the service).
    Thread-safe enough for its use: appends and reads of a deque.
    """

    def __init__(self, prior: float, window: int = 200) -> None:
        self.prior = prior
        self._seen: deque[float] = deque(maxlen=window)

    def observe(self, seconds: float) -> None:
        """Record one job's duration."""
        if seconds >= 0:
            self._seen.append(seconds)

    def first_wait(self, age: float, policy: PollPolicy) -> float:
        """Seconds to wait before the first poll of a job already ``age`` seconds old."""
        if len(self._seen) >= 3:
            ordered = sorted(self._seen)
            # poll when the quickest fifth of recent jobs would be done
            expected = ordered[len(ordered) // 5]
        else:
            expected = (policy.expected_duration or self.prior) * policy.early
        return max(0.0, expected - age)

    def interval(self, pending_polls: int, policy: PollPolicy) -> float:
        """The wait after the ``pending_polls``-th pending answer."""
        base = policy.min_interval
        if len(self._seen) >= 3:
            # short when jobs are short, so the detection lag scales with the job length
            base = max(policy.min_interval, 0.1 * statistics.median(self._seen))
        return min(policy.max_interval, base * policy.growth ** max(0, pending_polls - 1))


def _jittered(seconds: float, jitter: float, rng: random.Random) -> float:
    return max(0.0, seconds * (1 + jitter * (2 * rng.random() - 1)))


# ---------------------------------------------------------------------------------- submit


def submit_flow(
    backend: Backend,
    build: Callable[[], httpx.Request],
    parse: Callable[[httpx.Response], Job],
    *,
    retry: RetryPolicy,
    rng: random.Random,
    wall: Callable[[], float] = time.time,
) -> Flow[Job]:
    """Send the paid POST once; retry only when it provably was not accepted."""
    attempt = 0
    while True:
        try:
            response = yield Send(build())
        except NOT_SENT as exc:
            attempt += 1
            if attempt > retry.submit_retries:
                raise APIConnectionError(
                    f"could not connect ({type(exc).__name__}); nothing was submitted",
                    backend=backend.name,
                ) from exc
            yield Wait(retry.backoff(attempt, rng))
            continue
        except httpx.HTTPError as exc:
            raise SubmitOutcomeUnknownError(
                f"the submit was sent but no answer came back ({type(exc).__name__}); it may "
                "have been accepted and billed, so it was not resent: check the service's "
                "dashboard or `fibo jobs list` before submitting again",
                backend=backend.name,
            ) from exc
        assert response is not None
        status = response.status_code
        if status == 429 or (status >= 500 and backend.request_id_of(response) is None):
            attempt += 1
            if attempt > retry.submit_retries:
                raise backend.error_for(response)
            asked = retry_after(response, wall()) if status == 429 else None
            wait = retry.backoff(attempt, rng)
            if asked is not None:
                wait = min(asked, retry.max_retry_after) + rng.random() * 0.1
            yield Wait(wait)
            continue
        if not response.is_success:
            raise backend.error_for(response)
        return parse(response)


# ---------------------------------------------------------------------------------- GET helper


def _get(
    backend: Backend,
    build: Callable[[], httpx.Request],
    *,
    job: Job,
    retry: RetryPolicy,
    rng: random.Random,
    clock: Callable[[], float],
    deadline: float,
    wall: Callable[[], float] = time.time,
) -> Flow[httpx.Response]:
    """An idempotent GET, retried on 429, 5xx and network errors within the deadline.

    Returns the first response that is neither 429 nor 5xx.
    """
    failures = 0
    while True:
        error: APIError
        asked: float | None = None
        try:
            response = yield Send(build())
        except httpx.DecodingError as exc:
            raise ResponseFormatError(
                f"undecodable response ({exc})", backend=backend.name, request_id=job.request_id
            ) from exc
        except httpx.HTTPError as exc:
            error = APIConnectionError(
                f"network error ({type(exc).__name__}) after {failures + 1} attempts",
                backend=backend.name,
                request_id=job.request_id,
            )
            error.__cause__ = exc
        else:
            assert response is not None
            if response.status_code != 429 and response.status_code < 500:
                return response
            error = backend.error_for(response, request_id=job.request_id)
            if response.status_code == 429:
                asked = retry_after(response, wall())
        failures += 1
        wait = retry.backoff(failures, rng)
        if asked is not None:
            wait = min(asked, retry.max_retry_after) + rng.random() * 0.1
        if failures > retry.max_retries or clock() + wait > deadline:
            raise error
        yield Wait(wait)


# ---------------------------------------------------------------------------------- poll


def poll_flow(
    backend: Backend,
    job: Job,
    *,
    estimator: DurationEstimator,
    poll: PollPolicy,
    retry: RetryPolicy,
    rng: random.Random,
    clock: Callable[[], float],
    wall: Callable[[], float] = time.time,
    on_update: Callable[[Job], None] | None = None,
) -> Flow[Job]:
    """Poll until the job is terminal; return it (a failure is a state, not an exception).

    Raises :class:`PollTimeoutError` at the deadline (the job may still run) and typed
    status errors (401, …) that retrying cannot fix.
    """
    if job.state.terminal:
        return job
    start = clock()
    deadline = start + poll.timeout
    wait = estimator.first_wait(max(0.0, wall() - job.submitted_at), poll)
    pending = 0
    while True:
        remaining = deadline - clock()
        if remaining <= 0:
            raise PollTimeoutError(
                f"still {job.status or 'pending'} after {poll.timeout:.0f} s; the job may "
                "still be running: resume it later (`fibo jobs resume`)",
                backend=backend.name,
                request_id=job.request_id,
                job=job,
                waited_s=clock() - start,
            )
        if wait > 0:
            yield Wait(min(_jittered(wait, poll.jitter, rng), remaining))
        response = yield from _get(
            backend,
            partial(backend.build_status, job),
            job=job,
            retry=retry,
            rng=rng,
            clock=clock,
            deadline=deadline,
            wall=wall,
        )
        report = backend.parse_status(response, job)
        job = job.model_copy(
            update={
                "state": report.state,
                "status": report.status,
                "polls": job.polls + 1,
                "error": report.error,
                "moderated": report.moderated,
                **report.updates,
            }
        )
        if report.state is JobState.PENDING:
            pending += 1
            wait = estimator.interval(pending, poll)
            if on_update is not None:
                on_update(job)
            continue
        now = wall()
        job = job.model_copy(update={"completed_at": now})
        if report.state is JobState.SUCCEEDED:
            estimator.observe(now - job.submitted_at)
        return job


# ---------------------------------------------------------------------------------- result


def raise_for_job(backend: Backend, job: Job) -> None:
    """Raise the typed error of a job that did not succeed."""
    if job.state is JobState.SUCCEEDED:
        return
    message = job.error or f"the job ended {job.status or job.state.value}"
    if job.state is JobState.EXPIRED:
        raise JobExpiredError(
            f"{message}: the service no longer has this job's results (retention window "
            "passed); submit again",
            backend=backend.name,
            request_id=job.request_id,
            job=job,
        )
    if job.moderated:
        raise ContentModerationError(
            f"{message}: blocked by content moderation; change the prompt",
            backend=backend.name,
            status_code=422,
            request_id=job.request_id,
        )
    raise GenerationFailedError(
        f"{message} (state {job.state.value}); the service did not charge failed jobs "
        "where it says so; retry with a new submit",
        backend=backend.name,
        request_id=job.request_id,
        job=job,
    )


def check_image(
    content: bytes, media_type: str | None, *, backend: str, request_id: str, limit: int
) -> tuple[str, int, int]:
    """Validate downloaded image bytes; the media type sniffed from them, width, height."""
    if not content:
        raise ImageError(f"{backend} request {request_id}: the image is empty")
    if len(content) > limit:
        raise ImageError(f"{backend} request {request_id}: the image is over {limit} bytes")
    sniffed = next((t for magic, t in _MAGIC.items() if content.startswith(magic)), None)
    declared = (media_type or "").split(";")[0].strip().lower()
    if sniffed is None:
        raise ImageError(
            f"{backend} request {request_id}: not a PNG, JPEG or WebP image "
            f"(declared {declared or 'nothing'})"
        )
    if declared and not declared.startswith("image/") and declared != "application/octet-stream":
        raise ImageError(f"{backend} request {request_id}: served as {declared}, not an image")
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(content)) as image:
            image.verify()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{backend} request {request_id}: corrupt image ({exc})") from exc
    return sniffed, width, height


def result_flow(
    backend: Backend,
    job: Job,
    *,
    poll: PollPolicy,
    retry: RetryPolicy,
    rng: random.Random,
    clock: Callable[[], float],
    max_image_bytes: int = MAX_IMAGE_BYTES,
    wall: Callable[[], float] = time.time,
) -> Flow[tuple[Job, bytes | None, str | None]]:
    """Fetch the result of a succeeded job and download its image, checked.

    Returns the updated job, the image bytes and the sniffed media type (``None`` for a
    structured-prompt job).
    """
    raise_for_job(backend, job)
    deadline = clock() + poll.timeout
    common: dict[str, Any] = {
        "job": job,
        "retry": retry,
        "rng": rng,
        "clock": clock,
        "deadline": deadline,
        "wall": wall,
    }
    fetch = backend.build_result(job)
    if fetch is not None:
        response = yield from _get(backend, lambda: fetch, **common)
        job = backend.parse_result(response, job)
        raise_for_job(backend, job)
    if job.kind == "structured_prompt":
        if job.returned_prompt is None:
            raise ResponseFormatError(
                "no structured prompt in the result",
                backend=backend.name,
                request_id=job.request_id,
            )
        return job, None, None
    if job.inline_image is not None:
        content, declared = job.inline_image, job.inline_media_type
    else:
        if job.image_url is None:
            raise ResponseFormatError(
                "no image URL in the result", backend=backend.name, request_id=job.request_id
            )
        url = job.image_url
        response = yield from _get(backend, lambda: backend.request("GET", url), **common)
        if response.status_code in (403, 404, 410):
            raise JobExpiredError(
                f"the image URL answered HTTP {response.status_code}: it has expired; submit again",
                backend=backend.name,
                request_id=job.request_id,
                job=job,
            )
        if not response.is_success:
            raise backend.error_for(response, request_id=job.request_id)
        content, declared = response.content, response.headers.get("content-type")
    media, _w, _h = check_image(
        content,
        declared,
        backend=backend.name,
        request_id=job.request_id,
        limit=max_image_bytes,
    )
    return job, content, media


def content_hash(content: bytes) -> str:
    """Hex sha256 of image bytes (the image store's key)."""
    return hashlib.sha256(content).hexdigest()


# ---------------------------------------------------------------------------------- drivers


def drive(flow: Flow[T], client: httpx.Client, sleep: Callable[[float], None] = time.sleep) -> T:
    """Run a flow with a sync httpx client."""
    reply: httpx.Response | None = None
    error: BaseException | None = None
    try:
        while True:
            step = flow.send(reply) if error is None else flow.throw(error)
            reply, error = None, None
            if isinstance(step, Send):
                try:
                    reply = client.send(step.request)
                except httpx.HTTPError as exc:
                    log_exchange(step.request, None, type(exc).__name__)
                    error = exc
                else:
                    log_exchange(step.request, reply)
            else:
                sleep(step.seconds)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        flow.close()


async def adrive(
    flow: Flow[T],
    client: httpx.AsyncClient,
    sleep: Callable[[float], Any] = anyio.sleep,
) -> T:
    """Run a flow with an async httpx client (``sleep`` may be sync or async)."""
    reply: httpx.Response | None = None
    error: BaseException | None = None
    try:
        while True:
            step = flow.send(reply) if error is None else flow.throw(error)
            reply, error = None, None
            if isinstance(step, Send):
                try:
                    reply = await client.send(step.request)
                except httpx.HTTPError as exc:
                    log_exchange(step.request, None, type(exc).__name__)
                    error = exc
                else:
                    log_exchange(step.request, reply)
            else:
                pending = sleep(step.seconds)
                if pending is not None and hasattr(pending, "__await__"):
                    await pending
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        flow.close()
