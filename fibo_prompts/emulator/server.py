"""A local HTTP server speaking the hosted FIBO protocols, for tests, benchmarks and offline use.

Routes (``reference/hosted-apis.md``):

=========================================  ====================================================
Bria v2                                    ``POST /v2/image/generate`` → 202 (``sync``: 200),
                                           ``POST /v2/structured_prompt/generate``,
                                           ``GET /v2/status/{id}`` (IN_PROGRESS, COMPLETED,
                                           ERROR, UNKNOWN; 404 ``NOT_FOUND`` for an unknown
                                           or expired id); key header ``api_token``
Segmind v2                                 ``POST /v2/{slug}``, ``GET /v2/requests/{id}/status``
                                           (FAILED as HTTP 422, 404 after expiry),
                                           ``GET /v2/requests/{id}``, the legacy ``poll_url``
                                           ``GET /v1/requests/{id}``; key ``x-api-key``
Segmind v1                                 ``POST /v1/bria-fibo-generate`` → JPEG bytes (or PNG,
                                           or JSON with a URL or base64: config
                                           ``segmind_v1_response``) + ``x-seed-value``,
                                           ``x-cost``, ``x-request-id``...;
                                           ``POST /v1/bria-fibo-generate-structured-prompt``
                                           → the JSON text
inference.sh                               ``POST /apps/run``, ``GET /tasks/{id}``,
                                           ``GET /tasks/{id}/stream`` (NDJSON: the full task,
                                           then ``{"data": {"status": N}, "fields":
                                           ["status"]}`` per change, heartbeats, the full
                                           task at the end), ``POST /tasks/{id}/cancel``;
                                           ``Authorization: Bearer``
emulator                                   ``GET /_emulator/files/{id}.png|jpg`` (result images),
                                           ``GET /_emulator/stats``, ``POST /_emulator/reset``
=========================================  ====================================================

The accounting (``/_emulator/stats``) counts every job created, that is every submit the
real service would bill (``accepted``), and the submit bodies accepted more than once
(``billed_twice``: the same request paid for again).

429s carry each service's signal: Bria and inference.sh ``Retry-After`` (Bria's real headers
are undocumented: an assumption), Segmind ``x-rate-limit-reset-at-utc`` (ISO 8601) and no
``Retry-After``. Segmind accepts an invalid body with 200 and fails the job (as the real
service does on some endpoints); Bria and inference.sh reject it at once (422). inference.sh's
``bria/generate-lite`` declares its inputs (``_INF_INPUTS``, from the app page); an undeclared
input (``structured_prompt``, ``negative_prompt``...) is refused with 422 problem+json, an
assumption: the live service's wording is undocumented.

Structured-prompt routes derive their answer with the rule documented in
:mod:`fibo_prompts.generate._derive` (no language model). Jobs complete lazily: a job's state
is computed from its submit time and drawn duration, so no thread runs per job.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import ssl
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Final, TextIO
from urllib.parse import urlsplit

from fibo_prompts.emulator.config import EmulatorConfig
from fibo_prompts.generate._derive import derive_structured_prompt
from fibo_prompts.generate._render import ASPECT_RATIOS, render_preview

__all__ = ["Emulator"]

#: ``bria/generate-lite``'s declared inputs: a type, a (low, high) range or the allowed values
#: (app page https://inference.sh/apps/bria/generate-lite; ``num_images`` 1..4 is unverified).
_INF_INPUTS: Final[dict[str, Any]] = {
    "prompt": str,
    "images": list,
    "num_images": (1, 4),
    "sync": bool,
    "aspect_ratio": ASPECT_RATIOS,
    "guidance_scale": (3, 5),
    "steps": (1, 50),
    "seed": (0, 2_147_483_647),
    "output_format": ("png", "jpeg"),
}

_DROP: Final = "drop"  # close the connection without an answer
#: what nginx answers when its upstream fails or times out: HTML, not the service's format
_GATEWAY_PAGE: Final = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_GATEWAY_REASONS: Final = {502: "Bad Gateway", 504: "Gateway Time-out"}
#: Names the emulator's IP signal flags (Bria's real list is not published).
_IP_TERMS: Final = ("pikachu", "mickey mouse", "darth vader")
SEGMIND_SLUGS: Final = ("bria-fibo-generate", "bria-fibo-generate-structured-prompt")
#: https://www.segmind.com/models/bria-fibo-generate/api: aspect_ratio default "16:9"
SEGMIND_DEFAULT_ASPECT_RATIO: Final = "16:9"
#: seed "Range: 1 - 999999999" (the structured-prompt slug's page; issue 14 for generate),
#: steps_num 20-50 (issue 14, from the generate page), guidance_scale an integer 3-5
SEGMIND_SEED: Final = (1, 999_999_999)
SEGMIND_STEPS: Final = (20, 50)


@dataclass
class Reply:
    """An HTTP answer to send (or a connection to drop)."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    action: str | None = None


def _json(status: int, data: Any, headers: dict[str, str] | None = None) -> Reply:
    body = json.dumps(data, ensure_ascii=False).encode()
    return Reply(status, body, {"content-type": "application/json", **(headers or {})})


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

    def done(self, now: float) -> bool:
        """Whether the job has finished running."""
        return self.outcome in ("invalid", "cancelled") or now - self.created >= self.duration

    def progress(self, now: float) -> float:
        """0..1 of the job's duration elapsed."""
        return 1.0 if self.duration <= 0 else min(1.0, (now - self.created) / self.duration)


class _Handler(BaseHTTPRequestHandler):
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
        app.log_request(self.command, self.path, "-" if reply.action == _DROP else reply.status)
        if reply.action == _DROP:
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


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a client that hangs up (killed, timed out) is normal traffic here, not an error
        import sys

        if not isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            super().handle_error(request, client_address)


class Emulator:
    """The emulator: start it in a thread (:meth:`start`) or serve in the foreground.

    Example:
        >>> from fibo_prompts.emulator import Emulator, EmulatorConfig
        >>> with Emulator(EmulatorConfig(duration_s=0.1)) as emu:
        ...     emu.url.startswith("http://127.0.0.1:")
        True
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        request_log: TextIO | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.config = config or EmulatorConfig()
        #: where :meth:`log_request` writes (``fibo emulator --log FILE``); None: nowhere
        self.request_log = request_log
        self._rng = random.Random(self.config.seed)
        self._lock = threading.Lock()
        self._jobs: dict[str, EmuJob] = {}
        self._counts: Counter[str] = Counter()
        #: accepted submits per body digest: the same request billed twice shows here
        self._bodies: Counter[str] = Counter()
        #: the request being answered, per handler thread (its key, its body's digest)
        self._current = threading.local()
        self._buckets: dict[str, tuple[float, float]] = {}
        self._images: dict[str, bytes] = {}
        self._server = _Server((host, port), _Handler)
        self._server.app = self  # type: ignore[attr-defined]
        #: "https" when serving TLS (``tls=``, e.g. :func:`fibo_prompts.emulator.tls.
        #: throwaway_tls`): fal-client speaks only https
        self.scheme = "http"
        if tls is not None:
            # the handshake happens in the handler thread, on the first read, so a slow
            # client cannot stall the accept loop
            self._server.socket = tls.wrap_socket(
                self._server.socket, server_side=True, do_handshake_on_connect=False
            )
            self.scheme = "https"
        # services served by their own modules (fal, Replicate); imported here, not at the
        # top: they import this module's Reply
        from fibo_prompts.emulator.fal import FalService
        from fibo_prompts.emulator.replicate import ReplicateService

        self._services: dict[str, Any] = {
            s.name: s for s in (FalService(self), ReplicateService(self))
        }
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8765``."""
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def start(self) -> Emulator:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ accounting

    def stats(self) -> dict[str, Any]:
        """Request counts: totals, per route, per fault and per job."""
        with self._lock:
            now = time.monotonic()
            jobs = {
                j.id: {
                    "service": j.service,
                    "kind": j.kind,
                    "outcome": j.outcome,
                    "done": j.done(now),
                    "created_at": j.created_wall,
                    "duration": j.duration,
                    "ends_at": j.created_wall + j.duration,
                    **dict(j.counts),
                }
                for j in self._jobs.values()
            }
            twice = sum(1 for n in self._bodies.values() if n > 1)
            return {
                "counts": dict(self._counts),
                "accepted": len(self._jobs),
                "billed_twice": twice,
                "jobs": jobs,
            }

    def reset(self) -> None:
        """Forget every job and count."""
        with self._lock:
            self._jobs.clear()
            self._counts.clear()
            self._bodies.clear()
            self._buckets.clear()
            self._images.clear()

    def log_request(self, method: str, raw_path: str, status: int | str) -> None:
        """One line to :attr:`request_log`: UTC time, method, path, status (``-``: the
        connection was dropped). The query string is left out: it may carry a credential."""
        if self.request_log is None:
            return
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
        path = raw_path.split("?", 1)[0]
        with self._lock:
            self.request_log.write(f"{stamp} {method} {path} {status}\n")
            self.request_log.flush()

    def _count(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._counts[key] += 1

    def _chance(self, p: float) -> bool:
        if p <= 0:
            return False
        with self._lock:
            return self._rng.random() < p

    def _duration(self) -> float:
        c = self.config
        if c.duration_sigma <= 0 or c.duration_s <= 0:
            return c.duration_s
        with self._lock:
            return c.duration_s * math.exp(self._rng.gauss(0.0, c.duration_sigma))

    # ------------------------------------------------------------------ dispatch

    def handle(
        self,
        method: str,
        raw_path: str,
        headers: dict[str, str],
        body: bytes,
        handler: BaseHTTPRequestHandler,
    ) -> Reply:
        """Answer one request."""
        path = urlsplit(raw_path).path.rstrip("/")
        lower = {k.lower(): v for k, v in headers.items()}
        base = f"{self.scheme}://{lower.get('host', 'localhost')}"
        self._current.headers = lower
        self._count("requests")
        if path.startswith("/_emulator/"):
            return self._internal(method, path)
        route = self._route(method, path)
        if route is None:
            return _json(404, {"error": f"no route {method} {path}"})
        service, endpoint, action, arg = route
        self._count(f"{service}.{endpoint}")
        denied = self._auth(service, lower)
        if denied is not None:
            self._count("unauthorized")
            return denied
        self._current.key = self._key(service, lower)
        self._current.digest = hashlib.sha256(body).hexdigest()
        limited = self._rate_limit(service, endpoint)
        if limited is not None:
            return limited
        f = self.config.faults
        if self._chance(f.rate_limit):
            self._count("fault.rate_limit")
            return self._too_many(service, f.retry_after_s)
        if self._chance(f.server_error):
            self._count("fault.server_error")
            with self._lock:
                status = self._rng.choice((500, 503))
            return self._service_error(service, status, "emulated server error")
        if self._chance(f.slow):
            self._count("fault.slow")
            time.sleep(f.slow_s)
        if endpoint == "submit":
            self._count("submits_received")
            if self._chance(f.reset_before_submit):
                self._count("fault.reset_before_submit")
                return Reply(0, action=_DROP)
            reply: Reply = action(arg, body, base)
            if reply.status < 300 and self._chance(f.reset_after_submit):
                self._count("fault.reset_after_submit")
                return Reply(0, action=_DROP)
            if reply.status < 300 and self._chance(f.gateway_after_accept):
                self._count("fault.gateway_after_accept")
                return self._gateway_page()
            return reply
        if self._chance(f.reset_poll):
            self._count("fault.reset_poll")
            return Reply(0, action=_DROP)
        if endpoint == "stream":
            self._stream(arg, base, handler)
            return Reply(0, action=_DROP)
        result: Reply = action(arg, body, base)
        reply = result
        if method == "GET" and reply.body and self._chance(f.truncate):
            self._count("fault.truncate")
            reply.action = "truncate"
        return reply

    def _route(self, method: str, path: str) -> tuple[str, str, Any, str] | None:
        for service in self._services.values():
            found: tuple[str, str, Any, str] | None = service.route(method, path)
            if found is not None:
                return found
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v2/image/generate":
            return "bria", "submit", self._bria_submit, "image"
        if method == "POST" and path == "/v2/structured_prompt/generate":
            return "bria", "submit", self._bria_submit, "structured_prompt"
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v2", "status"]:
            return "bria", "status", self._bria_status, parts[2]
        if method == "POST" and len(parts) == 2 and parts[0] == "v2":
            return "segmind", "submit", self._segmind_submit, parts[1]
        if method == "POST" and len(parts) == 2 and parts[0] == "v1":
            return "segmind", "submit", self._segmind_v1, parts[1]
        if method == "GET" and len(parts) == 4 and parts[:2] == ["v2", "requests"]:
            if parts[3] == "status":
                return "segmind", "status", self._segmind_status, parts[2]
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v2", "requests"]:
            return "segmind", "result", self._segmind_result, parts[2]
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "requests"]:
            # the v2 submit's ``poll_url`` (docs: "V1 poll endpoint (backward compatible)")
            return "segmind", "status", self._segmind_result, parts[2]
        if method == "POST" and path in ("/apps/run", "/run"):
            return "inferencesh", "submit", self._inf_submit, ""
        if len(parts) >= 2 and parts[0] == "tasks":
            if method == "GET" and len(parts) == 2:
                return "inferencesh", "status", self._inf_status, parts[1]
            if method == "GET" and len(parts) == 3 and parts[2] == "stream":
                return "inferencesh", "stream", None, parts[1]
            if method == "POST" and len(parts) == 3 and parts[2] == "cancel":
                return "inferencesh", "status", self._inf_cancel, parts[1]
        return None

    def _key(self, service: str, headers: dict[str, str]) -> str | None:
        if service in self._services:
            key: str | None = self._services[service].key(headers)
            return key
        if service == "bria":
            return headers.get("api_token")
        if service == "segmind":
            return headers.get("x-api-key")
        value = headers.get("authorization", "")
        return value[7:] if value.lower().startswith("bearer ") else None

    def _auth(self, service: str, headers: dict[str, str]) -> Reply | None:
        key = self._key(service, headers)
        wanted = self.config.api_keys.get(service)
        if key and (wanted is None or key == wanted):
            return None
        message = "missing API key" if not key else "invalid API key"
        if service in self._services:
            denied: Reply = self._services[service].error(401, message)
            return denied
        if service == "bria":
            return _json(401, {"error": {"code": 401, "message": message, "details": ""}})
        if service == "segmind":
            return _json(401, {"error": message})
        return self._problem(401, "unauthorized", message)

    def _rate_limit(self, service: str, endpoint: str) -> Reply | None:
        rate = self.config.rate_limits.get(f"{service}.{endpoint}")
        if not rate:
            return None
        key = f"{service}.{endpoint}"
        with self._lock:
            now = time.monotonic()
            tokens, last = self._buckets.get(key, (rate, now))
            tokens = min(rate, tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            wait = (1 - tokens) / rate
        self._count("rate_limited")
        return self._too_many(service, wait)

    def _too_many(self, service: str, wait: float) -> Reply:
        if service in self._services:
            limited: Reply = self._services[service].too_many(wait)
            return limited
        if service == "segmind":
            reset = datetime.fromtimestamp(time.time() + wait, UTC)
            stamp = reset.isoformat(timespec="milliseconds").replace("+00:00", "Z")
            return _json(
                429, {"error": "Rate limit exceeded"}, {"x-rate-limit-reset-at-utc": stamp}
            )
        retry = {"retry-after": str(max(1, math.ceil(wait)))}
        if service == "bria":
            message = {"code": 429, "message": "Too many requests", "details": ""}
            return _json(429, {"error": message}, retry)
        return self._problem(429, "rate_limited", "Too many requests", retry)

    def _service_error(self, service: str, status: int, message: str) -> Reply:
        """An error in the service's own documented format (``reference/hosted-apis.md``)."""
        if service in self._services:
            failed: Reply = self._services[service].error(status, message)
            return failed
        if service == "bria":
            return self._bria_error(status, message)
        if service == "segmind":
            return _json(status, {"error": message})
        return self._problem(status, "internal_error", message)

    def _gateway_page(self) -> Reply:
        """A proxy's HTML error page (the service itself never answered the client)."""
        with self._lock:
            status = self._rng.choice((502, 504))
        self._count(f"fault.gateway_{status}")
        page = _GATEWAY_PAGE.format(status=status, reason=_GATEWAY_REASONS[status])
        return Reply(status, page.encode(), {"content-type": "text/html"})

    @staticmethod
    def _failure(job: EmuJob, message: str) -> str:
        """A failed job's error message (quoting its key under the ``echo_key`` fault)."""
        if job.key:
            return f"{message}; the request was made with key {job.key}"
        return message

    def _problem(
        self, status: int, code: str, detail: str, headers: dict[str, str] | None = None
    ) -> Reply:
        data = {
            "type": f"https://inference.sh/errors/{code}",
            "title": code,
            "detail": detail,
            "status": status,
        }
        reply = _json(status, data, headers)
        reply.headers["content-type"] = "application/problem+json"
        return reply

    def _internal(self, method: str, path: str) -> Reply:
        if method == "GET" and path == "/_emulator/stats":
            return _json(200, self.stats())
        if method == "POST" and path == "/_emulator/reset":
            self.reset()
            return _json(200, {"reset": True})
        if method == "GET" and path.startswith("/_emulator/files/"):
            return self._file(path.rsplit("/", 1)[1])
        return _json(404, {"error": f"no route {method} {path}"})

    # ------------------------------------------------------------------ jobs

    def _new_job(
        self,
        service: str,
        kind: str,
        body: dict[str, Any],
        *,
        wire_key: str = "structured_prompt",
        text_key: str = "prompt",
        outcome: str | None = None,
        error: str | None = None,
    ) -> EmuJob:
        f = self.config.faults
        if outcome is None:
            outcome = "ok"
            if self._chance(f.failed):
                outcome = "failed"
            elif service == "bria" and self._chance(f.unknown):
                outcome = "unknown"
            elif self._chance(f.moderation):
                outcome = "moderation"
        seed = body.get("seed")
        wire = body.get(wire_key)
        job = EmuJob(
            id=uuid.uuid4().hex,
            service=service,
            kind=kind,
            created=time.monotonic(),
            duration=self._duration(),
            outcome=outcome,
            seed=seed if isinstance(seed, int) else 123456,
            wire=wire if isinstance(wire, str) else None,
            text=body.get(text_key) if isinstance(body.get(text_key), str) else None,
            aspect_ratio=body.get("aspect_ratio")
            if isinstance(body.get("aspect_ratio"), str)
            else None,
            error=error,
        )
        if outcome == "failed" and self._chance(f.echo_key):
            self._count("fault.echo_key")
            job.key = getattr(self._current, "key", None)
        job.counts["submits"] += 1
        digest = getattr(self._current, "digest", None)
        with self._lock:
            self._jobs[job.id] = job
            if digest is not None:
                self._bodies[f"{service}:{digest}"] += 1
        self._count("accepted", f"{service}.accepted")
        return job

    def _job(self, job_id: str, what: str) -> EmuJob | None:
        """The job if it exists and has not expired; counts the access."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if time.monotonic() - job.created > self.config.expiry_s:
                return None
            job.counts[what] += 1
            return job

    def _file_url(self, job: EmuJob, base: str, ext: str = "png") -> str:
        return f"{base}/_emulator/files/{job.id}.{ext}"

    def _file(self, name: str) -> Reply:
        job_id, _, ext = name.partition(".")
        job = self._job(job_id, "images")
        if job is None or not job.done(time.monotonic()) or job.outcome != "ok":
            return _json(404, {"error": "file not found"})
        key = f"{job_id}.{ext}"
        image = self._images.get(key)
        if image is None:
            fmt = "JPEG" if ext == "jpg" else "PNG"
            image = render_preview(
                job.wire,
                job.text,
                job.seed,
                job.aspect_ratio,
                longest=self.config.image_size,
                image_format=fmt,
            )
            with self._lock:
                if len(self._images) > 2000:
                    self._images.clear()
                self._images[key] = image
        media = "image/jpeg" if ext == "jpg" else "image/png"
        return Reply(200, image, {"content-type": media})

    def _derived(self, job: EmuJob) -> str:
        return derive_structured_prompt(job.text, job.wire, job.instruction, job.seed)

    # ------------------------------------------------------------------ validation

    @staticmethod
    def _check(body: dict[str, Any], steps_key: str, seed_max: int) -> str | None:
        seed = body.get("seed")
        if seed is not None and (not isinstance(seed, int) or not 0 <= seed <= seed_max):
            return f"seed must be an integer in 0..{seed_max}"
        steps = body.get(steps_key)
        if steps is not None and (not isinstance(steps, int) or not 1 <= steps <= 50):
            return f"{steps_key} must be an integer in range"
        guidance = body.get("guidance_scale")
        if guidance is not None and (
            not isinstance(guidance, int | float) or not 3 <= guidance <= 5
        ):
            return "guidance_scale must be between 3 and 5"
        ratio = body.get("aspect_ratio")
        if ratio is not None and ratio not in ASPECT_RATIOS:
            return f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}"
        sp = body.get("structured_prompt")
        if sp is not None:
            if not isinstance(sp, str):
                return "structured_prompt must be a string containing JSON"
            try:
                if not isinstance(json.loads(sp), dict):
                    return "structured_prompt must be a JSON object"
            except ValueError:
                return "structured_prompt is not valid JSON"
        return None

    @staticmethod
    def _body(raw: bytes) -> dict[str, Any] | None:
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    # ------------------------------------------------------------------ Bria

    def _bria_error(self, status: int, message: str) -> Reply:
        return _json(status, {"error": {"code": status, "message": message, "details": ""}})

    def _bria_submit(self, kind: str, raw: bytes, base: str) -> Reply:
        body = self._body(raw)
        if body is None:
            return self._bria_error(400, "the body is not a JSON object")
        has = tuple(k for k in ("prompt", "images", "structured_prompt") if body.get(k))
        allowed = {
            ("prompt",),
            ("images",),
            ("prompt", "images"),
            ("structured_prompt",),
            ("prompt", "structured_prompt"),
        }
        if has not in allowed:
            return self._bria_error(422, f"invalid input combination: {', '.join(has) or 'none'}")
        if kind == "structured_prompt" and has == ("structured_prompt",):
            return self._bria_error(422, "refining needs a prompt with the structured_prompt")
        problem = self._check(body, "steps_num", 2_147_483_647)
        if problem is None and body.get("steps_num") is not None and body["steps_num"] < 20:
            problem = "steps_num must be in 20..50"
        if problem is not None:
            return self._bria_error(422, problem)
        job = self._new_job("bria", kind, body)
        if kind == "structured_prompt":
            job.instruction = job.text if job.wire else None
        job.warning = self._ip_warning(body)
        if body.get("sync") is True:
            time.sleep(job.duration)
            reply = self._bria_status(job.id, b"", base, count=False)
            data = json.loads(reply.body)
            data.pop("status", None)
            return _json(200, data)
        status_url = f"{base}/v2/status/{job.id}"
        accepted = {"request_id": job.id, "status_url": status_url}
        if job.warning:
            accepted["warning"] = job.warning
        return _json(202, accepted)

    @staticmethod
    def _ip_warning(body: dict[str, Any]) -> str | None:
        """Bria's IP signal: with ``ip_signal: true`` the reply carries a ``warning`` when the
        prompt may reference protected IP (docs.bria.ai v2 image generate, ``ip_signal``).
        Where the warning sits and how it reads are not documented (unverified); the emulator
        flags a few well-known names, in every reply about the job."""
        if body.get("ip_signal") is not True:
            return None
        words = " ".join(str(body.get(k) or "") for k in ("prompt", "structured_prompt"))
        for term in _IP_TERMS:
            if term in words.lower():
                return f"The prompt may reference protected intellectual property ({term!r})"
        return None

    def _bria_status(self, job_id: str, _raw: bytes, base: str, count: bool = True) -> Reply:
        job = self._job(job_id, "polls" if count else "sync")
        if job is None:
            # an unknown or expired id is HTTP 404 {"status": "NOT_FOUND"}; UNKNOWN means an
            # internal error (docs.bria.ai "Get status", https://docs.bria.ai/status/endpoints/
            # get_status.md)
            return _json(404, {"status": "NOT_FOUND"})
        reply = self._bria_reply(job, base)
        if job.warning:
            data = json.loads(reply.body)
            data["warning"] = job.warning
            return _json(reply.status, data)
        return reply

    def _bria_reply(self, job: EmuJob, base: str) -> Reply:
        if not job.done(time.monotonic()):
            return _json(200, {"request_id": job.id, "status": "IN_PROGRESS"})
        if job.outcome == "unknown":
            return _json(200, {"request_id": job.id, "status": "UNKNOWN"})
        if job.outcome in ("failed", "moderation"):
            message = (
                "Content moderation: the output was blocked"
                if job.outcome == "moderation"
                else self._failure(job, "Generation failed (emulated)")
            )
            code = 422 if job.outcome == "moderation" else 500
            return _json(
                200,
                {
                    "request_id": job.id,
                    "status": "ERROR",
                    "error": {"code": code, "message": message, "details": ""},
                },
            )
        result: dict[str, Any] = {"seed": job.seed}
        if job.kind == "image":
            result["image_url"] = self._file_url(job, base)
            result["structured_prompt"] = job.wire or self._derived(job)
        else:
            result["structured_prompt"] = self._derived(job)
        return _json(200, {"request_id": job.id, "status": "COMPLETED", "result": result})

    # ------------------------------------------------------------------ Segmind

    def _segmind_submit(self, slug: str, raw: bytes, base: str) -> Reply:
        if slug not in SEGMIND_SLUGS:
            return _json(404, {"error": f"model {slug} not found"})
        body = self._body(raw)
        if body is None:
            return _json(400, {"error": "Invalid JSON body"})
        kind = "image" if slug == "bria-fibo-generate" else "structured_prompt"
        problem = self._segmind_problem(kind, body)
        # Segmind accepts and bills nothing for an invalid body, failing the job later
        job = self._new_job(
            "segmind", kind, body, outcome="invalid" if problem else None, error=problem
        )
        if kind == "structured_prompt":
            job.instruction = job.text if job.wire else None
        return _json(200, self._segmind_envelope(job, base, "QUEUED"))

    def _segmind_problem(self, kind: str, body: dict[str, Any]) -> str | None:
        """What Segmind's model pages say is wrong with ``body`` (``None``: nothing); fills
        in the documented default aspect ratio."""
        lo, hi = SEGMIND_SEED
        seed = body.get("seed")
        if seed is not None and (type(seed) is not int or not lo <= seed <= hi):
            return f"seed must be an integer in {lo}..{hi}"
        lo, hi = SEGMIND_STEPS
        steps = body.get("steps_num")
        if steps is not None and (type(steps) is not int or not lo <= steps <= hi):
            return f"steps_num must be an integer in {lo}..{hi}"
        guidance = body.get("guidance_scale")
        if guidance is not None and (type(guidance) is not int or not 3 <= guidance <= 5):
            return "guidance_scale must be an integer in 3..5"
        if kind == "image":
            # the generate page marks prompt "required"; an empty one asks for nothing more
            # than the structured prompt (docs/protocols.md, "Segmind")
            if not isinstance(body.get("prompt"), str):
                return "prompt is required"
            if not (body["prompt"] or body.get("structured_prompt") or body.get("image_urls")):
                return "one of prompt, structured_prompt or image_urls is required"
            body.setdefault("aspect_ratio", SEGMIND_DEFAULT_ASPECT_RATIO)
        elif not (body.get("prompt") or body.get("image_urls")):
            return "prompt or image_urls is required"
        return self._check(body, "steps_num", SEGMIND_SEED[1])

    def _segmind_envelope(self, job: EmuJob, base: str, status: str) -> dict[str, Any]:
        status_url = f"{base}/v2/requests/{job.id}/status"
        return {
            "request_id": job.id,
            "status": status,
            # https://docs.segmind.com/docs/serverless-api/async-inference: "V1 poll
            # endpoint (backward compatible)", https://api.segmind.com/v1/requests/{id}
            "poll_url": f"{base}/v1/requests/{job.id}",
            "status_url": status_url,
            "response_url": f"{base}/v2/requests/{job.id}",
        }

    def _segmind_state(self, job: EmuJob) -> str:
        now = time.monotonic()
        if not job.done(now):
            return "QUEUED" if job.progress(now) < 0.2 else "PROCESSING"
        return "COMPLETED" if job.outcome == "ok" else "FAILED"

    def _segmind_failed(self, job: EmuJob) -> Reply:
        message = job.error or self._failure(job, "Inference failed (emulated)")
        if job.outcome == "moderation":
            message = "Content moderation: the output was blocked"
        return _json(422, {"status": "FAILED", "error": message, "metrics": {}})

    def _segmind_status(self, job_id: str, _raw: bytes, base: str) -> Reply:
        job = self._job(job_id, "polls")
        if job is None:
            return _json(404, {"error": f"Request {job_id} not found"})
        state = self._segmind_state(job)
        if state == "FAILED":
            return self._segmind_failed(job)
        return _json(200, {**self._segmind_envelope(job, base, state), "metrics": {}})

    def _segmind_result(self, job_id: str, _raw: bytes, base: str) -> Reply:
        job = self._job(job_id, "results")
        if job is None:
            return _json(404, {"error": f"Request {job_id} not found"})
        state = self._segmind_state(job)
        if state == "FAILED":
            return self._segmind_failed(job)
        if state != "COMPLETED":
            return _json(200, {**self._segmind_envelope(job, base, state), "metrics": {}})
        return _json(200, self._segmind_output(job, base))

    def _segmind_output(self, job: EmuJob, base: str) -> dict[str, Any]:
        total = round(job.duration, 3)
        metrics = {
            "inference_time": round(total * 0.8, 3),
            "queue_time": round(total * 0.2, 3),
            "total_time": total,
            "cost": 0.04 if job.kind == "image" else 0.01,
            "remaining_credits": 100.0,
            "retry_count": 0,
        }
        output = self._file_url(job, base) if job.kind == "image" else self._derived(job)
        return {
            "request_id": job.id,
            "status": "COMPLETED",
            "output": output,
            "metrics": metrics,
        }

    def _segmind_v1(self, slug: str, raw: bytes, base: str) -> Reply:
        if slug not in SEGMIND_SLUGS:
            return _json(404, {"error": f"model {slug} not found"})
        body = self._body(raw)
        if body is None:
            return _json(400, {"error": "Invalid JSON body"})
        kind = "image" if slug == "bria-fibo-generate" else "structured_prompt"
        problem = self._segmind_problem(kind, body)
        if problem is not None:
            return _json(400, {"error": problem})
        job = self._new_job("segmind", kind, body)
        time.sleep(job.duration)
        if job.outcome != "ok":
            return _json(500, {"error": "Inference failed (emulated)"}, {"x-request-id": job.id})
        accounting = {
            "x-cost": "0.04" if kind == "image" else "0.01",
            "x-remaining-credits": "100.0",
            "x-generation-time": f"{job.duration:.3f}",
            "x-request-id": job.id,
        }
        if kind == "structured_prompt":
            # the page: "returning only the JSON string" (answer shape unverified)
            job.instruction = job.text if job.wire else None
            text = self._derived(job).encode()
            return Reply(200, text, {"content-type": "application/json", **accounting})
        answer = self.config.segmind_v1_response
        image = render_preview(
            job.wire,
            job.text,
            job.seed,
            job.aspect_ratio,
            longest=self.config.image_size,
            image_format="PNG" if answer != "jpeg" else "JPEG",
        )
        if answer == "json_url":
            data = {"image": self._file_url(job, base)}
            return _json(200, data, {"x-seed-value": str(job.seed), **accounting})
        if answer == "json_base64":
            data = {"image": base64.b64encode(image).decode()}
            return _json(200, data, {"x-seed-value": str(job.seed), **accounting})
        headers = {"content-type": f"image/{answer}", "x-seed-value": str(job.seed)}
        return Reply(200, image, {**headers, **accounting})

    # ------------------------------------------------------------------ inference.sh

    @staticmethod
    def _inf_check(inputs: dict[str, Any]) -> str | None:
        """The first problem with the inputs of ``bria/generate-lite``, or None.

        Declared inputs and ranges from the app page (https://inference.sh/apps/bria/generate-lite,
        read 2026); how the live service words its refusal of an undeclared input is not
        documented: a 422 problem+json is an assumption (``docs/protocols.md``).
        """
        unknown = sorted(set(inputs) - set(_INF_INPUTS))
        if unknown:
            return (
                f"input: unknown fields {unknown} for app bria/generate-lite "
                f"(declared: {', '.join(_INF_INPUTS)})"
            )
        for name, value in inputs.items():
            rule = _INF_INPUTS[name]
            if isinstance(rule, tuple) and isinstance(rule[0], str):
                if value not in rule:
                    return f"input.{name}: {value!r} is not one of {', '.join(rule)}"
            elif isinstance(rule, tuple):
                low, high = rule
                number = isinstance(value, int | float) and not isinstance(value, bool)
                whole = name != "guidance_scale"
                if not number or (whole and not isinstance(value, int)):
                    return f"input.{name}: {value!r} is not a {'whole ' if whole else ''}number"
                if not low <= value <= high:
                    return f"input.{name}: {value} is outside {low}..{high}"
            elif not isinstance(value, rule):
                return f"input.{name}: {value!r} is not a {rule.__name__}"
        if "prompt" not in inputs and not inputs.get("images"):
            return "input.prompt: required"
        return None

    def _inf_submit(self, _arg: str, raw: bytes, base: str) -> Reply:
        body = self._body(raw)
        if body is None or not isinstance(body.get("input"), dict):
            return self._problem(400, "bad_request", "body must be {app, input}")
        app = str(body.get("app", ""))
        if app.partition("@")[0] != "bria/generate-lite":
            return self._problem(404, "app_not_found", f"app {app!r} not found")
        inputs: dict[str, Any] = body["input"]
        problem = self._inf_check(inputs)
        if problem is not None:
            return self._problem(422, "validation_error", problem)
        # the app's one text input carries the structured prompt's wire string when it is one
        text = inputs.get("prompt")
        wire = None
        if isinstance(text, str) and text.lstrip().startswith("{"):
            try:
                wire = text if isinstance(json.loads(text), dict) else None
            except ValueError:
                wire = None
        job = self._new_job("inferencesh", "image", {**inputs, "structured_prompt": wire})
        return _json(200, {"data": self._task(job, base), "messages": []})

    def _inf_number(self, job: EmuJob) -> int:
        now = time.monotonic()
        if job.outcome == "cancelled":
            return 12
        if not job.done(now):
            p = job.progress(now)
            return 2 if p < 0.2 else 7 if p < 0.85 else 9
        return 10 if job.outcome == "ok" else 11

    def _task(self, job: EmuJob, base: str) -> dict[str, Any]:
        number = self._inf_number(job)
        task: dict[str, Any] = {
            "id": job.id,
            "status": number,
            "app": "bria/generate-lite",
            "input": {},
            "output": None,
            "error": None,
            "logs": [],
        }
        if number == 10:
            task["output"] = {"image": {"uri": self._file_url(job, base)}, "seed": job.seed}
        elif number == 11:
            task["error"] = (
                "Content moderation: the output was blocked"
                if job.outcome == "moderation"
                else self._failure(job, "Task failed (emulated)")
            )
        return task

    def _inf_status(self, job_id: str, _raw: bytes, base: str) -> Reply:
        job = self._job(job_id, "polls")
        if job is None:
            return self._problem(404, "task_not_found", f"task {job_id} not found")
        return _json(200, {"data": self._task(job, base), "messages": []})

    def _inf_cancel(self, job_id: str, _raw: bytes, base: str) -> Reply:
        job = self._job(job_id, "cancels")
        if job is None:
            return self._problem(404, "task_not_found", f"task {job_id} not found")
        if not job.done(time.monotonic()):
            job.outcome = "cancelled"
            job.changed.set()
        return _json(200, {"data": self._task(job, base), "messages": []})

    def _stream(self, job_id: str, base: str, handler: BaseHTTPRequestHandler) -> None:
        """Serve a task's NDJSON stream until the task ends (then close the connection).

        The first line is the full task, each status change a partial update, the terminal
        line the full task again (with its output); a quiet stream sends heartbeats. The
        thread sleeps until the next status change (known from the job's duration) or a
        cancel, never in a busy loop.
        """
        job = self._job(job_id, "streams")
        if job is None:
            reply = self._problem(404, "task_not_found", f"task {job_id} not found")
            handler.send_response(404)
            for k, v in {**reply.headers, "content-length": str(len(reply.body))}.items():
                handler.send_header(k, v)
            handler.end_headers()
            handler.wfile.write(reply.body)
            return
        handler.send_response(200)
        handler.send_header("content-type", "application/x-ndjson")
        handler.send_header("connection", "close")
        handler.end_headers()
        breaks = self._chance(self.config.faults.stream_break)
        heartbeat = max(0.01, self.config.stream_heartbeat_s)
        deadline = time.monotonic() + max(5.0, job.duration + 5.0)
        last: int | None = None
        beat = time.monotonic() + heartbeat

        def send(data: dict[str, Any]) -> None:
            handler.wfile.write(json.dumps(data).encode() + b"\n")
            handler.wfile.flush()

        while time.monotonic() < deadline:
            task = self._task(job, base)
            number = task["status"]
            if number != last:
                terminal = number >= 10
                send(task if last is None or terminal else self._partial(number))
                last = number
                beat = time.monotonic() + heartbeat
                if terminal:
                    return
                if breaks:
                    self._count("fault.stream_break")
                    return
            now = time.monotonic()
            if now >= beat:
                send({"type": "heartbeat"})
                beat = now + heartbeat
            wake = min(beat, deadline, self._next_change(job, now))
            job.changed.wait(max(0.0, wake - now))

    @staticmethod
    def _partial(number: int) -> dict[str, Any]:
        return {"data": {"status": number}, "fields": ["status"]}

    @staticmethod
    def _next_change(job: EmuJob, now: float) -> float:
        """When the job's emulated status next changes (its progress passes 0.2, 0.85, 1)."""
        for fraction in (0.2, 0.85, 1.0):
            at = job.created + job.duration * fraction
            if at > now:
                return at
        return now + 0.05
