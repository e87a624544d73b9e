"""The submit → poll → result protocol, written once and without I/O.

Each flow is a generator that yields :class:`Send` (do this request, resume me with the
response) or :class:`Wait` (sleep, resume me with ``None``), and returns its result; a flow
that follows a task stream also yields :class:`OpenStream` (resume me with the response, its
body left open) and :class:`NextLine` (resume me with the stream's next line, ``None`` at its
end). Transport errors are thrown into the flow (``flow.throw``), so the flow alone decides
what is retried.
:func:`drive` (``httpx.Client`` + ``time.sleep``) and :func:`adrive` (``httpx.AsyncClient`` +
``anyio.sleep``) are the only code that performs I/O, so the sync and async clients cannot
diverge, and the flows are tested with scripted responses and no clock.

The rules for anything that costs money (``design/architecture.md``):

* :func:`submit_flow` sends the paid POST. It retries only when the request provably was
  not accepted: a connection that never opened (``ConnectError``, ``ConnectTimeout``,
  ``PoolTimeout``), an HTTP 429, or a 5xx in the service's own documented error format
  (:meth:`Backend.documented_error`) that carries no request id. Anything else after the
  bytes left (read timeout, reset, truncated answer, a gateway's 502/504 or any 5xx page
  that is not the service's, a 2xx whose request id cannot be read) raises
  :class:`SubmitOutcomeUnknownError`: the job may exist and be billed, so it is never sent
  again automatically.
* :func:`poll_flow` and :func:`result_flow` only GET, which is idempotent: 429, 5xx and
  network errors are retried with capped exponential backoff and jitter, honouring
  ``Retry-After`` and Segmind's ``x-rate-limit-reset-at-utc``.
* :func:`watch_flow` follows the service's task stream where the backend has one
  (inference.sh), and falls back to :func:`poll_flow` as soon as the stream breaks, ends
  without a terminal event, sends nothing but heartbeats for ``PollPolicy.stream_idle``
  seconds, or sends a line it cannot read.
* :func:`cancel_flow` asks the service to stop a job (retried like a GET: cancelling twice is
  cancelling once).
* Every wait is bounded by the poll deadline; every request, body included, by the time
  left and the client's per-request cap, and every body by a byte limit (:mod:`._bounded`).
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import random
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from functools import partial
from typing import Any, NamedTuple, TypeVar

import anyio
import httpx

from fibo_prompts._images import MAX_PIXELS, open_image
from fibo_prompts._redact import redact_data
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
from fibo_prompts.generate._bounded import (
    RequestDeadline,
    ResponseTooLarge,
    abounded_lines,
    aread_body,
    bounded_lines,
    clamp_timeouts,
    read_body,
    request_deadline,
)
from fibo_prompts.generate._log import log_exchange
from fibo_prompts.generate._retry import PollPolicy, RetryPolicy, retry_after
from fibo_prompts.generate._transport import AsyncHTTP11Transport
from fibo_prompts.generate.backends._base import Backend, StatusReport
from fibo_prompts.generate.models import Job, JobState

__all__ = [
    "DurationEstimator",
    "PollPlan",
    "Fetched",
    "NextLine",
    "OpenStream",
    "RateBudget",
    "RequestGate",
    "Send",
    "Wait",
    "adrive",
    "cancel_flow",
    "drive",
    "poll_flow",
    "result_flow",
    "submit_flow",
    "watch_flow",
]

T = TypeVar("T")


class Send(NamedTuple):
    """Perform this request and resume the flow with its response, body read.

    ``timeout`` bounds the whole exchange, body included (seconds; ``None``: only the
    driver's per-request cap); the driver throws :class:`RequestDeadline` into the flow when
    it cut the request. ``limit`` caps the body (bytes; ``None``: the driver's limit);
    :class:`ResponseTooLarge` is thrown when it is passed.
    """

    request: httpx.Request
    timeout: float | None = None
    limit: int | None = None


class Wait(NamedTuple):
    """Sleep this many seconds and resume the flow with ``None``."""

    seconds: float


class OpenStream(NamedTuple):
    """Send this request and resume the flow with the response, its body left open.

    A 2xx body stays open for :class:`NextLine` until the flow yields anything else or ends;
    any other status is read in full and closed at once.
    """

    request: httpx.Request


class NextLine(NamedTuple):
    """Resume the flow with the open stream's next line (``None`` at its end).

    Waiting longer than ``timeout`` seconds is thrown into the flow as ``httpx.ReadTimeout``.
    """

    timeout: float


Step = Send | Wait | OpenStream | NextLine
Reply = httpx.Response | str | None
Flow = Generator[Step, Reply, T]

#: Errors raised while connecting: the request never reached the service.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
MAX_IMAGE_BYTES = 50 * 1024 * 1024
#: the service's own answers (submit, status, result JSON) are read up to at least this,
#: whatever ``max_image_bytes`` says: a submit answer cut by a cap meant for images would
#: turn a paid job into "outcome unknown"
MIN_ANSWER_BYTES = 1024 * 1024


def answer_limit(max_image_bytes: int) -> int:
    """The body limit of the drivers for a client capping images at ``max_image_bytes``
    (image downloads carry their own ``limit``, and :func:`check_image` checks it again)."""
    return max(max_image_bytes, MIN_ANSWER_BYTES)


#: no single HTTP request (a submit included) lasts longer than this, body included, unless
#: the client's ``request_timeout`` says otherwise
REQUEST_TIMEOUT = 600.0
#: a request started at its flow's deadline still gets this long: the last poll, made at the
#: deadline, can still see a job that ended just in time
LAST_WORD = 0.5
#: what a deadline hit says, by what was being fetched
_LATE = {
    False: "the deadline passed before the service's answer had arrived in full; the job may "
    "still be running: resume it later (`fibo jobs resume`)",
    True: "the deadline passed before the image had arrived in full; the job succeeded: "
    "collect it later (`fibo jobs resume`) before the service's retention ends",
}
_BUDGET_LATE = (
    "the deadline passed before the request budget (the client's requests per minute, e.g. "
    "Segmind's plan) had a slot for the next request; the job may still be running: resume "
    "it later (`fibo jobs resume`), or raise the budget or PollPolicy.timeout"
)
_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg", b"RIFF": "image/webp"}


class DurationEstimator:
    """Learns how long a backend's jobs take, so polls land where jobs actually end.

    Keeps the last ``window`` durations, each either reported by the service (Segmind's
    ``total_time``) or estimated by the client from when it saw the job pending and done.
    A job's poll schedule (:meth:`plan`, fixed when its wait starts) is derived from their
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

    def plan(self, policy: PollPolicy) -> PollPlan:
        """The poll schedule of a job starting now, fixed from today's quantiles.

        Fixed per job on purpose: when many jobs run at once, the durations observed while
        they finish are those of the quickest first and the slowest last, so quantiles read
        mid-batch would drift towards the stragglers and widen every later job's intervals.
        """
        if self.learned:
            first = self.quantile(policy.first_quantile)
            typical = self.quantile(0.5)
            dense_until: float | None = self.quantile(policy.dense_until)
        else:
            expected = policy.expected_duration or self.prior
            first, typical, dense_until = expected * policy.early, expected, None
        gap = max(policy.min_interval, policy.dense_gap * typical)
        if not self.learned and policy.expected_duration is None:
            # The backend's prior is a guess, not a lower bound: a first poll at 85 % of it
            # saw a job that was done at once 17 s late (Bria, 20 s prior). Until durations
            # are learned, poll from one short interval on, so any job ending before the
            # prior is seen within one interval (then within a tenth of its age).
            first = min(first, gap)
        return PollPlan(first, gap, dense_until, policy.growth, policy.max_interval, policy.tail)

    def gap(self, policy: PollPolicy) -> float:
        """The short interval used near the expected end of a job."""
        return self.plan(policy).gap

    def first_wait(self, age: float, policy: PollPolicy) -> float:
        """Seconds to wait before the first poll of a job already ``age`` seconds old."""
        return self.plan(policy).first_wait(age)

    def next_wait(self, age: float, late_polls: int, policy: PollPolicy) -> tuple[float, bool]:
        """The wait after a pending answer at ``age``, and whether it is a "late" poll
        (see :meth:`PollPlan.next_wait`)."""
        return self.plan(policy).next_wait(age, late_polls)


class PollPlan(NamedTuple):
    """One job's poll schedule (from :meth:`DurationEstimator.plan`), in seconds of age."""

    first_at: float
    gap: float
    dense_until: float | None
    growth: float
    max_interval: float
    tail: float = 0.1

    def first_wait(self, age: float) -> float:
        """Seconds to wait before the first poll of a job already ``age`` seconds old."""
        return max(0.0, self.first_at - age)

    def next_wait(self, age: float, late_polls: int) -> tuple[float, bool]:
        """The wait after a pending answer at ``age``, and whether it is a "late" poll.

        ``late_polls`` counts the pending answers already past the dense window; the
        interval grows by ``growth`` with each, up to ``max_interval``, and never beyond
        ``tail`` × the job's age (nor below the short interval): a straggler is seen done
        within a tenth of its own duration, so the slowest job of a batch does not hold the
        batch up for seconds.
        """
        if self.dense_until is not None and age + self.gap <= self.dense_until:
            return self.gap, False
        grown = self.gap * self.growth ** (late_polls + 1)
        return min(self.max_interval, grown, max(self.gap, self.tail * age)), True


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

#: statuses only a gateway or proxy answers (RFC 9110 §15.6.3 and §15.6.5): the service
#: behind it may have received and accepted the request, whatever the body says
GATEWAY_STATUSES = frozenset({502, 504})
_NOT_RESENT = (
    "it may have been accepted and billed, so it was not resent: check the service's "
    "dashboard or `fibo jobs list` before submitting again"
)


#: the generation parameters that hold URLs, and so may hold credentials
_URL_PARAMETERS = frozenset({"webhook_url", "images"})


def stored_parameters(parameters: dict[str, Any]) -> dict[str, Any]:
    """``parameters`` as a job keeps them once sent (journal, provenance, library): webhook
    and reference-image URLs without credentials; the prompt's words (``text``,
    ``negative_prompt``) exactly as sent."""
    return {k: redact_data(v) if k in _URL_PARAMETERS else v for k, v in parameters.items()}


def refused_by_service(backend: Backend, response: httpx.Response) -> bool:
    """Whether a 5xx answer to a submit is the service's own refusal: a status a service
    sends itself (not 502/504) with a body in its documented error format."""
    return response.status_code not in GATEWAY_STATUSES and backend.documented_error(response)


def _unknown_answer(backend: Backend, response: httpx.Response) -> SubmitOutcomeUnknownError:
    """The error of a 5xx answer that does not prove the job was refused."""
    status = response.status_code
    if backend.documented_error(response):
        told = f"HTTP {status} came back, a gateway's status (the service behind it may have"
        told += " taken the job)"
    else:
        media = response.headers.get("content-type", "").split(";")[0].strip()
        told = (
            f"HTTP {status} came back without the service's own error body (a gateway's page, "
            f"{media or 'no content type'})"
        )
    return SubmitOutcomeUnknownError(
        f"the submit was sent but {told}; {_NOT_RESENT}", backend=backend.name
    )


def submit_flow(
    backend: Backend,
    build: Callable[[], httpx.Request],
    parse: Callable[[httpx.Response], Job],
    *,
    retry: RetryPolicy,
    rng: random.Random,
    wall: Callable[[], float] = time.time,
    budget: RateBudget | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Flow[Job]:
    """Send the paid POST once; retry only when it provably was not accepted.

    Each attempt first takes a slot of the client's request ``budget`` (when given): a
    service's rate limit (Segmind's plans) counts submits as well as polls.

    Raises:
        SubmitOutcomeUnknownError: the body was sent and no answer proves the job was
            refused (nothing is resent).
        APIConnectionError: no connection after ``retry.submit_retries`` retries (nothing
            was sent).
        APIStatusError: the service refused the job (its own 4xx/5xx, or a 429 every time).
    """
    attempt = 0
    while True:
        if budget is not None:
            delay = budget.reserve(clock())
            if delay > 0:
                yield Wait(delay)
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
                f"the submit was sent but no answer came back ({type(exc).__name__}); "
                + _NOT_RESENT,
                backend=backend.name,
            ) from exc
        assert isinstance(response, httpx.Response)
        status = response.status_code
        if status >= 500 and not refused_by_service(backend, response):
            raise _unknown_answer(backend, response)
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
        try:
            job = parse(response)
        except (ResponseFormatError, ValueError) as exc:  # pydantic's errors are ValueErrors
            why = exc.message if isinstance(exc, ResponseFormatError) else "unexpected fields"
            raise SubmitOutcomeUnknownError(
                f"the submit was accepted (HTTP {status}) but its answer could not be read "
                f"({why}); {_NOT_RESENT}",
                backend=backend.name,
            ) from exc
        if job.parameters:
            job = job.model_copy(update={"parameters": stored_parameters(job.parameters)})
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
    image: bool = False,
    limit: int | None = None,
) -> Flow[httpx.Response]:
    """An idempotent GET, retried on 429, 5xx and network errors within the deadline.

    Each attempt first takes a slot of the client's request ``budget`` (when given; a slot
    after the deadline raises :class:`PollTimeoutError` there, nothing is sent early), and may
    take until the deadline (at least :data:`LAST_WORD`), body included; a request still
    answering then raises :class:`PollTimeoutError`. A body over ``limit`` bytes (``None``:
    the driver's limit) raises at once, unretried: :class:`ImageError` for an ``image``
    download, else :class:`ResponseFormatError`.
    Returns the first response that is neither 429 nor 5xx.
    """
    failures = 0
    while True:
        error: APIError
        asked: float | None = None
        if budget is not None:
            delay = budget.reserve(clock())
            if delay > 0:
                room = max(0.0, deadline - clock())
                yield Wait(min(delay, room))
                if delay > room:
                    # sending before the slot would break the service's rate limit (a 429
                    # by design): the poll ends as a timeout, the job is resumable
                    raise PollTimeoutError(
                        _BUDGET_LATE, backend=backend.name, request_id=job.request_id, job=job
                    )
        try:
            window = max(LAST_WORD, deadline - clock())
            response = yield Send(build(), timeout=window, limit=limit)
        except httpx.DecodingError as exc:
            raise ResponseFormatError(
                f"undecodable response ({exc})", backend=backend.name, request_id=job.request_id
            ) from exc
        except ResponseTooLarge as exc:
            raise _too_large(exc, backend.name, job.request_id, image=image) from exc
        except RequestDeadline as exc:
            raise PollTimeoutError(
                _LATE[image], backend=backend.name, request_id=job.request_id, job=job
            ) from exc
        except httpx.HTTPError as exc:
            error = APIConnectionError(
                f"network error ({type(exc).__name__}) after {failures + 1} attempts",
                backend=backend.name,
                request_id=job.request_id,
            )
            error.__cause__ = exc
        else:
            assert isinstance(response, httpx.Response)
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


def _too_large(
    exc: ResponseTooLarge, backend: str, request_id: str, *, image: bool
) -> ImageError | ResponseFormatError:
    """The error of a body refused or cut at the size limit: what, how big, what to do."""
    what = "the image" if image else "the service's answer"
    if exc.declared is not None:
        told = (
            f"{what} is {exc.declared} bytes (its Content-Length), over the limit of "
            f"{exc.limit} bytes, so it was not downloaded"
        )
    elif image:
        told = f"{what} is over the limit of {exc.limit} bytes (the download stopped there)"
    else:
        told = f"{what} is over the limit of {exc.limit} bytes (reading stopped there)"
    things = "images" if image else "answers"
    advice = (
        f"raise --max-image-bytes (the client's max_image_bytes=) if {things} this large "
        "are expected"
    )
    if image:
        return ImageError(f"{backend} request {request_id}: {told}; {advice}")
    return ResponseFormatError(f"{told}; {advice}", backend=backend, request_id=request_id)


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
    immediate: bool = False,
    start: float | None = None,
) -> Flow[Job]:
    """Poll until the job is terminal; return it (a failure is a state, not an exception).

    The schedule comes from ``estimator`` (see :class:`DurationEstimator`). When the backend
    does not report how long a job ran, the flow teaches the estimator itself: the job ended
    between the last pending answer and the first terminal one, so the midpoint is
    recorded (for a job already done at the first poll, half a short interval before it,
    which pulls a too-late first poll earlier and lets a too-early one drift later).
    ``immediate`` polls at once (after a broken task stream, whose last news is stale);
    ``start`` is when the wait began (``clock()``; default now): the deadline counts from it.

    Raises :class:`PollTimeoutError` at the deadline (the job may still run) and typed
    status errors (401, …) that retrying cannot fix.
    """
    if job.state.terminal:
        return job
    start = clock() if start is None else start
    deadline = start + poll.timeout
    plan = estimator.plan(poll)
    wait = 0.0 if immediate else plan.first_wait(max(0.0, wall() - job.submitted_at))
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
            spread = poll.jitter * min(wait, plan.gap)
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
        job = _updated(job, report, polls=job.polls + 1)
        if report.state is JobState.PENDING:
            last_pending = age
            wait, is_late = plan.next_wait(age, late)
            late += is_late
            if on_update is not None:
                on_update(job)
            continue
        job = job.model_copy(update={"completed_at": job.submitted_at + age})
        if report.state is JobState.SUCCEEDED and not backend.reports_duration:
            if last_pending is None:
                estimator.observe(max(0.0, age - plan.gap / 2))
            else:
                estimator.observe((last_pending + age) / 2)
        return job


def _updated(job: Job, report: StatusReport, *, polls: int) -> Job:
    return job.model_copy(
        update={
            "state": report.state,
            "status": report.status,
            "polls": polls,
            "error": report.error,
            "moderated": report.moderated,
            **report.updates,
        }
    )


# ---------------------------------------------------------------------------------- stream


def watch_flow(
    backend: Backend,
    job: Job,
    *,
    stream: bool,
    estimator: DurationEstimator,
    poll: PollPolicy,
    retry: RetryPolicy,
    rng: random.Random,
    clock: Callable[[], float],
    wall: Callable[[], float] = time.time,
    on_update: Callable[[Job], None] | None = None,
    budget: RateBudget | None = None,
) -> Flow[Job]:
    """Wait for the job to end: follow its task stream when ``stream`` and the backend has
    one, else (or once the stream breaks) poll. Same result and errors as :func:`poll_flow`.

    A job is seen done within the stream's own latency, with no status GET at all; a stream
    that fails in any way costs one immediate status GET, then the poll schedule, inside the
    same deadline.
    """
    if job.state.terminal:
        return job
    start = clock()
    request = backend.build_stream(job) if stream else None
    broken = False
    if request is not None:
        job, done = yield from _follow(
            backend,
            job,
            request,
            start=start,
            estimator=estimator,
            poll=poll,
            clock=clock,
            wall=wall,
            on_update=on_update,
            budget=budget,
        )
        if done:
            return job
        broken = True
    return (
        yield from poll_flow(
            backend,
            job,
            estimator=estimator,
            poll=poll,
            retry=retry,
            rng=rng,
            clock=clock,
            wall=wall,
            on_update=on_update,
            budget=budget,
            immediate=broken,
            start=start,
        )
    )


def _follow(
    backend: Backend,
    job: Job,
    request: httpx.Request,
    *,
    start: float,
    estimator: DurationEstimator,
    poll: PollPolicy,
    clock: Callable[[], float],
    wall: Callable[[], float],
    on_update: Callable[[Job], None] | None,
    budget: RateBudget | None,
) -> Flow[tuple[Job, bool]]:
    """Read the task stream until a terminal event: ``(job, True)``; ``(job, False)`` when
    the stream broke, ended, idled or garbled (the caller polls)."""
    deadline = start + poll.timeout
    if budget is not None:
        delay = budget.reserve(clock())
        if delay > 0:
            yield Wait(min(delay, max(0.0, deadline - clock())))
    # Each read waits at most this long, whatever the driver: the sync one cannot cancel a
    # blocking read, so the bound is the stream request's own read timeout.
    read = max(0.001, min(poll.stream_idle, deadline - clock()))
    timeout = httpx.Timeout(30.0, connect=10.0, pool=60.0, read=read)
    request.extensions = {**request.extensions, "timeout": timeout.as_dict()}
    try:
        response = yield OpenStream(request)
    except httpx.HTTPError:
        return job, False
    assert isinstance(response, httpx.Response)
    if response.status_code in (401, 403):
        raise backend.error_for(response, request_id=job.request_id)
    if not response.is_success:
        return job, False
    last_news = clock()
    while True:
        now = clock()
        quiet = poll.stream_idle - (now - last_news)
        if now >= deadline or quiet <= 0:
            return job, False
        try:
            line = yield NextLine(min(quiet, deadline - now))
        except httpx.HTTPError:
            return job, False
        if line is None:
            return job, False
        assert isinstance(line, str)
        try:
            report = backend.parse_stream_line(line, job)
        except ResponseFormatError:
            return job, False
        if report is None:  # a heartbeat, a log line, a field that is not the status
            continue
        last_news = clock()
        job = _updated(job, report, polls=job.polls)
        if report.state is JobState.PENDING:
            if on_update is not None:
                on_update(job)
            continue
        age = wall() - job.submitted_at
        job = job.model_copy(update={"completed_at": job.submitted_at + age})
        if report.state is JobState.SUCCEEDED and not backend.reports_duration:
            estimator.observe(age)  # streamed: seen done within the stream's latency
        return job, True


# ---------------------------------------------------------------------------------- cancel


def cancel_flow(
    backend: Backend,
    job: Job,
    *,
    poll: PollPolicy,
    retry: RetryPolicy,
    rng: random.Random,
    clock: Callable[[], float],
    wall: Callable[[], float] = time.time,
) -> Flow[Job]:
    """Ask the service to stop ``job``; return the job as the service then reports it.

    A job the service has not finished stopping (inference.sh ``CANCELLING``) is returned
    ``CANCELLED`` with the service's word in ``status``: the request was accepted, and a
    cancelled job is not resumed. A job that had already ended keeps its state (a succeeded
    one can still be collected). A terminal job is returned unchanged, without a request.

    Raises:
        ConfigurationError: the service has no cancel endpoint (nothing is sent).
    """
    build = partial(backend.build_cancel, job)
    build()  # raises at once where the service cannot cancel, whatever the job's state
    if job.state.terminal:
        return job
    response = yield from _get(
        backend,
        build,
        job=job,
        retry=retry,
        rng=rng,
        clock=clock,
        deadline=clock() + poll.timeout,
        wall=wall,
    )
    report = backend.parse_cancel(response, job)
    update: dict[str, Any] = {}
    if not report.state.terminal:
        report = StatusReport(
            JobState.CANCELLED,
            report.status,
            f"cancel requested; the service reported {report.status}",
            updates=report.updates,
        )
    if report.state is not JobState.SUCCEEDED:
        update["completed_at"] = wall()
    return _updated(job, report, polls=job.polls).model_copy(update=update)


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
    if job.state is JobState.CANCELLED:
        raise GenerationFailedError(
            f"{message}: the job was cancelled (by cancel() or on the service), so there is "
            "nothing to collect; submit again to get an image",
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
    content: bytes,
    media_type: str | None,
    *,
    backend: str,
    request_id: str,
    limit: int,
    max_pixels: int = MAX_PIXELS,
) -> tuple[str, int, int]:
    """Validate downloaded image bytes; the media type sniffed from them, width, height.

    An image declaring more than ``max_pixels`` pixels is refused before anything decodes
    it (the store, thumbnails and contact sheets would).
    """
    if not content:
        raise ImageError(f"{backend} request {request_id}: the image is empty")
    if len(content) > limit:
        raise ImageError(
            f"{backend} request {request_id}: the image is over the limit of {limit} bytes; "
            "raise --max-image-bytes (the client's max_image_bytes=) if images this large are "
            "expected"
        )
    sniffed = next((t for magic, t in _MAGIC.items() if content.startswith(magic)), None)
    declared = (media_type or "").split(";")[0].strip().lower()
    if sniffed is None:
        raise ImageError(
            f"{backend} request {request_id}: not a PNG, JPEG or WebP image "
            f"(declared {declared or 'nothing'})"
        )
    if declared and not declared.startswith("image/") and declared != "application/octet-stream":
        raise ImageError(f"{backend} request {request_id}: served as {declared}, not an image")
    from PIL import UnidentifiedImageError

    prefix = f"{backend} request {request_id}: "
    try:
        hint = "a FIBO render has a few million; check the service"
        with open_image(content, max_pixels=max_pixels, prefix=prefix, hint=hint) as image:
            image.verify()
            width, height = image.size
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageError(f"{prefix}corrupt image ({exc})") from exc
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
    another host) does not. Both end by the deadline (``poll.timeout`` from now), and the
    download stops past ``max_image_bytes`` (refused unread when its ``Content-Length`` is
    over).
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
        response = yield from _get(
            backend,
            lambda: backend.request("GET", url),
            image=True,
            limit=max_image_bytes,
            **common,
        )
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


class _Bound(NamedTuple):
    """How long one request may take: the flow's deadline (a ``time.monotonic()`` instant)
    and the client's per-request cap (seconds), whichever ends first."""

    flow_deadline: float | None
    cap: float | None

    @classmethod
    def of(cls, step: Send, cap: float | None) -> _Bound:
        """The bound of ``step``; its flow deadline counts from now."""
        flow = None if step.timeout is None else time.monotonic() + step.timeout
        return cls(flow, cap)

    def window(self) -> tuple[float | None, bool]:
        """Seconds left from now, and whether the flow's deadline (not the cap) sets them."""
        if self.flow_deadline is not None:
            left = self.flow_deadline - time.monotonic()
            if self.cap is None or left <= self.cap:
                return left, True
        return self.cap, False


#: a timeout this close to the deadline (seconds) was the deadline's doing
_TIMER_SLACK = 0.01


def _deadline_hit(exc: httpx.HTTPError, seconds: float | None, until: float, by_flow: bool) -> bool:
    """Whether ``exc`` is the flow's deadline cutting the request (not a read timeout)."""
    return (
        by_flow
        and seconds is not None
        and isinstance(exc, httpx.TimeoutException)
        and time.monotonic() >= until - _TIMER_SLACK
    )


def _late(exc: httpx.HTTPError) -> RequestDeadline:
    late = RequestDeadline(f"the flow's deadline passed ({type(exc).__name__}: {exc})")
    late.__cause__ = exc
    return late


def _send_sync(
    client: httpx.Client, request: httpx.Request, seconds: float | None, limit: int
) -> httpx.Response:
    """``client.send(request)``, the whole exchange within ``seconds``, body within ``limit``."""
    deadline = None
    if seconds is not None:
        if seconds <= 0:
            raise httpx.ReadTimeout("no time left for the request")
        clamp_timeouts(request, client.timeout, seconds)
        deadline = time.monotonic() + seconds
    with request_deadline(deadline):
        response = client.send(request, stream=True)
        try:
            read_body(response, limit, deadline)
        finally:
            response.close()
    return response


def drive(
    flow: Flow[T],
    client: httpx.Client,
    sleep: Callable[[float], None] = time.sleep,
    *,
    max_body: int = MAX_IMAGE_BYTES,
    request_timeout: float | None = REQUEST_TIMEOUT,
) -> T:
    """Run a flow with a sync httpx client.

    Every body is read up to ``max_body`` bytes (or the step's ``limit``); every request
    ends within ``request_timeout`` seconds (``None``: no cap) and its step's ``timeout``,
    body included. The whole-request bound holds inside socket reads on the client's own
    pool (:class:`DeadlineHTTPTransport`); on another client it is checked between body
    chunks, each read bounded by the request's timeouts clamped to the time left.
    """
    reply: Reply = None
    error: BaseException | None = None
    stream: httpx.Response | None = None
    lines: Iterator[str] | None = None
    try:
        while True:
            step = flow.send(reply) if error is None else flow.throw(error)
            reply, error = None, None
            if stream is not None and not isinstance(step, NextLine):
                _close_lines(lines)
                stream.close()
                stream = lines = None
            if isinstance(step, Send):
                seconds, by_flow = _Bound.of(step, request_timeout).window()
                until = time.monotonic() + (seconds or 0.0)
                try:
                    reply = _send_sync(client, step.request, seconds, step.limit or max_body)
                except httpx.HTTPError as exc:
                    log_exchange(step.request, None, type(exc).__name__)
                    error = _late(exc) if _deadline_hit(exc, seconds, until, by_flow) else exc
                else:
                    log_exchange(step.request, reply)
            elif isinstance(step, Wait):
                sleep(step.seconds)
            elif isinstance(step, OpenStream):
                # the stream must start answering within its read timeout (the flow sets it
                # to the time it will listen), head included
                opening = _stream_open_window(step.request, client.timeout, request_timeout)
                try:
                    with request_deadline(time.monotonic() + opening):
                        reply = client.send(step.request, stream=True)
                        if reply.is_success:
                            stream, lines = reply, bounded_lines(reply.iter_text())
                        else:
                            try:
                                read_body(reply, max_body)
                            finally:
                                reply.close()
                except httpx.HTTPError as exc:
                    log_exchange(step.request, None, type(exc).__name__)
                    error = exc
                else:
                    log_exchange(step.request, reply)
            elif lines is not None:  # NextLine: within its timeout on the client's own pool
                try:
                    with request_deadline(time.monotonic() + step.timeout):
                        reply = next(lines, None)
                except httpx.HTTPError as exc:
                    error = exc
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        if stream is not None:
            _close_lines(lines)
            stream.close()
        flow.close()


def _stream_open_window(request: httpx.Request, default: httpx.Timeout, cap: float | None) -> float:
    """Seconds a task stream may take to answer: its read timeout, within the cap."""
    timeouts = request.extensions.get("timeout") or default.as_dict()
    read = timeouts.get("read")
    limits = [t for t in (read, cap) if t is not None]
    return min(limits) if limits else REQUEST_TIMEOUT


def _close_lines(lines: Iterator[str] | None) -> None:
    close = getattr(lines, "close", None)
    if close is not None:
        close()


async def _aclose_lines(lines: AsyncIterator[str] | None) -> None:
    # a line iterator left half-read would otherwise be finalised later by the event loop
    aclose = getattr(lines, "aclose", None)
    if aclose is not None:
        await aclose()


async def _exchange(
    client: httpx.AsyncClient,
    request: httpx.Request,
    direct: AsyncHTTP11Transport | None,
    limit: int,
) -> httpx.Response:
    """``client.send(request)`` (or through the client's own transport), body read up to
    ``limit`` bytes."""
    if direct is None:
        response = await client.send(request, stream=True)
        try:
            await aread_body(response, limit)
        finally:
            await response.aclose()
        return response
    if "timeout" not in request.extensions:
        request.extensions = {**request.extensions, "timeout": client.timeout.as_dict()}
    start = time.perf_counter()
    response = await direct.handle_async_request(request)
    response.request = request
    try:
        await aread_body(response, limit)
    finally:
        await response.aclose()
    response.elapsed = datetime.timedelta(seconds=time.perf_counter() - start)
    return response


async def _send(
    client: httpx.AsyncClient,
    request: httpx.Request,
    direct: AsyncHTTP11Transport | None,
    seconds: float | None = None,
    limit: int = MAX_IMAGE_BYTES,
) -> httpx.Response:
    """``client.send(request)``, or the same through the client's own transport, the whole
    exchange within ``seconds`` (``None``: unbounded) and the body within ``limit`` bytes.

    A request cut by ``seconds`` raises ``httpx.ReadTimeout`` (it may have been sent): the
    phase timeouts are clamped to ``seconds`` first, so one cut while waiting for a
    connection still raises its own "not sent" error.
    """
    if seconds is None:
        return await _exchange(client, request, direct, limit)
    if seconds <= 0:
        raise httpx.ReadTimeout("no time left for the request")
    clamp_timeouts(request, client.timeout, seconds)
    try:
        if direct is not None and _on_asyncio():
            # asyncio's own timeout costs half of anyio's cancel scope, on every request
            async with asyncio.timeout(seconds):
                return await _exchange(client, request, direct, limit)
        with anyio.fail_after(seconds):
            return await _exchange(client, request, direct, limit)
    except TimeoutError:
        raise httpx.ReadTimeout(f"the request took longer than {seconds:.3g} s") from None


def _on_asyncio() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # trio, through anyio
        return False
    return True


class RequestGate:
    """At most ``slots`` requests in flight across the flows sharing it (asyncio or trio).

    A free slot is taken without yielding to the event loop (``anyio.CapacityLimiter`` spends
    one loop iteration per acquisition, on every request of every job); a released slot goes
    straight to the longest waiter, so no task can overtake one that waits.
    """

    def __init__(self, slots: int) -> None:
        self.slots = max(1, slots)
        self._free = self.slots
        self._waiters: deque[anyio.Event] = deque()

    async def __aenter__(self) -> None:
        if self._free > 0 and not self._waiters:
            self._free -= 1
            return
        granted = anyio.Event()
        self._waiters.append(granted)
        try:
            await granted.wait()
        except BaseException:
            if granted.is_set():
                self._release()  # the slot was handed over as this task was cancelled
            else:
                self._waiters.remove(granted)
            raise

    async def __aexit__(self, *exc: object) -> None:
        self._release()

    def _release(self) -> None:
        if self._waiters:
            self._waiters.popleft().set()
        else:
            self._free += 1


async def adrive(
    flow: Flow[T],
    client: httpx.AsyncClient,
    sleep: Callable[[float], Any] = anyio.sleep,
    gate: RequestGate | None = None,
    direct: AsyncHTTP11Transport | None = None,
    *,
    max_body: int = MAX_IMAGE_BYTES,
    request_timeout: float | None = REQUEST_TIMEOUT,
) -> T:
    """Run a flow with an async httpx client (``sleep`` may be sync or async).

    Bodies and requests are bounded as in :func:`drive` (``max_body``,
    ``request_timeout`` and each step's own ``timeout`` and ``limit``), by a cancel scope
    around each whole exchange, whatever the transport.

    ``gate``, when given, bounds the requests in flight across every flow sharing it: a
    request holds a slot from send until its body is read. An open task stream holds none
    (it is mostly idle, for as long as the job runs). ``direct`` is the client's own
    transport, given only when the client is the library's own (no auth, hooks, cookies or
    redirects configured): plain requests then go to it straight, skipping httpx's client
    layer, which cost a third of each request's CPU (``bench/polling.py``).
    """
    reply: Reply = None
    error: BaseException | None = None
    stream: httpx.Response | None = None
    lines: AsyncIterator[str] | None = None
    try:
        while True:
            step = flow.send(reply) if error is None else flow.throw(error)
            reply, error = None, None
            if stream is not None and not isinstance(step, NextLine):
                await _aclose_lines(lines)
                await stream.aclose()
                stream = lines = None
            if isinstance(step, Send):
                bound = _Bound.of(step, request_timeout)
                limit = step.limit or max_body
                seconds: float | None = None
                by_flow = False
                until = 0.0
                try:
                    if gate is None:
                        seconds, by_flow = bound.window()
                        until = time.monotonic() + (seconds or 0.0)
                        reply = await _send(client, step.request, direct, seconds, limit)
                    else:
                        async with gate:
                            # the cap counts from here: queueing behind other jobs' requests
                            # is no sign of a slow service (and sends nothing)
                            seconds, by_flow = bound.window()
                            until = time.monotonic() + (seconds or 0.0)
                            reply = await _send(client, step.request, direct, seconds, limit)
                except httpx.HTTPError as exc:
                    log_exchange(step.request, None, type(exc).__name__)
                    error = _late(exc) if _deadline_hit(exc, seconds, until, by_flow) else exc
                else:
                    log_exchange(step.request, reply)
            elif isinstance(step, Wait):
                pending = sleep(step.seconds)
                if pending is not None and hasattr(pending, "__await__"):
                    await pending
            elif isinstance(step, OpenStream):
                opening = _stream_open_window(step.request, client.timeout, request_timeout)
                try:
                    try:
                        with anyio.fail_after(opening):
                            reply = await client.send(step.request, stream=True)
                    except TimeoutError:
                        raise httpx.ReadTimeout("the task stream did not answer in time") from None
                    if reply.is_success:
                        stream, lines = reply, abounded_lines(reply.aiter_text())
                    else:
                        try:
                            with anyio.fail_after(opening):
                                await aread_body(reply, max_body)
                        except TimeoutError:
                            raise httpx.ReadTimeout("the answer did not arrive in time") from None
                        finally:
                            await reply.aclose()
                except httpx.HTTPError as exc:
                    log_exchange(step.request, None, type(exc).__name__)
                    error = exc
                else:
                    log_exchange(step.request, reply)
            elif lines is not None:  # NextLine
                try:
                    with anyio.fail_after(step.timeout):
                        reply = await anext(lines, None)
                except TimeoutError:
                    error = httpx.ReadTimeout("no stream line within the wait")
                except httpx.HTTPError as exc:
                    error = exc
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    finally:
        if stream is not None:
            await _aclose_lines(lines)
            await stream.aclose()
        flow.close()
