"""Retry and polling policies, and reading a service's "wait this long" headers.

Constants follow the services' guidance (``reference/hosted-apis.md`` §10): idempotent GETs are
retried on 429, 5xx and network errors with capped exponential backoff and full jitter; a paid
submit is retried only when it provably was not accepted (see :mod:`._poll`).
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from datetime import datetime

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

    The first poll is scheduled near the expected end of the job (learned from completed
    jobs, or ``expected_duration`` / the backend's typical duration before any is seen); then
    the interval starts at ``min_interval`` and grows by ``growth`` up to ``max_interval``,
    each wait jittered by ±``jitter``.

    Attributes:
        timeout: overall deadline of one ``poll`` (seconds); the job may still run after it.
        min_interval: shortest wait between two polls.
        max_interval: longest wait between two polls.
        growth: factor applied to the interval after each pending answer.
        jitter: relative jitter of each wait.
        expected_duration: prior job duration before any job has completed.
        early: fraction of the expected duration to wait before the first poll.
    """

    timeout: float = 600.0
    min_interval: float = 0.25
    max_interval: float = 5.0
    growth: float = 1.5
    jitter: float = 0.2
    expected_duration: float | None = None
    early: float = 0.85


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
        from datetime import UTC

        stamp = stamp.replace(tzinfo=UTC)
    return max(0.0, stamp.timestamp() - now)
