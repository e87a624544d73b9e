"""The drivers: the only code that performs a flow's I/O.

:func:`drive` runs a flow with ``httpx.Client`` and ``time.sleep``, :func:`adrive` with
``httpx.AsyncClient`` and ``anyio.sleep``; both bound every request in time (the flow's
deadline and the client's per-request cap) and every body in bytes (:mod:`._bounded`).
:class:`RequestGate` bounds the requests in flight across an async client's jobs.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, NamedTuple, TypeVar

import anyio
import httpx

from fibo_prompts.generate._bounded import (
    RequestDeadline,
    abounded_lines,
    aread_body,
    bounded_lines,
    clamp_timeouts,
    read_body,
    request_deadline,
)
from fibo_prompts.generate._images import MAX_IMAGE_BYTES
from fibo_prompts.generate._log import log_exchange
from fibo_prompts.generate._steps import (
    REQUEST_TIMEOUT,
    Flow,
    NextLine,
    OpenStream,
    Reply,
    Send,
    Wait,
)
from fibo_prompts.generate._transport import AsyncHTTP11Transport

__all__ = ["RequestGate", "adrive", "drive"]

T = TypeVar("T")


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
