"""Bounded time and memory on the HTTP side (issue 13, items 9 and 10).

A scripted Bria-like server on 127.0.0.1 (one thread per connection, every behaviour capped
in bytes and seconds) answers the submit and then misbehaves: an endless chunked image, a
``Content-Length`` far over the cap, a status answer trickling one byte at a time (in its
body or in its head). Each client path is checked: the sync client on its own connection
pool, the sync client given an ``httpx.Client``, the async client on the lean transport and
the async client given an ``httpx.AsyncClient`` (httpx's own transport, as under a proxy).
"""

from __future__ import annotations

import io
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from PIL import Image
from typer.testing import CliRunner

from fibo_prompts import StructuredPrompt
from fibo_prompts.cli._generate import register
from fibo_prompts.errors import (
    ConfigurationError,
    ImageError,
    PollTimeoutError,
    ResponseFormatError,
    SubmitOutcomeUnknownError,
)
from fibo_prompts.generate import AsyncClient, Client, PollPolicy, RetryPolicy
from fibo_prompts.generate._bounded import MAX_STREAM_LINE
from fibo_prompts.generate._steps import MIN_ANSWER_BYTES
from tests.generate.conftest import Harness

pytestmark = pytest.mark.anyio

EXAMPLE = Path(__file__).parents[2] / "examples" / "minimal.json"
CAP = 256 * 1024
#: what the endless image route sends at most: far beyond the cap, so an unbounded client is
#: caught without the test itself running away
CEILING = 64 * 1024 * 1024
#: loopback socket buffers (both ends) hold a few MiB that the server may push before it
#: blocks, whatever the client does
BUFFERED = 16 * 1024 * 1024
TRICKLE_GAP = 0.05
TRICKLE_FOR = 5.0
RETRY = RetryPolicy(initial=0.01, cap=0.05, max_retry_after=0.05)
SLACK = 1.0

Route = Callable[["_Handler"], None]


class _Handler(socketserver.BaseRequestHandler):
    server: Scripted

    def handle(self) -> None:
        sock: socket.socket = self.request
        sock.settimeout(10)
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                data = sock.recv(4096)
                if not data:
                    return
                head += data
            line = head.split(b"\r\n", 1)[0].decode()
            method, path, _ = line.split(" ", 2)
            self.server.seen.append(f"{method} {path}")
            self.server.routes[path](self)
        except OSError:  # the client went away: the normal end of a refused body
            pass
        finally:
            self.server.done.set()

    def send(self, data: bytes) -> None:
        self.request.sendall(data)
        self.server.sent += len(data)


class Scripted(socketserver.ThreadingTCPServer):
    """A Bria v2 look-alike: submit accepted, status and image routes given by the test."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        status: Route,
        image: Route | None = None,
        submit: Route | None = None,
        routes: dict[str, Route] | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.routes: dict[str, Route] = {
            "/v2/image/generate": submit or json_answer(202, {"request_id": "req-1"}),
            "/v2/status/req-1": status,
            "/image.png": image or json_answer(404, {}),
            **(routes or {}),
        }
        self.seen: list[str] = []
        self.sent = 0
        self.done = threading.Event()


@pytest.fixture
def scripted() -> Iterator[Callable[..., Scripted]]:
    servers: list[Scripted] = []

    def start(*args: Any, **kwargs: Any) -> Scripted:
        server = Scripted(*args, **kwargs)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def json_answer(status: int, body: dict[str, Any]) -> Route:
    def route(handler: _Handler) -> None:
        data = json.dumps(body).encode()
        handler.send(
            b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%b" % (status, len(data), data)
        )

    return route


def png_answer(handler: _Handler) -> None:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    data = buffer.getvalue()
    handler.send(
        b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n%b" % (len(data), data)
    )


def completed(handler: _Handler) -> None:
    url = f"{handler.server.url}/image.png"
    json_answer(200, {"status": "COMPLETED", "result": {"image_url": url}})(handler)


def endless_chunked(handler: _Handler) -> None:
    handler.send(
        b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    chunk = b"\x89PNG\r\n\x1a\n" + bytes(64 * 1024 - 8)
    frame = b"%x\r\n%b\r\n" % (len(chunk), chunk)
    while handler.server.sent < CEILING:
        handler.send(frame)


def huge_length(handler: _Handler) -> None:
    handler.send(
        b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: 10000000000\r\n\r\n"
    )
    chunk = b"\x89PNG\r\n\x1a\n" + bytes(64 * 1024 - 8)
    while handler.server.sent < CEILING:
        handler.send(chunk)


def trickle(*, head: bool, content_type: bytes = b"application/json") -> Route:
    """One byte per TRICKLE_GAP, for TRICKLE_FOR seconds at most (then the server closes)."""

    def route(handler: _Handler) -> None:
        start = b"HTTP/1.1 200 OK\r\ncontent-type: %b\r\ncontent-length: 100000\r\n\r\n" % (
            content_type
        )
        if not head:
            handler.send(start)
        data = (start if head else b"") + b" " * 100000
        until = time.monotonic() + TRICKLE_FOR
        for byte in data:
            if time.monotonic() > until:
                return
            handler.send(bytes([byte]))
            time.sleep(TRICKLE_GAP)

    return route


# ---------------------------------------------------------------------------------- clients

KINDS = ["sync", "sync-httpx", "async", "async-httpx"]
#: the paths on which the library owns the connection pool (a head trickle is bounded too)
OWN = ["sync", "async", "async-httpx"]


@pytest.fixture
async def make() -> Any:
    made: list[tuple[Harness, Any]] = []

    def factory(
        kind: str, url: str, tmp_path: Path, backend: str = "bria", **kwargs: Any
    ) -> Harness:
        kwargs.setdefault("poll", PollPolicy(timeout=10, expected_duration=0.01, min_interval=0.01))
        kwargs.setdefault("retry", RETRY)
        extra: Any = None
        if kind == "sync-httpx":
            extra = kwargs["http_client"] = httpx.Client(timeout=30)
        elif kind == "async-httpx":
            extra = kwargs["http_client"] = httpx.AsyncClient(timeout=30)
        cls = AsyncClient if kind.startswith("async") else Client
        client = cls(
            backend, api_key="k", base_url=url, journal=False, image_dir=tmp_path, **kwargs
        )
        harness = Harness(client)
        made.append((harness, extra))
        return harness

    yield factory
    for harness, extra in made:
        await harness.close()
        if isinstance(extra, httpx.AsyncClient):
            await extra.aclose()
        elif extra is not None:
            extra.close()


def prompt() -> StructuredPrompt:
    return StructuredPrompt.load(EXAMPLE)


# ---------------------------------------------------------------------------------- item 9


@pytest.mark.parametrize("kind", KINDS)
async def test_endless_chunked_image_stops_at_the_cap(
    kind: str, scripted: Callable[..., Scripted], make: Any, tmp_path: Path
) -> None:
    server = scripted(completed, endless_chunked)
    client = make(kind, server.url, tmp_path, max_image_bytes=CAP)
    with pytest.raises(ImageError) as info:
        await client.generate(prompt())
    assert str(info.value) == (
        "bria request req-1: the image is over the limit of 262144 bytes (the download "
        "stopped there); raise --max-image-bytes (the client's max_image_bytes=) if images "
        "this large are expected"
    )
    assert server.done.wait(5)
    assert server.sent < CAP + BUFFERED
    # one download: a refused image is not fetched again
    assert server.seen.count("GET /image.png") == 1


@pytest.mark.parametrize("kind", KINDS)
async def test_declared_length_over_the_cap_is_refused_unread(
    kind: str, scripted: Callable[..., Scripted], make: Any, tmp_path: Path
) -> None:
    server = scripted(completed, huge_length)
    client = make(kind, server.url, tmp_path, max_image_bytes=CAP)
    with pytest.raises(ImageError) as info:
        await client.generate(prompt())
    assert str(info.value) == (
        "bria request req-1: the image is 10000000000 bytes (its Content-Length), over the "
        "limit of 262144 bytes, so it was not downloaded; raise --max-image-bytes (the "
        "client's max_image_bytes=) if images this large are expected"
    )
    assert server.done.wait(5)
    assert server.sent < BUFFERED


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_an_api_answer_over_the_cap_is_a_format_error_not_retried(
    kind: str, scripted: Callable[..., Scripted], make: Any, tmp_path: Path
) -> None:
    def endless_json(handler: _Handler) -> None:
        handler.send(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n")
        handler.send(b"transfer-encoding: chunked\r\n\r\n")
        frame = b"10000\r\n%b\r\n" % (b" " * 0x10000)
        while handler.server.sent < CEILING:
            handler.send(frame)

    server = scripted(endless_json)
    client = make(kind, server.url, tmp_path, max_image_bytes=CAP)
    job = await client.submit(prompt())
    with pytest.raises(ResponseFormatError) as info:
        await client.poll(job)
    # answers are read up to MIN_ANSWER_BYTES at least, whatever the (image) cap says
    assert str(info.value) == (
        "bria request req-1: the service's answer is over the limit of 1048576 bytes (reading "
        "stopped there); raise --max-image-bytes (the client's max_image_bytes=) if answers "
        "this large are expected"
    )
    assert server.seen.count("GET /v2/status/req-1") == 1
    assert server.done.wait(5) and server.sent < MIN_ANSWER_BYTES + BUFFERED


# ---------------------------------------------------------------------------------- item 10

POLL_DEADLINE = (
    "bria request req-1: the deadline passed before the service's answer had arrived in full; "
    "the job may still be running: resume it later (`fibo jobs resume`)"
)


@pytest.mark.parametrize("kind", KINDS)
async def test_trickling_status_body_hits_the_poll_deadline(
    kind: str, scripted: Callable[..., Scripted], make: Any, tmp_path: Path
) -> None:
    server = scripted(trickle(head=False))
    client = make(kind, server.url, tmp_path, poll=PollPolicy(timeout=1.0, expected_duration=0.01))
    job = await client.submit(prompt())
    started = time.monotonic()
    with pytest.raises(PollTimeoutError) as info:
        await client.poll(job)
    assert time.monotonic() - started < 1.0 + SLACK
    assert str(info.value) == POLL_DEADLINE


@pytest.mark.parametrize("kind", OWN)
async def test_trickling_status_head_hits_the_poll_deadline(
    kind: str, scripted: Callable[..., Scripted], make: Any, tmp_path: Path
) -> None:
    server = scripted(trickle(head=True))
    client = make(kind, server.url, tmp_path, poll=PollPolicy(timeout=1.0, expected_duration=0.01))
    job = await client.submit(prompt())
    started = time.monotonic()
    with pytest.raises(PollTimeoutError) as info:
        await client.poll(job)
    assert time.monotonic() - started < 1.0 + SLACK
    assert str(info.value) == POLL_DEADLINE


@pytest.mark.parametrize("kind", KINDS)
async def test_trickling_image_download_hits_the_deadline(
    kind: str, scripted: Callable[..., Scripted], make: Any, tmp_path: Path
) -> None:
    server = scripted(completed, trickle(head=False, content_type=b"image/png"))
    client = make(kind, server.url, tmp_path, poll=PollPolicy(timeout=1.0, expected_duration=0.01))
    job = await client.poll(await client.submit(prompt()))
    started = time.monotonic()
    with pytest.raises(PollTimeoutError) as info:
        await client.result(job)
    assert time.monotonic() - started < 1.0 + SLACK
    assert str(info.value) == (
        "bria request req-1: the deadline passed before the image had arrived in full; the job "
        "succeeded: collect it later (`fibo jobs resume`) before the service's retention ends"
    )


@pytest.mark.parametrize("kind", OWN)
async def test_submit_cut_by_the_request_timeout_is_outcome_unknown_and_not_resent(
    kind: str, scripted: Callable[..., Scripted], make: Any, tmp_path: Path
) -> None:
    server = scripted(completed, submit=trickle(head=True))
    client = make(kind, server.url, tmp_path, request_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(SubmitOutcomeUnknownError) as info:
        await client.submit(prompt())
    assert time.monotonic() - started < 1.0 + SLACK
    assert str(info.value).startswith(
        "bria: the submit was sent but no answer came back (ReadTimeout); it may have been "
        "accepted and billed, so it was not resent"
    )
    assert server.seen == ["POST /v2/image/generate"]


def test_cli_timeout_bounds_a_trickling_status(
    scripted: Callable[..., Scripted], monkeypatch: pytest.MonkeyPatch
) -> None:
    server = scripted(trickle(head=False))
    monkeypatch.setenv("BRIA_API_TOKEN", "k")
    app = typer.Typer()
    register(app)
    started = time.monotonic()
    result = CliRunner().invoke(
        app,
        ["generate", str(EXAMPLE), "-b", "bria", "--base-url", server.url, "--timeout", "1"],
    )
    assert time.monotonic() - started < 1.0 + SLACK
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == f"error: {POLL_DEADLINE}"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_a_task_stream_line_without_end_falls_back_to_polling(
    kind: str, scripted: Callable[..., Scripted], make: Any, tmp_path: Path
) -> None:
    def endless_line(handler: _Handler) -> None:
        handler.send(b"HTTP/1.1 200 OK\r\ncontent-type: application/x-ndjson\r\n")
        handler.send(b"transfer-encoding: chunked\r\n\r\n")
        frame = b"10000\r\n%b\r\n" % (b"x" * 0x10000)
        while handler.server.sent < CEILING:
            handler.send(frame)

    def done(handler: _Handler) -> None:
        image = {"uri": f"{handler.server.url}/image.png"}
        json_answer(200, {"id": "t1", "status": 10, "output": {"image": image, "seed": 5}})(handler)

    server = scripted(
        done,
        png_answer,
        routes={
            "/apps/run": json_answer(200, {"id": "t1", "status": 1}),
            "/tasks/t1/stream": endless_line,
            "/tasks/t1": done,
        },
    )
    client = make(kind, server.url, tmp_path, backend="inferencesh")
    generation = await client.generate(prompt())
    assert (generation.width, generation.height) == (8, 8)
    assert server.seen[:3] == ["POST /apps/run", "GET /tasks/t1/stream", "GET /tasks/t1"]
    assert server.sent < MAX_STREAM_LINE + BUFFERED


@pytest.mark.parametrize("cls", [Client, AsyncClient])
@pytest.mark.parametrize("value", [0, -1.0, float("nan")])
def test_request_timeout_must_be_positive(cls: Any, value: float) -> None:
    with pytest.raises(ConfigurationError) as info:
        cls("bria", api_key="k", journal=False, request_timeout=value)
    assert str(info.value) == (
        f"request_timeout={value!r}: give a positive number of seconds, or None for no cap"
    )
