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
import threading
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
    "Fetched",
    "RateBudget",
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
    """Learns how long a backend's jobs take, so polls land where jobs actually end.

    Keeps the last ``window`` durations, each either reported by the service (Segmind's
    ``total_time``) or estimated by the client from when it saw the job pending and done.
    The poll schedule (:meth:`first_wait`, :meth:`next_wait`) is derived from their
    quantiles: the first poll when the quickest ``first_quantile`` of recent jobs would be
    done, then a short interval (a fraction of the median) through the bulk of the
    distribution, then a growing interval for the stragglers. Most jobs are therefore seen
    done within a fraction of a second by two or three polls, where a fixed 1 s interval
    needs one poll per second of job. Safe for the sync client's threads: appends and
    C-level copies of a deque under the GIL.
    """

    def __init__(self, prior: float, window: int = 200) -> None:
        self.prior = prior
        self._seen: deque[float] = deque(maxlen=window)
        self._sorted: list[float] | None = None

    def observe(self, seconds: float) -> None:
        """Record one job's duration."""
        if seconds >= 0:
            self._seen.append(seconds)
            self._sorted = None

    @property
    def learned(self) -> bool:
        """Whether enough jobs were seen to trust the quantiles."""
        return len(self._seen) >= 3

    def quantile(self, q: float) -> float:
        """The ``q`` quantile of recent durations (the prior before any is seen)."""
        ordered = self._sorted
        if ordered is None:
            ordered = self._sorted = sorted(self._seen)
        if not ordered:
            return self.prior
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    def gap(self, policy: PollPolicy) -> float:
        """The short interval used near the expected end of a job."""
        typical = self.quantile(0.5) if self.learned else self._expected(policy)
        return max(policy.min_interval, policy.dense_gap * typical)

    def _expected(self, policy: PollPolicy) -> float:
        return policy.expected_duration or self.prior

    def first_wait(self, age: float, policy: PollPolicy) -> float:
        """Seconds to wait before the first poll of a job already ``age`` seconds old."""
        if self.learned:
            expected = self.quantile(policy.first_quantile)
        else:
            expected = self._expected(policy) * policy.early
        return max(0.0, expected - age)

    def next_wait(self, age: float, late_polls: int, policy: PollPolicy) -> tuple[float, bool]:
        """The wait after a pending answer at ``age``, and whether it is a "late" poll.

        ``late_polls`` counts the pending answers already past the dense window; the
        interval grows by ``policy.growth`` with each, up to ``policy.max_interval``.
        """
        gap = self.gap(policy)
        if self.learned and age + gap <= self.quantile(policy.dense_until):
            return gap, False
        return min(policy.max_interval, gap * policy.growth ** (late_polls + 1)), True


class RateBudget:
    """At most ``rate`` requests per second, shared by every job of one client.

    Sans-I/O: :meth:`reserve` books the next free slot and says how long to wait for it, so
    the flows can yield a :class:`Wait`; no task or thread sleeps while holding anything.
    ``rate=None`` is no limit.
    """

    def __init__(self, rate: float | None) -> None:
        self.rate = rate
        self._gap = 1.0 / rate if rate else 0.0
        self._next = float("-inf")
        self._lock = threading.Lock()

    def reserve(self, now: float) -> float:
        """Book a slot; the seconds to wait before using it (0: at once)."""
        if not self._gap:
            return 0.0
        with self._lock:
            # an idle budget does not bank a burst: the next slot is never before now
            slot = max(now, self._next)
            self._next = slot + self._gap
        return slot - now


def _jittered(seconds: float, spread: float, rng: random.Random) -> float:
    return max(0.0, seconds + spread * (2 * rng.random() - 1))


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
        job = parse(response)
        sent_at = _sent_at(response, wall())
        if sent_at is not None and not job.state.terminal:
            # The service started the job between sending and the answer; dating it from
            # the send (not from when a busy event loop got round to the answer) keeps the
            # poll schedule, which counts from ``submitted_at``, from running late.
            job = job.model_copy(update={"submitted_at": sent_at})
        return job


def _sent_at(response: httpx.Response, now: float) -> float | None:
    """When the request of a fully read response was sent (``None`` if unknown)."""
    try:
        return now - response.elapsed.total_seconds()
    except RuntimeError:  # built by hand (tests), not received through a client
        return None


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
    budget: RateBudget | None = None,
) -> Flow[httpx.Response]:
    """An idempotent GET, retried on 429, 5xx and network errors within the deadline.

    Each attempt first takes a slot of the client's request ``budget`` (when given).
    Returns the first response that is neither 429 nor 5xx.
    """
    failures = 0
    while True:
        error: APIError
        asked: float | None = None
        if budget is not None:
            delay = budget.reserve(clock())
            if delay > 0:
                yield Wait(min(delay, max(0.0, deadline - clock())))
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
    budget: RateBudget | None = None,
) -> Flow[Job]:
    """Poll until the job is terminal; return it (a failure is a state, not an exception).

    The schedule comes from ``estimator`` (see :class:`DurationEstimator`). When the backend
    does not report how long a job ran, the flow teaches the estimator itself: the job ended
    between the last pending answer and the first terminal one, so the midpoint is
    recorded (for a job already done at the first poll, half a short interval before it,
    which pulls a too-late first poll earlier and lets a too-early one drift later).

    Raises :class:`PollTimeoutError` at the deadline (the job may still run) and typed
    status errors (401, …) that retrying cannot fix.
    """
    if job.state.terminal:
        return job
    start = clock()
    deadline = start + poll.timeout
    wait = estimator.first_wait(max(0.0, wall() - job.submitted_at), poll)
    late = 0
    last_pending: float | None = None
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
            # Jitter de-synchronises jobs submitted together; it is a fraction of the short
            # interval, not of the wait, so a long first wait does not smear the first poll
            # over seconds around the expected end.
            spread = poll.jitter * min(wait, estimator.gap(poll))
            yield Wait(min(_jittered(wait, spread, rng), remaining))
        response = yield from _get(
            backend,
            partial(backend.build_status, job),
            job=job,
            retry=retry,
            rng=rng,
            clock=clock,
            deadline=deadline,
            wall=wall,
            budget=budget,
        )
        report = backend.parse_status(response, job)
        age = wall() - job.submitted_at
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
            last_pending = age
            wait, is_late = estimator.next_wait(age, late, poll)
            late += is_late
            if on_update is not None:
                on_update(job)
            continue
        job = job.model_copy(update={"completed_at": job.submitted_at + age})
        if report.state is JobState.SUCCEEDED and not backend.reports_duration:
            if last_pending is None:
                estimator.observe(max(0.0, age - estimator.gap(poll) / 2))
            else:
                estimator.observe((last_pending + age) / 2)
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


class Fetched(NamedTuple):
    """What :func:`result_flow` returns: the job and, for an image job, the checked image."""

    job: Job
    content: bytes | None = None
    media_type: str | None = None
    width: int = 0
    height: int = 0


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
    budget: RateBudget | None = None,
) -> Flow[Fetched]:
    """Fetch the result of a succeeded job and download its image, checked once.

    The result GET (an API call) takes a slot of ``budget``; the image download (often
    another host) does not.
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
        response = yield from _get(backend, lambda: fetch, budget=budget, **common)
        job = backend.parse_result(response, job)
        raise_for_job(backend, job)
    if job.kind == "structured_prompt":
        if job.returned_prompt is None:
            raise ResponseFormatError(
                "no structured prompt in the result",
                backend=backend.name,
                request_id=job.request_id,
            )
        return Fetched(job)
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
    media, width, height = check_image(
        content,
        declared,
        backend=backend.name,
        request_id=job.request_id,
        limit=max_image_bytes,
    )
    return Fetched(job, content, media, width, height)


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
    gate: anyio.CapacityLimiter | None = None,
) -> T:
    """Run a flow with an async httpx client (``sleep`` may be sync or async).

    ``gate``, when given, bounds the requests in flight across every flow sharing it: a
    request holds a slot from send until its body is read.
    """
    reply: httpx.Response | None = None
    error: BaseException | None = None
    try:
        while True:
            step = flow.send(reply) if error is None else flow.throw(error)
            reply, error = None, None
            if isinstance(step, Send):
                try:
                    if gate is None:
                        reply = await client.send(step.request)
                    else:
                        async with gate:
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
