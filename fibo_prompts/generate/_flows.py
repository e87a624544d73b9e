"""The submit → poll → result protocol, written once and without I/O.

Each flow is a generator of :mod:`._steps` (requests to send, waits, a task stream to read)
that returns its result; the drivers of :mod:`._drive` perform the I/O, and throw transport
errors into the flow, so the flow alone decides what is retried.

The rules for anything that costs money:

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
* :func:`~._stream.watch_flow` follows the service's task stream where the backend has one
  (inference.sh), and falls back to :func:`poll_flow` when the stream fails.
* :func:`cancel_flow` asks the service to stop a job (retried like a GET: cancelling twice is
  cancelling once).
* Every wait is bounded by the poll deadline; every request, body included, by the time
  left and the client's per-request cap, and every body by a byte limit (:mod:`._bounded`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import httpx

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
from fibo_prompts.generate._bounded import RequestDeadline, ResponseTooLarge
from fibo_prompts.generate._images import MAX_IMAGE_BYTES, check_image
from fibo_prompts.generate._retry import PollPolicy, RetryPolicy, retry_after
from fibo_prompts.generate._schedule import DurationEstimator, RateBudget, jittered
from fibo_prompts.generate._steps import NOT_SENT, Flow, Send, Wait
from fibo_prompts.generate.backends import Backend, StatusReport
from fibo_prompts.jobs import Job, JobState

__all__ = [
    "Fetched",
    "cancel_flow",
    "poll_flow",
    "raise_for_job",
    "result_flow",
    "stored_parameters",
    "submit_flow",
    "updated",
]

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
            yield Wait(min(jittered(wait, spread, rng), remaining))
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
        job = updated(job, report, polls=job.polls + 1)
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


def updated(job: Job, report: StatusReport, *, polls: int) -> Job:
    """``job`` as the service now ``report``'s it, after ``polls`` status requests."""
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
    return updated(job, report, polls=job.polls).model_copy(update=update)


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
