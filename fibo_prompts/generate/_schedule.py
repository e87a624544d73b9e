"""When to poll: the learned duration of jobs, one job's poll plan, the client's rate budget.

Pure bookkeeping, no I/O: the flows (:mod:`._flows`) ask :meth:`DurationEstimator.plan` when
to poll a job and :meth:`RateBudget.reserve` when a request may go, and yield the waits.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from typing import NamedTuple

from fibo_prompts.generate._retry import PollPolicy

__all__ = ["DurationEstimator", "PollPlan", "RateBudget", "jittered"]


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


def jittered(seconds: float, spread: float, rng: random.Random) -> float:
    """``seconds`` moved by up to ``spread`` either way (never below zero)."""
    return max(0.0, seconds + spread * (2 * rng.random() - 1))
