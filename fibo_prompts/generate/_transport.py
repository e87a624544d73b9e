"""A lean HTTP/1.1 keep-alive transport for ``httpx.AsyncClient`` on asyncio.

Why not httpx's own transport: ``bench/polling.py`` showed httpcore's async connection pool
costing about 1 ms of CPU per request (on every request and response it scans all pooled
connections, each with a socket readability check through anyio's typed attributes), which
made the client's CPU per job no better than the segmind SDK's. Of the other candidates,
``httpx-aiohttp`` maps aiohttp's "server disconnected" and "connection reset" (after the
request was sent) to ``httpx.ConnectTimeout``, which our flows read as "never sent" and would
resubmit a paid job; ``h11`` is the parser httpcore already uses and is not where the time
goes. This transport is an
:class:`asyncio.Protocol` per connection, a small pool per origin and a bytes-level parser for
the responses the hosted APIs send (status line, headers, ``Content-Length``, chunked or
read-until-close bodies).

The exception contract is exactly httpcore's, because the flows in :mod:`._flows` decide what
is retried from it:

* before any byte of the request is written: ``httpx.ConnectError`` (refused, DNS, TLS
  handshake), ``httpx.ConnectTimeout``, ``httpx.PoolTimeout``, ``httpx.UnsupportedProtocol``
  (the "not sent, safe to resend" family). A pooled connection found closed before writing is
  replaced silently, since nothing was sent on it.
* after the request was handed to the socket: ``httpx.WriteError`` / ``WriteTimeout``,
  ``httpx.ReadError`` (reset), ``httpx.ReadTimeout``, ``httpx.RemoteProtocolError`` (closed
  without an answer, truncated or malformed answer): the service may have acted on it.

Outside asyncio (trio), or when the caller asks for proxies, the client uses httpx's default
transport instead (:func:`lean_transport_applies`).
"""

from __future__ import annotations

import asyncio
import ssl
import time
import urllib.request
from collections import deque
from collections.abc import AsyncIterator
from typing import Any, Final

import httpx

__all__ = ["AsyncHTTP11Transport", "lean_transport_applies"]

Origin = tuple[str, str, int]

_MAX_HEAD: Final = 64 * 1024
_MAX_LINE: Final = 8 * 1024
_READ_CHUNK: Final = 64 * 1024
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_LENGTH, _CHUNKED, _UNTIL_CLOSE = 0, 1, 2


def lean_transport_applies() -> bool:
    """Whether the lean transport can stand in for httpx's default one here.

    Not when the environment asks for a proxy (``HTTP(S)_PROXY``, ``ALL_PROXY``): httpx
    honours those only with its own transport.
    """
    proxies = urllib.request.getproxies()
    return not any(proxies.get(k) for k in ("http", "https", "all"))


class _Connection(asyncio.Protocol):
    """One TCP (or TLS) connection: the protocol callbacks fill a buffer and wake a waiter."""

    def __init__(self, loop: asyncio.AbstractEventLoop, origin: Origin) -> None:
        self.loop = loop
        self.origin = origin
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.eof = False
        self.error: BaseException | None = None
        self.idle_since = 0.0
        self._waiter: asyncio.Future[bool] | None = None
        self._drain: asyncio.Future[bool] | None = None
        self._paused = False

    # ------------------------------------------------------------------ protocol callbacks

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        self._wake(self._waiter)

    def eof_received(self) -> bool | None:
        self.eof = True
        self._wake(self._waiter)
        return None  # let the transport close itself

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        self.error = exc
        self._wake(self._waiter)
        self._wake(self._drain)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        self._wake(self._drain)

    @staticmethod
    def _wake(waiter: asyncio.Future[bool] | None) -> None:
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    # ------------------------------------------------------------------ used by the transport

    def reusable(self, now: float, expiry: float) -> bool:
        """Whether this idle connection can carry a new request."""
        transport = self.transport
        return (
            not self.eof
            and not self.buffer  # bytes nobody asked for: the server is confused, drop it
            and transport is not None
            and not transport.is_closing()
            and now - self.idle_since < expiry
        )

    async def _wait(self, waiter: asyncio.Future[bool], timeout: float | None) -> bool:
        """Wait for ``waiter``; False when ``timeout`` passed first."""
        handle = None
        if timeout is not None:
            handle = self.loop.call_later(timeout, _expire, waiter)
        try:
            return await waiter
        finally:
            if handle is not None:
                handle.cancel()

    async def receive(self, timeout: float | None) -> None:
        """Wait until more bytes arrive or the peer closes; ``httpx.ReadTimeout`` otherwise."""
        if self.eof:
            return
        waiter = self._waiter = self.loop.create_future()
        try:
            arrived = await self._wait(waiter, timeout)
        finally:
            self._waiter = None
        if not arrived:
            raise httpx.ReadTimeout("timed out waiting for the response")

    async def drain(self, timeout: float | None) -> None:
        """Wait while the socket's send buffer is full; ``httpx.WriteTimeout`` otherwise."""
        if not self._paused or self.eof:
            return
        waiter = self._drain = self.loop.create_future()
        try:
            resumed = await self._wait(waiter, timeout)
        finally:
            self._drain = None
        if not resumed:
            raise httpx.WriteTimeout("timed out sending the request")

    def fail_read(self, what: str) -> httpx.TransportError:
        """The error for a connection that ended while ``what`` was expected."""
        if self.error is not None and not isinstance(self.error, ssl.SSLError):
            return httpx.ReadError(f"{what}: {self.error}")
        return httpx.RemoteProtocolError(f"{what}: the server closed the connection")

    def close(self) -> None:
        """Close the connection (no-op when its loop is gone)."""
        if self.transport is not None and not self.transport.is_closing():
            try:
                self.transport.close()
            except RuntimeError:  # the loop that owned it is closed
                pass


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


class _Head:
    """A parsed response head."""

    __slots__ = ("headers", "keep_alive", "length", "mode", "reason", "status", "version")

    def __init__(self, raw: bytes, method: bytes, request_close: bool) -> None:
        lines = raw.split(b"\r\n")
        parts = lines[0].split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or len(parts[1]) != 3:
            raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}")
        try:
            self.status = int(parts[1])
        except ValueError:
            raise httpx.RemoteProtocolError(f"malformed status line {lines[0][:80]!r}") from None
        self.version = parts[0]
        self.reason = parts[2] if len(parts) > 2 else b""
        headers: list[tuple[bytes, bytes]] = []
        lengths: set[bytes] = set()
        chunked = False
        coded = False
        close = request_close or self.version != b"HTTP/1.1"
        for line in lines[1:]:
            name, sep, value = line.partition(b":")
            if not sep or not name or name[-1:] in b" \t" or name[:1] in b" \t":
                raise httpx.RemoteProtocolError(f"malformed header line {line[:80]!r}")
            value = value.strip(b" \t")
            headers.append((name, value))
            lower = name.lower()
            if lower == b"content-length":
                lengths.add(value)
            elif lower == b"transfer-encoding":
                coded = True
                chunked = value.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
            elif lower == b"connection":
                tokens = {t.strip() for t in value.lower().split(b",")}
                if b"close" in tokens:
                    close = True
                elif b"keep-alive" in tokens and self.version == b"HTTP/1.0":
                    close = request_close
        self.headers = headers
        self.length = 0
        if method == b"HEAD" or self.status in (204, 304) or 100 <= self.status < 200:
            self.mode = _LENGTH
        elif coded:
            self.mode = _CHUNKED if chunked else _UNTIL_CLOSE
        elif lengths:
            if len(lengths) > 1 or not next(iter(lengths)).isdigit():
                raise httpx.RemoteProtocolError("invalid Content-Length")
            self.mode = _LENGTH
            self.length = int(next(iter(lengths)))
        else:
            self.mode = _UNTIL_CLOSE
        self.keep_alive = not close and self.mode != _UNTIL_CLOSE


class _Body(httpx.AsyncByteStream):
    """A response body read from the connection as the caller iterates it.

    The connection goes back to the pool when the body was read to its end on a keep-alive
    connection; otherwise (closed early, an error, a cancelled task) it is closed.
    """

    def __init__(
        self,
        pool: AsyncHTTP11Transport,
        conn: _Connection,
        head: _Head,
        read_timeout: float | None,
    ) -> None:
        self._pool = pool
        self._conn: _Connection | None = conn
        self._head = head
        self._timeout = read_timeout
        self._complete = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            raise httpx.StreamClosed()
        mode = self._head.mode
        if mode == _LENGTH:
            reader = self._sized(conn, self._head.length)
        elif mode == _CHUNKED:
            reader = self._chunked(conn)
        else:
            reader = self._until_close(conn)
        async for chunk in reader:
            yield chunk
        self._complete = True

    async def _sized(self, conn: _Connection, remaining: int) -> AsyncIterator[bytes]:
        buffer = conn.buffer
        while remaining:
            if not buffer:
                if conn.eof:
                    raise conn.fail_read(f"incomplete body ({remaining} bytes missing)")
                await conn.receive(self._timeout)
                continue
            take = bytes(buffer[:remaining])
            del buffer[: len(take)]
            remaining -= len(take)
            yield take

    async def _line(self, conn: _Connection) -> bytes:
        buffer = conn.buffer
        while True:
            end = buffer.find(b"\r\n")
            if end >= 0:
                line = bytes(buffer[:end])
                del buffer[: end + 2]
                return line
            if len(buffer) > _MAX_LINE:
                raise httpx.RemoteProtocolError("chunk header too long")
            if conn.eof:
                raise conn.fail_read("incomplete chunked body")
            await conn.receive(self._timeout)

    async def _chunked(self, conn: _Connection) -> AsyncIterator[bytes]:
        while True:
            size_line = await self._line(conn)
            try:
                size = int(size_line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise httpx.RemoteProtocolError(f"bad chunk size {size_line[:40]!r}") from None
            if size == 0:
                while await self._line(conn):  # trailers, ignored
                    pass
                return
            async for chunk in self._sized(conn, size):
                yield chunk
            if await self._line(conn):
                raise httpx.RemoteProtocolError("chunk not followed by CRLF")

    async def _until_close(self, conn: _Connection) -> AsyncIterator[bytes]:
        buffer = conn.buffer
        while True:
            if buffer:
                chunk = bytes(buffer)
                buffer.clear()
                yield chunk
                continue
            if conn.eof:
                if conn.error is not None and not isinstance(conn.error, ssl.SSLError):
                    raise httpx.ReadError(f"connection reset: {conn.error}")
                return
            await conn.receive(self._timeout)

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool.release(conn, reuse=self._complete and self._head.keep_alive)


class AsyncHTTP11Transport(httpx.AsyncBaseTransport):
    """An HTTP/1.1 keep-alive transport for ``httpx.AsyncClient`` on asyncio.

    Requests must carry absolute ``http``/``https`` URLs (httpx adds ``Host`` and
    ``Content-Length``). Timeouts come from the request's ``timeout`` extension, as httpx
    sets it. Outside an asyncio loop (trio through anyio) every request goes to a lazily
    created ``httpx.AsyncHTTPTransport`` with the same limits.

    Args:
        max_connections: open connections at most, all origins together; a request beyond
            waits for one (``pool`` timeout, then ``httpx.PoolTimeout``).
        keepalive_expiry: an idle connection older than this is closed, not reused.
        verify: TLS verification, as httpx's ``verify`` (``True``: certifi's CA bundle, or
            ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``).
        eager_body_limit: bodies with a ``Content-Length`` up to this size are read before
            the response is returned, so the connection is back in the pool at once.

    Example:
        >>> import httpx
        >>> client = httpx.AsyncClient(transport=AsyncHTTP11Transport(max_connections=8))
    """

    def __init__(
        self,
        *,
        max_connections: int = 100,
        keepalive_expiry: float = 5.0,
        verify: ssl.SSLContext | bool = True,
        eager_body_limit: int = 1 << 20,
    ) -> None:
        self.max_connections = max(1, max_connections)
        self.keepalive_expiry = keepalive_expiry
        self.eager_body_limit = eager_body_limit
        self._verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._idle: dict[Origin, list[_Connection]] = {}
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._fallback: httpx.AsyncHTTPTransport | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"<AsyncHTTP11Transport open={self._open} max={self.max_connections}>"

    # ------------------------------------------------------------------ pool

    def _ssl_context(self) -> ssl.SSLContext:
        if self._ssl is None:
            context = httpx.create_ssl_context(verify=self._verify)
            context.set_alpn_protocols(["http/1.1"])
            self._ssl = context
        return self._ssl

    async def _connect(
        self, loop: asyncio.AbstractEventLoop, origin: Origin, timeout: float | None
    ) -> _Connection:
        scheme, host, port = origin
        context = self._ssl_context() if scheme == "https" else None
        try:
            async with asyncio.timeout(timeout):
                _, conn = await loop.create_connection(
                    lambda: _Connection(loop, origin),
                    host,
                    port,
                    ssl=context,
                    server_hostname=host if context is not None else None,
                )
        except TimeoutError:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from None
        except OSError as exc:  # refused, unreachable, DNS (gaierror), TLS (SSLError)
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return conn

    async def _acquire(
        self, loop: asyncio.AbstractEventLoop, origin: Origin, timeouts: dict[str, Any]
    ) -> _Connection:
        pool_timeout = timeouts.get("pool")
        deadline = None if pool_timeout is None else loop.time() + pool_timeout
        while True:
            if self._closed:
                raise httpx.ConnectError("the transport is closed")
            idle = self._idle.get(origin)
            now = time.monotonic()
            while idle:
                conn = idle.pop()
                if conn.loop is loop and conn.reusable(now, self.keepalive_expiry):
                    return conn
                self._discard(conn)
            if self._open < self.max_connections:
                self._open += 1
                try:
                    return await self._connect(loop, origin, timeouts.get("connect"))
                except BaseException:
                    self._open -= 1
                    self._wake_one()
                    raise
            if self._evict_idle():
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            self._waiters.append(waiter)
            remaining = None if deadline is None else deadline - loop.time()
            try:
                if remaining is not None and remaining <= 0:
                    raise TimeoutError
                async with asyncio.timeout(remaining):
                    await waiter
            except TimeoutError:
                raise httpx.PoolTimeout("no connection became free in time") from None
            except BaseException:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # pass on the wake-up this task will not use
                raise
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)

    def _evict_idle(self) -> bool:
        """Close the longest-idle connection of any origin, to make room; False if none."""
        oldest: _Connection | None = None
        for conns in self._idle.values():
            if conns and (oldest is None or conns[0].idle_since < oldest.idle_since):
                oldest = conns[0]
        if oldest is None:
            return False
        self._idle[oldest.origin].remove(oldest)
        self._discard(oldest)
        return True

    def _discard(self, conn: _Connection) -> None:
        conn.close()
        self._open -= 1

    def _wake_one(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def release(self, conn: _Connection, *, reuse: bool) -> None:
        """Return a connection after its response (closed unless ``reuse``)."""
        if reuse and not self._closed and not conn.eof and not conn.buffer:
            conn.idle_since = time.monotonic()
            self._idle.setdefault(conn.origin, []).append(conn)
        else:
            self._discard(conn)
        self._wake_one()

    # ------------------------------------------------------------------ requests

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` and return the response (body read or streaming)."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio (trio): httpx's own transport
            return await self._fallback_transport().handle_async_request(request)
        url = request.url
        scheme = url.scheme
        if scheme not in _DEFAULT_PORTS:
            raise httpx.UnsupportedProtocol(f"unsupported URL scheme {scheme!r}")
        if not url.host:
            raise httpx.UnsupportedProtocol(f"no host in the URL {url}")
        origin = (scheme, url.host, url.port or _DEFAULT_PORTS[scheme])
        timeouts: dict[str, Any] = request.extensions.get("timeout") or {}
        head, body, chunked = _serialize(request)
        # Until the request's first byte is written nothing was sent: a pooled connection
        # found closed here is replaced, and every error is a "not sent" one.
        while True:
            conn = await self._acquire(loop, origin, timeouts)
            transport = conn.transport
            if transport is not None and not transport.is_closing() and not conn.eof:
                break
            self.release(conn, reuse=False)
        try:
            return await self._exchange(conn, request, head, body, chunked, timeouts)
        except BaseException:
            self.release(conn, reuse=False)
            raise

    async def _exchange(
        self,
        conn: _Connection,
        request: httpx.Request,
        head: bytes,
        body: bytes | None,
        chunked: bool,
        timeouts: dict[str, Any],
    ) -> httpx.Response:
        transport = conn.transport
        assert transport is not None
        write_timeout = timeouts.get("write")
        if body is not None:
            transport.write(head + body if len(body) < 65536 else head)
            if len(body) >= 65536:
                transport.write(body)
        else:
            transport.write(head)
            async for chunk in request.stream:  # type: ignore[union-attr]
                if chunk:
                    transport.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
                    await conn.drain(write_timeout)
            if chunked:
                transport.write(b"0\r\n\r\n")
        await conn.drain(write_timeout)
        read_timeout = timeouts.get("read")
        method = request.method.encode("ascii")
        request_close = request.headers.get("connection", "").lower() == "close"
        while True:
            parsed = _Head(await _read_head(conn, read_timeout), method, request_close)
            if parsed.status == 101:
                raise httpx.RemoteProtocolError("the server switched protocols (101)")
            if parsed.status >= 200:
                break  # 1xx informational answers precede the real one
        extensions = {"http_version": parsed.version, "reason_phrase": parsed.reason}
        if parsed.mode == _LENGTH and parsed.length <= self.eager_body_limit:
            buffer = conn.buffer
            while len(buffer) < parsed.length:
                if conn.eof:
                    raise conn.fail_read(
                        f"incomplete body ({len(buffer)} of {parsed.length} bytes)"
                    )
                await conn.receive(read_timeout)
            content = bytes(buffer[: parsed.length])
            del buffer[: parsed.length]
            response = httpx.Response(
                parsed.status,
                headers=parsed.headers,
                stream=httpx.ByteStream(content),
                extensions=extensions,
            )
            # the body is in memory: the connection can serve the next request at once
            self.release(conn, reuse=parsed.keep_alive)
            return response
        return httpx.Response(
            parsed.status,
            headers=parsed.headers,
            stream=_Body(self, conn, parsed, read_timeout),
            extensions=extensions,
        )

    def _fallback_transport(self) -> httpx.AsyncHTTPTransport:
        if self._fallback is None:
            limits = httpx.Limits(
                max_connections=self.max_connections,
                max_keepalive_connections=self.max_connections,
                keepalive_expiry=self.keepalive_expiry,
            )
            self._fallback = httpx.AsyncHTTPTransport(verify=self._verify, limits=limits)
        return self._fallback

    async def aclose(self) -> None:
        """Close every idle connection; busy ones close when their response ends."""
        self._closed = True
        for conns in self._idle.values():
            for conn in conns:
                self._discard(conn)
        self._idle.clear()
        self._wake_one()
        if self._fallback is not None:
            await self._fallback.aclose()


def _serialize(request: httpx.Request) -> tuple[bytes, bytes | None, bool]:
    """The request head, its body when already in memory, and whether to frame chunks."""
    parts = [request.method.encode("ascii"), b" ", request.url.raw_path, b" HTTP/1.1\r\n"]
    chunked = False
    for name, value in request.headers.raw:
        if b"\r" in value or b"\n" in value or b"\r" in name or b"\n" in name:
            raise httpx.LocalProtocolError(f"illegal character in header {name!r}")
        if name.lower() == b"transfer-encoding" and value.lower() == b"chunked":
            chunked = True
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    try:
        body: bytes | None = request.content
    except httpx.RequestNotRead:
        body = None
    return b"".join(parts), body, chunked


async def _read_head(conn: _Connection, timeout: float | None) -> bytes:
    """The bytes of the next response head (without the blank line)."""
    buffer = conn.buffer
    start = 0
    while True:
        end = buffer.find(b"\r\n\r\n", start)
        if end >= 0:
            raw = bytes(buffer[:end])
            del buffer[: end + 4]
            return raw
        if len(buffer) > _MAX_HEAD:
            raise httpx.RemoteProtocolError("response head too large")
        if conn.eof:
            if buffer:
                raise conn.fail_read("incomplete response head")
            if conn.error is not None and not isinstance(conn.error, ssl.SSLError):
                raise httpx.ReadError(f"connection reset before an answer: {conn.error}")
            raise httpx.RemoteProtocolError("Server disconnected without sending a response.")
        start = max(0, len(buffer) - 3)
        await conn.receive(timeout)
