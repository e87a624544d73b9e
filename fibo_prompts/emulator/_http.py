"""The emulator's HTTP plumbing: the reply type, the job record, the threaded server and the
protocol every emulated service (Bria, Segmind, inference.sh, fal, Replicate) implements.

:class:`fibo_prompts.emulator.server.Emulator` owns the jobs, the accounting and the faults;
each service module only maps its routes to actions and speaks its own error format.
"""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Final, Protocol

if TYPE_CHECKING:
    from fibo_prompts.emulator.server import Emulator

__all__ = ["DROP", "Action", "EmuJob", "Handler", "Reply", "Route", "Server", "Service"]

DROP: Final = "drop"  # close the connection without an answer


@dataclass
class Reply:
    """An HTTP answer to send (or a connection to drop)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    action: str | None = None


def json_reply(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    """A JSON answer (UTF-8, non-ASCII kept as is)."""
    body = json.dumps(data, ensure_ascii=False).encode()
    return Reply(status, body, {"content-type": "application/json", **(headers or {})})


#: an endpoint's action: ``(arg, raw body, base URL) -> Reply``
Action = Callable[[str, bytes, str], Reply]
#: what a service's router answers: ``(service, endpoint, action, arg)``; the endpoint is
#: ``submit`` (billed, submit faults), ``status``, ``result`` or ``stream``; a ``stream``
#: route's action is ``None`` (the service's :meth:`Service.stream` writes the answer)
Route = tuple[str, str, Action | None, str]


class Service(Protocol):
    """One emulated service: its routes, its key header and its error formats."""

    name: str

    def route(self, method: str, path: str) -> Route | None:
        """The route for ``method path``, or ``None`` when it is not this service's."""

    def key(self, headers: dict[str, str]) -> str | None:
        """The API key the request carries (lower-cased header names)."""

    def error(self, status: int, message: str) -> Reply:
        """An error in the service's own documented format."""

    def too_many(self, wait: float) -> Reply:
        """A 429 carrying the service's rate-limit signal (``wait`` seconds)."""


@dataclass
class EmuJob:
    """One emulated job."""

    id: str
    service: str
    kind: str
    created: float
    duration: float
    outcome: str  # ok | failed | unknown | moderation | invalid | cancelled
    seed: int
    wire: str | None
    text: str | None
    aspect_ratio: str | None
    instruction: str | None = None
    error: str | None = None
    #: Bria's ``warning`` (the IP signal), repeated in every reply about the job
    warning: str | None = None
    #: the API key the job was submitted with, when its failure is to quote it (the
    #: ``echo_key`` fault); ``None`` otherwise
    key: str | None = None
    counts: Counter[str] = field(default_factory=Counter)
    created_wall: float = field(default_factory=time.time)
    #: set when the job changes other than by time passing (a cancel), to wake its streams
    changed: threading.Event = field(default_factory=threading.Event)
    #: the service's extra request fields the emulator answers with (Bria's edit image,
    #: ``num_results``, ``resolution``...)
    extra: dict[str, Any] = field(default_factory=dict)

    def done(self, now: float) -> bool:
        """Whether the job has finished running."""
        return self.outcome in ("invalid", "cancelled") or now - self.created >= self.duration

    def progress(self, now: float) -> float:
        """0..1 of the job's duration elapsed."""
        return 1.0 if self.duration <= 0 else min(1.0, (now - self.created) / self.duration)


class Handler(BaseHTTPRequestHandler):
    """Hands every request to the server's :class:`Emulator` and writes its :class:`Reply`."""

    protocol_version = "HTTP/1.1"
    server_version = "fibo-emulator/1"
    timeout = 60  # idle keep-alive connections are closed, so handler threads end
    # Headers and body are separate writes; with Nagle on, the body waits for the client's
    # delayed ACK (~40 ms per request on Linux loopback), which capped the emulator near
    # 25 requests/s per connection and dominated every benchmark.
    disable_nagle_algorithm = True
    wbufsize = 1 << 16  # headers and body leave in one write (the stdlib flushes per request)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
        del format, args  # quiet: the stats endpoint is the record

    def _dispatch(self) -> None:
        app: Emulator = self.server.app  # type: ignore[attr-defined]
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = app.handle(self.command, self.path, dict(self.headers.items()), body, self)
        app.log_request(self.command, self.path, "-" if reply.action == DROP else reply.status)
        if reply.action == DROP:
            self.close_connection = True
            return
        self.send_response(reply.status)
        headers = {"content-length": str(len(reply.body)), **reply.headers}
        if reply.action == "truncate":
            headers["content-length"] = str(len(reply.body) + 100)
            self.close_connection = True
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(reply.body)  # buffered with the headers; flushed after the handler

    do_GET = _dispatch
    do_POST = _dispatch
    do_PUT = _dispatch
    do_DELETE = _dispatch


class Server(ThreadingHTTPServer):
    """A threaded server whose client hang-ups are not logged as errors."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hangs up (killed, timed out) or refuses the TLS certificate (one
        # that does not trust the throwaway CA) is normal traffic here, not an error
        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError | ssl.SSLError):
            super().handle_error(request, client_address)
