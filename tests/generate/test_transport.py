"""The lean HTTP/1.1 transport against a scripted server on 127.0.0.1.

The server reads each request and answers with the bytes a test gives it (or closes, or
resets), so framing, pooling and, above all, the error classes are checked exactly: the
flows resend a paid submit only after a "not sent" error, so an error after the request's
bytes left must never be one of those.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import httpx
import pytest

from fibo_prompts.generate._steps import NOT_SENT
from fibo_prompts.generate._transport import AsyncHTTP11Transport, lean_transport_applies

pytestmark = pytest.mark.anyio

Answer = Callable[["Exchange"], Awaitable[None]]


@dataclass
class Exchange:
    """One request as the server read it, and the means to answer it."""

    head: bytes
    body: bytes
    connection: int
    writer: asyncio.StreamWriter

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    def close(self) -> None:
        self.writer.close()

    def reset(self) -> None:
        """Close with an RST (SO_LINGER 0) instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


@dataclass
class Server:
    """Answers the n-th request with ``answers[n]``; records every request."""

    answers: list[Answer]
    seen: list[Exchange] = field(default_factory=list)
    connections: int = 0
    url: str = ""

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                body = b""
                lower = head.lower()
                if b"content-length:" in lower:
                    length = int(lower.split(b"content-length:")[1].split(b"\r\n")[0])
                    body = await reader.readexactly(length)
                elif b"transfer-encoding: chunked" in lower:
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                        chunk = await reader.readexactly(size + 2)
                        body += chunk[:-2]
                        if size == 0:
                            break
                exchange = Exchange(head[:-4], body, number, writer)
                self.seen.append(exchange)
                await self.answers[len(self.seen) - 1](exchange)
                if writer.is_closing():
                    return
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[Server]]]:
    servers: list[asyncio.Server] = []

    async def start(*answers: Answer) -> Server:
        server = Server(list(answers))
        listener = await asyncio.start_server(server.handle, "127.0.0.1", 0)
        servers.append(listener)
        port = listener.sockets[0].getsockname()[1]
        server.url = f"http://127.0.0.1:{port}"
        return server

    yield start
    for listener in servers:
        listener.close()


def reply(data: bytes) -> Answer:
    async def answer(exchange: Exchange) -> None:
        await exchange.send(data)

    return answer


def ok(body: bytes = b"ok", extra: bytes = b"") -> Answer:
    return reply(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%b\r\n%b" % (len(body), extra, body))


async def closing(exchange: Exchange) -> None:
    exchange.close()


async def resetting(exchange: Exchange) -> None:
    exchange.reset()


def client(**kwargs: object) -> httpx.AsyncClient:
    timeout = kwargs.pop("timeout", httpx.Timeout(5.0))
    return httpx.AsyncClient(transport=AsyncHTTP11Transport(**kwargs), timeout=timeout)  # type: ignore[arg-type]


async def test_keep_alive_reuses_one_connection(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(ok(b"one"), ok(b"two"), ok(b"three"))
    async with client() as http:
        bodies = [(await http.get(f"{server.url}/p?q={i}")).content for i in range(3)]
    assert bodies == [b"one", b"two", b"three"]
    assert server.connections == 1
    assert [e.head.split(b"\r\n")[0] for e in server.seen] == [
        b"GET /p?q=0 HTTP/1.1",
        b"GET /p?q=1 HTTP/1.1",
        b"GET /p?q=2 HTTP/1.1",
    ]


async def test_post_body_and_headers_arrive_exactly(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    server = await serve(ok())
    async with client() as http:
        await http.post(f"{server.url}/v2/x", content=b'{"a": 1}', headers={"x-api-key": "k"})
    [exchange] = server.seen
    port = server.url.rsplit(":", 1)[1].encode()
    assert exchange.head.split(b"\r\n") == [
        b"POST /v2/x HTTP/1.1",
        b"Host: 127.0.0.1:" + port,
        b"Accept: */*",
        b"Accept-Encoding: " + httpx.AsyncClient().headers["accept-encoding"].encode(),
        b"Connection: keep-alive",
        b"User-Agent: python-httpx/" + httpx.__version__.encode(),
        b"x-api-key: k",
        b"Content-Length: 8",
    ]
    assert exchange.body == b'{"a": 1}'


async def test_streamed_request_body_is_chunked(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(ok())

    async def parts() -> AsyncIterator[bytes]:
        yield b"hello, "
        yield b"world"

    async with client() as http:
        await http.post(f"{server.url}/up", content=parts())
    assert b"transfer-encoding: chunked" in server.seen[0].head.lower()
    assert server.seen[0].body == b"hello, world"


async def test_chunked_and_until_close_bodies(serve: Callable[..., Awaitable[Server]]) -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"4\r\nWiki\r\n5;x=1\r\npedia\r\n0\r\n\r\n"
    )

    async def until_close(exchange: Exchange) -> None:
        await exchange.send(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\nall of it")
        exchange.close()

    server = await serve(reply(chunked), until_close, ok(b"fresh"))
    async with client() as http:
        first = await http.get(server.url)
        second = await http.get(server.url)
        third = await http.get(server.url)
    assert (first.content, second.content, third.content) == (b"Wikipedia", b"all of it", b"fresh")
    # chunked kept the connection; read-until-close could not
    assert [e.connection for e in server.seen] == [1, 1, 2]


async def test_informational_answers_are_skipped(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(
        reply(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nhi")
    )
    async with client() as http:
        response = await http.post(server.url, content=b"x")
    assert response.status_code == 201
    assert (response.reason_phrase, response.content) == ("Created", b"hi")


async def test_head_and_204_have_no_body(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(
        reply(b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n"),
        reply(b"HTTP/1.1 204 No Content\r\n\r\n"),
        ok(b"after"),
    )
    async with client() as http:
        head = await http.head(server.url)
        empty = await http.delete(server.url)
        after = await http.get(server.url)
    assert (head.content, empty.content, after.content) == (b"", b"", b"after")
    assert server.connections == 1


async def test_stream_lines_arrive_before_the_body_ends(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    more = asyncio.Event()

    async def lines(exchange: Exchange) -> None:
        await exchange.send(b'HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{"status": 7}\n')
        await more.wait()
        await exchange.send(b'{"status": 10}\n')
        exchange.close()

    server = await serve(lines)
    got = []
    async with client() as http, http.stream("GET", server.url) as response:
        async for line in response.aiter_lines():
            got.append(line)
            more.set()  # the second line is sent only once the first was read
    assert got == ['{"status": 7}', '{"status": 10}']


async def test_large_body_streams(serve: Callable[..., Awaitable[Server]]) -> None:
    big = bytes(range(256)) * 1000
    server = await serve(ok(big), ok(b"next"))
    async with client(eager_body_limit=1000) as http:
        response = await http.get(server.url)
        after = await http.get(server.url)
    assert response.content == big and after.content == b"next"
    assert server.connections == 1


# ------------------------------------------------------------------ errors: before sending


async def test_refused_connection_is_a_connect_error() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens there now
    async with client() as http:
        with pytest.raises(httpx.ConnectError):
            await http.post(f"http://127.0.0.1:{port}/", content=b"paid")


async def test_unsupported_scheme() -> None:
    async with client() as http:
        with pytest.raises(httpx.UnsupportedProtocol):
            await http.get("ftp://127.0.0.1/x")


async def test_pool_timeout_when_every_connection_is_busy(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    release = asyncio.Event()

    async def slow(exchange: Exchange) -> None:
        await exchange.send(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab")
        await release.wait()
        await exchange.send(b"cd")

    server = await serve(slow, ok())
    timeout = httpx.Timeout(5.0, pool=0.05)
    async with client(max_connections=1, eager_body_limit=0, timeout=timeout) as http:
        async with http.stream("GET", server.url) as busy:
            with pytest.raises(httpx.PoolTimeout):
                await http.get(server.url)
            release.set()
            assert await busy.aread() == b"abcd"
        assert (await http.get(server.url)).content == b"ok"
    assert server.connections == 1


async def test_stale_pooled_connection_is_replaced_without_sending(
    serve: Callable[..., Awaitable[Server]],
) -> None:
    async def answer_then_close(exchange: Exchange) -> None:
        await exchange.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        exchange.close()  # keep-alive was promised, but the server hangs up while idle

    server = await serve(answer_then_close, ok(b"second"))
    async with client() as http:
        await http.get(server.url)
        for _ in range(100):  # until the client has seen the FIN
            await asyncio.sleep(0.01)
            transport = http._transport
            assert isinstance(transport, AsyncHTTP11Transport)
            if all(c.eof for conns in transport._idle.values() for c in conns):
                break
        response = await http.post(server.url, content=b"paid")
    assert response.content == b"second"
    assert [e.connection for e in server.seen] == [1, 2]


# ------------------------------------------------------------------ errors: after sending


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (closing, httpx.RemoteProtocolError),
        (resetting, httpx.ReadError),
        (reply(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"), None),
        (reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"), None),
        (reply(b"HTTX/9 200 OK\r\n\r\n"), httpx.RemoteProtocolError),
        (reply(b"HTTP/1.1 200 OK\r\n bad header\r\n\r\n"), httpx.RemoteProtocolError),
        (reply(b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), None),
    ],
    ids=["closed", "reset", "truncated", "truncated-chunked", "status", "header", "lengths"],
)
async def test_failures_after_sending_are_never_not_sent_errors(
    serve: Callable[..., Awaitable[Server]],
    answer: Answer,
    error: type[Exception] | None,
) -> None:
    async def then_close(exchange: Exchange) -> None:
        await answer(exchange)
        exchange.close()

    server = await serve(then_close)
    async with client() as http:
        with pytest.raises(httpx.TransportError) as info:
            await http.post(server.url, content=b"paid")
    assert not isinstance(info.value, NOT_SENT)
    assert isinstance(info.value, error or httpx.RemoteProtocolError)
    assert len(server.seen) == 1


async def test_read_timeout(serve: Callable[..., Awaitable[Server]]) -> None:
    async def silent(exchange: Exchange) -> None:
        del exchange

    server = await serve(silent)
    async with client(timeout=httpx.Timeout(5.0, read=0.05)) as http:
        with pytest.raises(httpx.ReadTimeout):
            await http.post(server.url, content=b"paid")


async def test_header_injection_is_refused(serve: Callable[..., Awaitable[Server]]) -> None:
    server = await serve(ok())
    async with client() as http:
        with pytest.raises(httpx.LocalProtocolError):
            await http.get(server.url, headers={"x-evil": "a\r\nx-api-key: stolen"})
    assert server.seen == []


def test_proxies_in_the_environment_keep_httpx_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("ALL_PROXY", raising=False)
    assert lean_transport_applies() is True
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    assert lean_transport_applies() is False


async def test_async_client_picks_its_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    from fibo_prompts.generate import AsyncClient

    for name in ("http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    async with AsyncClient("bria", api_key="k", journal=False) as own:
        assert isinstance(own._direct, AsyncHTTP11Transport)
        assert own._http._transport is own._direct
    given = httpx.AsyncClient()
    async with AsyncClient("bria", api_key="k", journal=False, http_client=given) as theirs:
        assert theirs._direct is None and theirs._http is given
    await given.aclose()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.test:3128")
    async with AsyncClient("bria", api_key="k", journal=False) as proxied:
        assert proxied._direct is None
        assert not isinstance(proxied._http._transport, AsyncHTTP11Transport)
