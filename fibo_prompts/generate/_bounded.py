"""Every HTTP exchange bounded in bytes and in time, body included.

httpx bounds each *read* (``read`` timeout), not a whole request: a server that trickles one
byte a second keeps a request alive forever, and an endless body fills memory. The drivers
of :mod:`._drive` therefore read every body through :func:`read_body` / :func:`aread_body`
(stop past ``limit`` bytes; refuse at once a ``Content-Length`` over it) and run every
request under a deadline:

* async: a cancel scope around the whole exchange (any transport, asyncio or trio);
* sync, on the client's own pool: :class:`DeadlineHTTPTransport`, whose sockets never wait
  past the deadline of the request in progress (:func:`request_deadline`), so a trickled
  head or body is cut on time;
* sync, on an ``httpx.Client`` given by the caller: the deadline is checked between body
  chunks (each read is bounded by the request's timeouts, clamped to the time left).

The errors keep httpx's exception contract, which the flows read to decide what was sent:
a request cut before its first byte left raises ``ConnectTimeout``/``PoolTimeout`` (the
phase timeouts are clamped to the time left), anything later a ``ReadTimeout``/
``WriteTimeout`` (:class:`RequestDeadline` when the flow's own deadline was the bound).
"""

from __future__ import annotations

import contextvars
import ssl
import time
import typing
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

__all__ = [
    "DeadlineHTTPTransport",
    "RequestDeadline",
    "ResponseTooLarge",
    "aread_body",
    "clamp_timeouts",
    "read_body",
    "request_deadline",
]

#: the ``time.monotonic()`` instant the request in progress in this thread or task must end by
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "fibo_prompts_request_deadline", default=None
)


class ResponseTooLarge(httpx.TransportError):
    """A response body over the byte limit: refused from its ``Content-Length``
    (``declared``), or cut once more than ``limit`` bytes arrived (``declared`` is None).

    A transport error, so a paid submit whose answer is cut stays "outcome unknown".
    """

    def __init__(self, limit: int, declared: int | None = None) -> None:
        self.limit = limit
        self.declared = declared
        if declared is None:
            message = f"the response body went over {limit} bytes"
        else:
            message = f"the response declares {declared} bytes, over {limit}"
        super().__init__(message)


class RequestDeadline(httpx.ReadTimeout):
    """The flow's deadline passed while the answer was still arriving."""


@contextmanager
def request_deadline(deadline: float | None) -> Iterator[None]:
    """Bound every socket wait of :class:`DeadlineHTTPTransport` in this context by
    ``deadline`` (a ``time.monotonic()`` instant; ``None``: no bound)."""
    token = _DEADLINE.set(deadline)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _left(timeout: float | None, error: type[Exception]) -> float | None:
    """``timeout`` shortened to the time left before the current deadline."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise error("the request's deadline passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write stops at the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's sync socket backend, with :class:`_DeadlineStream` streams."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        stream = self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return _DeadlineStream(stream)

    def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.NetworkStream:
        timeout = _left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.connect_unix_socket(path, timeout, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class DeadlineHTTPTransport(httpx.HTTPTransport):
    """httpx's sync transport on sockets that honour :func:`request_deadline`.

    Args:
        limits: the connection pool's limits.
        verify: TLS verification, as httpx's ``verify``.
    """

    def __init__(self, *, limits: httpx.Limits, verify: ssl.SSLContext | bool = True) -> None:
        # httpx.HTTPTransport.__init__ only builds ``_pool``, and offers no way to give it a
        # network backend; building the pool here (rather than after super().__init__)
        # also avoids loading the CA bundle twice. tests/generate/test_bounded_http.py
        # fails if a new httpx stops reading ``_pool``.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_DeadlineBackend(),
        )


def clamp_timeouts(request: httpx.Request, default: httpx.Timeout, seconds: float) -> None:
    """Shorten each phase timeout of ``request`` (or ``default``'s) to ``seconds``, so a wait
    for a connection or a pool slot ends on time with its own "not sent" error."""
    current: dict[str, float | None] | None = request.extensions.get("timeout")
    if current is None:
        current = default.as_dict()
    elif all(v is not None and v <= seconds for v in current.values()):
        return  # the usual case under the per-request cap: nothing to shorten, nothing to copy
    bounded = {k: seconds if v is None else min(v, seconds) for k, v in current.items()}
    request.extensions = {**request.extensions, "timeout": bounded}


def _declared_length(response: httpx.Response, limit: int) -> int | None:
    """The body length a response declares, checked against ``limit`` before any read."""
    value = response.headers.get("content-length")
    if value is None or not value.strip().isdigit():
        return None
    declared = int(value)
    if declared > limit:
        raise ResponseTooLarge(limit, declared)
    return declared


def _keep(response: httpx.Response, chunks: list[bytes]) -> None:
    # httpx's read() keeps the body in ``_content``; filling it here makes ``.content``,
    # ``.json()`` and ``.text`` work on a body read chunk by chunk, decoded size counted
    response._content = b"".join(chunks)


def read_body(response: httpx.Response, limit: int, deadline: float | None = None) -> None:
    """Read a streamed response's body (decoded) into memory, at most ``limit`` bytes.

    Raises:
        ResponseTooLarge: declared or found over ``limit``; reading stopped there.
        httpx.ReadTimeout: ``deadline`` (``time.monotonic()``) passed between two chunks.
    """
    _declared_length(response, limit)
    chunks: list[bytes] = []
    total = 0
    for chunk in response.iter_bytes():
        total += len(chunk)
        if total > limit:
            raise ResponseTooLarge(limit)
        chunks.append(chunk)
        if deadline is not None and time.monotonic() > deadline:
            raise httpx.ReadTimeout("the request's deadline passed")
    _keep(response, chunks)


async def aread_body(response: httpx.Response, limit: int) -> None:
    """Read a streamed response's body into memory, at most ``limit`` bytes (the caller's
    cancel scope bounds the time).

    Raises:
        ResponseTooLarge: declared or found over ``limit``; reading stopped there.
    """
    declared = _declared_length(response, limit)
    headers = response.headers
    if declared is not None and not (
        "content-encoding" in headers or "transfer-encoding" in headers
    ):
        await response.aread()  # a sized, uncoded body cannot grow past what it declares
        return
    chunks: list[bytes] = []
    total = 0
    async for chunk in response.aiter_bytes():
        total += len(chunk)
        if total > limit:
            raise ResponseTooLarge(limit)
        chunks.append(chunk)
    _keep(response, chunks)


#: the longest line of a task stream that is kept (a longer one is a broken stream)
MAX_STREAM_LINE = 1024 * 1024


class _Lines:
    """Splits text chunks into lines (``\\n``, ``\\r\\n`` or ``\\r``), none over ``limit``.

    A partial line is kept as a list of pieces, joined once its end arrives, so a line fed
    one character at a time costs linear time, not quadratic.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._parts: list[str] = []
        self._size = 0

    def feed(self, text: str) -> list[str]:
        """The lines completed by ``text``."""
        held_cr = bool(self._parts) and self._parts[-1].endswith("\r")
        if "\n" not in text and "\r" not in text and not held_cr:
            self._parts.append(text)
            self._size += len(text)
            if self._size > self.limit:
                raise httpx.RemoteProtocolError(f"a stream line over {self.limit} characters")
            return []
        joined = "".join(self._parts) + text
        # a final \r may be the first half of \r\n: keep it until the next chunk says
        held = "\r" if joined.endswith("\r") else ""
        body = joined[:-1] if held else joined
        *lines, rest = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._parts, self._size = [rest + held], len(rest) + len(held)
        if self._size > self.limit:
            raise httpx.RemoteProtocolError(f"a stream line over {self.limit} characters")
        return lines

    def end(self) -> list[str]:
        """The last line, unterminated (if any)."""
        rest = "".join(self._parts).rstrip("\r")
        self._parts, self._size = [], 0
        return [rest] if rest else []


def bounded_lines(chunks: Iterable[str], limit: int = MAX_STREAM_LINE) -> Iterator[str]:
    """The lines of a text stream (``\\n``, ``\\r\\n`` or ``\\r``), none over ``limit``.

    Raises:
        httpx.RemoteProtocolError: a line went over ``limit`` characters.
    """
    lines = _Lines(limit)
    for text in chunks:
        yield from lines.feed(text)
    yield from lines.end()


async def abounded_lines(
    chunks: typing.AsyncIterable[str], limit: int = MAX_STREAM_LINE
) -> AsyncIterator[str]:
    """The async twin of :func:`bounded_lines`."""
    lines = _Lines(limit)
    async for text in chunks:
        for line in lines.feed(text):
            yield line
    for line in lines.end():
        yield line
