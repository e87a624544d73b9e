"""Waiting for a job: follow its task stream where the service has one, else poll.

:func:`watch_flow` follows the service's task stream (inference.sh), and falls back to
:func:`~._flows.poll_flow` as soon as the stream breaks, ends without a terminal event, sends
nothing but heartbeats for ``PollPolicy.stream_idle`` seconds, or sends a line it cannot
read. Like every flow it performs no I/O itself (:mod:`._steps`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import httpx

from fibo_prompts.errors import ResponseFormatError
from fibo_prompts.generate._flows import poll_flow, updated
from fibo_prompts.generate._retry import PollPolicy, RetryPolicy
from fibo_prompts.generate._schedule import DurationEstimator, RateBudget
from fibo_prompts.generate._steps import Flow, NextLine, OpenStream, Wait
from fibo_prompts.generate.backends import Backend
from fibo_prompts.jobs import Job, JobState

__all__ = ["watch_flow"]


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
        job = updated(job, report, polls=job.polls)
        if report.state is JobState.PENDING:
            if on_update is not None:
                on_update(job)
            continue
        age = wall() - job.submitted_at
        job = job.model_copy(update={"completed_at": job.submitted_at + age})
        if report.state is JobState.SUCCEEDED and not backend.reports_duration:
            estimator.observe(age)  # streamed: seen done within the stream's latency
        return job, True
