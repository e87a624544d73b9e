"""Benchmark: bounded HTTP (issue 13, items 9-10): what a hostile server costs the client.

Prints figures only; nothing here is a test. Run from the repository root:

    .venv/bin/python bench/bounded.py [--cap-mib 50] [--requests 4000]

1. An endless chunked image against the default 50 MiB cap, on the sync client and on the
   async client (lean transport): bytes the server got to send before the client hung up,
   the client's peak Python memory (``tracemalloc``) and the time to the error.
2. A status answer trickling one byte every 50 ms against ``PollPolicy(timeout=1)``: when the
   ``PollTimeoutError`` came (target: the deadline plus at most half a second).
3. The price of the whole-request deadline on the async hot path: CPU per status GET through
   the lean transport with the default per-request cap and with ``request_timeout=None``
   (no timer), 8 tasks sharing 8 connections, against the in-process emulator (whose work is
   in the figure too). Medians of 5 alternating runs.
"""

from __future__ import annotations

import argparse
import socket
import socketserver
import statistics
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable, Generator
from pathlib import Path
from typing import Any

import anyio
import httpx

from fibo_prompts import StructuredPrompt
from fibo_prompts.emulator import Emulator, EmulatorConfig
from fibo_prompts.errors import ImageError, PollTimeoutError
from fibo_prompts.generate import AsyncClient, Client, PollPolicy
from fibo_prompts.generate._drive import RequestGate, adrive
from fibo_prompts.generate._steps import REQUEST_TIMEOUT, Send
from fibo_prompts.generate._transport import AsyncHTTP11Transport

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "minimal.json"
CEILING = 2 * 1024**3  # what the endless route sends at most (an unbounded client reads it all)


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        sock: socket.socket = self.request
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(4096)
            if not data:
                return
            head += data
        path = head.split(b" ", 2)[1].decode()
        try:
            self.server.routes[path](sock, self.server)
        except OSError:
            pass
        finally:
            self.server.done.set()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes: dict[str, Callable[[socket.socket, _Server], None]]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server_address[1]}"
        self.routes = routes
        self.sent = 0
        self.done = threading.Event()


def _json(sock: socket.socket, body: bytes, status: int = 200) -> None:
    sock.sendall(
        b"HTTP/1.1 %d X\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
        b"connection: close\r\n\r\n%b" % (status, len(body), body)
    )


def _endless(sock: socket.socket, server: _Server) -> None:
    sock.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ntransfer-encoding: chunked\r\n\r\n"
    )
    chunk = b"\x89PNG\r\n\x1a\n" + bytes(256 * 1024 - 8)
    frame = b"%x\r\n%b\r\n" % (len(chunk), chunk)
    while server.sent < CEILING:
        sock.sendall(frame)
        server.sent += len(chunk)


def _trickle(sock: socket.socket, _server: _Server) -> None:
    sock.sendall(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 9999\r\n\r\n"
    )
    for _ in range(200):  # 10 s at most
        sock.sendall(b" ")
        time.sleep(0.05)


def _bria(status: Callable[[socket.socket, _Server], None] | None = None) -> _Server:
    """A Bria look-alike: submit accepted; ``status`` answers (default: done, with an image
    URL whose body never ends)."""

    def accept(sock: socket.socket, _server: _Server) -> None:
        _json(sock, b'{"request_id": "r1"}', 202)

    def completed(sock: socket.socket, server: _Server) -> None:
        body = b'{"status": "COMPLETED", "result": {"image_url": "%b/image.png"}}'
        _json(sock, body % server.url.encode())

    server = _Server(
        {
            "/v2/image/generate": accept,
            "/v2/status/r1": status or completed,
            "/image.png": _endless,
        }
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def endless_image(kind: str, cap: int) -> None:
    server = _bria()
    prompt = StructuredPrompt.load(EXAMPLE)
    options: dict[str, Any] = {
        "api_key": "k",
        "base_url": server.url,
        "journal": False,
        "image_dir": tempfile.mkdtemp(),
        "poll": PollPolicy(expected_duration=0.01),
        "max_image_bytes": cap,
    }
    tracemalloc.start()
    started = time.perf_counter()
    try:
        if kind == "sync":
            with Client("bria", **options) as client:
                client.generate(prompt)
        else:

            async def run() -> None:
                async with AsyncClient("bria", **options) as client:
                    await client.generate(prompt)

            anyio.run(run)
    except ImageError:
        pass
    took = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    server.done.wait(10)
    server.shutdown()
    print(
        f"endless image, {kind:5}: server sent {server.sent / 2**20:6.1f} MiB before the client "
        f"hung up (cap {cap / 2**20:.0f} MiB); client peak {peak / 2**20:6.1f} MiB; "
        f"error after {took:.2f} s"
    )


def trickle(kind: str) -> None:
    server = _bria(_trickle)
    prompt = StructuredPrompt.load(EXAMPLE)
    options: dict[str, Any] = {
        "api_key": "k",
        "base_url": server.url,
        "journal": False,
        "poll": PollPolicy(timeout=1.0, expected_duration=0.01),
    }
    took = 0.0
    if kind == "sync":
        with Client("bria", **options) as client:
            job = client.submit(prompt)
            started = time.perf_counter()
            try:
                client.poll(job)
            except PollTimeoutError:
                took = time.perf_counter() - started
    else:

        async def run() -> float:
            async with AsyncClient("bria", **options) as client:
                job = await client.submit(prompt)
                started = time.perf_counter()
                try:
                    await client.poll(job)
                except PollTimeoutError:
                    return time.perf_counter() - started
            return 0.0

        took = anyio.run(run)
    server.shutdown()
    print(f"trickled status, {kind:5}: PollTimeoutError after {took:.2f} s (deadline 1 s)")


def _gets(url: str, count: int) -> Generator[Send, Any, int]:
    for _ in range(count):
        response = yield Send(httpx.Request("GET", url))
        assert response.status_code == 200
    return count


def overhead(url: str, requests: int, cap: float | None) -> float:
    async def run() -> float:
        direct = AsyncHTTP11Transport(max_connections=8)
        client = httpx.AsyncClient(transport=direct, timeout=httpx.Timeout(30, connect=10))
        gate = RequestGate(8)

        async def one(count: int) -> None:
            await adrive(_gets(url, count), client, gate=gate, direct=direct, request_timeout=cap)

        await one(200)  # warm the connections
        started = time.process_time()
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(one, requests // 8)
        spent = time.process_time() - started
        await client.aclose()
        return spent / requests * 1e6

    return anyio.run(run)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap-mib", type=int, default=50)
    parser.add_argument("--requests", type=int, default=4000)
    args = parser.parse_args()
    for kind in ("sync", "async"):
        endless_image(kind, args.cap_mib * 2**20)
    for kind in ("sync", "async"):
        trickle(kind)
    with Emulator(EmulatorConfig()) as emu:
        url = f"{emu.url}/_emulator/stats"
        capped: list[float] = []
        free: list[float] = []
        for _ in range(5):
            capped.append(overhead(url, args.requests, REQUEST_TIMEOUT))
            free.append(overhead(url, args.requests, None))
    print(
        f"async GET CPU: {statistics.median(capped):.0f} us with the {REQUEST_TIMEOUT:.0f} s "
        f"cap, {statistics.median(free):.0f} us without (medians of 5)"
    )


if __name__ == "__main__":
    main()
