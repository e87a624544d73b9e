"""Retry and polling policies, and reading a service's "wait this long" headers.

Constants follow the services' guidance (``docs/protocols.md``): idempotent GETs are retried
on 429, 5xx and network errors with capped exponential backoff and full jitter; a paid submit
is retried only when it provably was not accepted (see :mod:`._flows`).
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

__all__ = ["PollPolicy", "RetryPolicy", "retry_after"]


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried.

    Attributes:
        max_retries: consecutive failures of one idempotent request (poll, result fetch,
            image download) before giving up.
        submit_retries: retries of a submit that provably was not accepted (connection
            refused, 429, a 5xx without a request id).
        initial: first backoff in seconds; doubles per attempt.
        cap: longest backoff between two attempts.
        max_retry_after: longest server-requested wait honoured (longer asks are capped).
    """

    max_retries: int = 8
    submit_retries: int = 3
    initial: float = 0.5
    cap: float = 8.0
    max_retry_after: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``attempt`` (1-based): full jitter, capped."""
        ceiling = min(self.cap, self.initial * 2.0 ** max(0, attempt - 1))
        # half fixed, half random: never zero (no hot loop), never synchronised across jobs
        return ceiling / 2 + rng.random() * ceiling / 2


@dataclass(frozen=True)
class PollPolicy:
    """How a job's status is polled.

    Once a few jobs of the backend have completed, the schedule follows their durations: the
    first poll when the quickest ``first_quantile`` of them would be done, then polls
    ``dense_gap`` × the median apart until the ``dense_until`` quantile has passed, then an
    interval growing by ``growth`` up to ``max_interval`` and at most ``tail`` × the job's
    age. Before that, the first poll is at
    ``early`` × ``expected_duration`` (or the backend's typical duration) and the interval
    grows from ``dense_gap`` × that. Every wait is jittered by ±``jitter`` × the short interval
    (at most), and no interval is shorter than ``min_interval``.

    The defaults were tuned with ``bench/polling.py`` (log-normal job durations): about a
    third of the polls of a fixed 1 s interval, with a shorter median detection lag.

    Attributes:
        timeout: overall deadline of one ``poll`` (seconds); the job may still run after it.
        min_interval: shortest wait between two polls.
        max_interval: longest wait between two polls.
        growth: factor applied to the interval after each late pending answer.
        tail: a late interval is at most this fraction of the job's age (never below the
            short interval), so a straggler is seen done within about that share of its
            duration.
        jitter: jitter of each wait, as a fraction of the short interval.
        expected_duration: prior job duration before any job has completed.
        early: fraction of the expected duration to wait before the first poll (prior).
        first_quantile: the learned-duration quantile at which the first poll is made.
        dense_gap: the short interval, as a fraction of the median duration.
        dense_until: the learned-duration quantile until which the short interval is kept.
        rate_limit: at most this many API requests (submits, status polls and result
            fetches) per second across all jobs of one client (``None``: the backend's
            default: Segmind's plan, else no limit).
        stream: follow the service's task stream where the backend has one (inference.sh)
            instead of polling; any failure of the stream falls back to polling.
        stream_idle: seconds of stream without news (heartbeats only, or nothing) after
            which the client stops listening and polls (the inference.sh SDK's figure).
    """

    timeout: float = 600.0
    min_interval: float = 0.1
    max_interval: float = 5.0
    growth: float = 1.25
    tail: float = 0.1
    jitter: float = 0.2
    expected_duration: float | None = None
    early: float = 0.85
    first_quantile: float = 0.4
    dense_gap: float = 0.1
    dense_until: float = 0.97
    rate_limit: float | None = None
    stream: bool = True
    stream_idle: float = 30.0


def retry_after(response: httpx.Response, now: float) -> float | None:
    """Seconds the service asks us to wait, from its headers, or ``None``.

    Reads ``retry-after-ms``, ``Retry-After`` (seconds or an HTTP date) and Segmind's
    ``x-rate-limit-reset-at-utc`` (ISO 8601 or epoch seconds). ``now`` is the wall clock.
    """
    headers = response.headers
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is not None:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                parsed = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                return None
            return max(0.0, parsed.timestamp() - now)
    value = headers.get("x-rate-limit-reset-at-utc")
    if value is not None:
        return _reset_at(value, now)
    return None


def _reset_at(value: str, now: float) -> float | None:
    try:
        return max(0.0, float(value) - now)
    except ValueError:
        pass
    try:
        stamp = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=UTC)
    return max(0.0, stamp.timestamp() - now)
