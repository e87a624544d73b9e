"""The steps a flow yields and the replies it gets: the sans-I/O protocol of generate.

A flow (:mod:`._flows`) is a generator that yields :class:`Send` (do this request, resume me
with the response) or :class:`Wait` (sleep, resume me with ``None``), and returns its result;
a flow that follows a task stream also yields :class:`OpenStream` (resume me with the
response, its body left open) and :class:`NextLine` (resume me with the stream's next line,
``None`` at its end). Transport errors are thrown into the flow (``flow.throw``), so the flow
alone decides what is retried. The drivers (:mod:`._drive`) are the only code that performs
I/O, so the sync and async clients cannot diverge, and the flows are tested with scripted
responses and no clock.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NamedTuple, TypeVar

import httpx

from fibo_prompts._limits import REQUEST_TIMEOUT

__all__ = [
    "MIN_ANSWER_BYTES",
    "NOT_SENT",
    "REQUEST_TIMEOUT",
    "Flow",
    "NextLine",
    "OpenStream",
    "Reply",
    "Send",
    "Step",
    "Wait",
    "answer_limit",
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
#: the service's own answers (submit, status, result JSON) are read up to at least this,
#: whatever ``max_image_bytes`` says: a submit answer cut by a cap meant for images would
#: turn a paid job into "outcome unknown"
MIN_ANSWER_BYTES = 1024 * 1024


def answer_limit(max_image_bytes: int) -> int:
    """The body limit of the drivers for a client capping images at ``max_image_bytes``
    (image downloads carry their own ``limit``, and the image check applies it again)."""
    return max(max_image_bytes, MIN_ANSWER_BYTES)
