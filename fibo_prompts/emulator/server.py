"""A local HTTP server speaking the hosted FIBO protocols, for tests, benchmarks and offline use.

Routes (``docs/protocols.md``), one module per service:

=========================================  ====================================================
Bria v2 (:mod:`.bria`)                     ``POST /v2/image/generate`` → 202 (``sync``: 200),
                                           ``POST /v2/structured_prompt/generate``,
                                           ``GET /v2/status/{id}``; key header ``api_token``
Segmind v1/v2 (:mod:`.segmind`)            ``POST /v2/{slug}``, ``GET /v2/requests/{id}
                                           [/status]``, ``GET /v1/requests/{id}``, ``POST
                                           /v1/{slug}``; key ``x-api-key``
inference.sh (:mod:`.inferencesh`)         ``POST /apps/run``, ``GET /tasks/{id}[/stream]``,
                                           ``POST /tasks/{id}/cancel``; ``Authorization:
                                           Bearer``
fal (:mod:`.fal`)                          fal's queue protocol; ``Authorization: Key``
Replicate (:mod:`.replicate`)              predictions create/get/cancel; ``Authorization:
                                           Bearer``
emulator                                   ``GET /_emulator/files/{id}.png|jpg`` (result images),
                                           ``GET /_emulator/stats``, ``POST /_emulator/reset``
=========================================  ====================================================

This module owns what the services share: jobs, the accounting, the faults and the dispatch.
A service is a class implementing :class:`fibo_prompts.emulator._http.Service`; to add one,
add it to :meth:`Emulator._make_services`.

The accounting (``/_emulator/stats``) counts every job created, that is every submit the
real service would bill (``accepted``), and the submit bodies accepted more than once
(``billed_twice``: the same request paid for again).

Structured-prompt routes derive their answer with the rule documented in
:mod:`fibo_prompts.preview.derive` (no language model). Jobs complete lazily: a job's state
is computed from its submit time and drawn duration, so no thread runs per job.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import ssl
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any, Final, TextIO
from urllib.parse import urlsplit

from fibo_prompts.emulator._http import (
    DROP,
    EmuJob,
    Handler,
    Reply,
    Route,
    Server,
    Service,
    json_reply,
)
from fibo_prompts.emulator.bria import BriaService
from fibo_prompts.emulator.config import EmulatorConfig
from fibo_prompts.emulator.inferencesh import InferenceShService
from fibo_prompts.emulator.segmind import SegmindService
from fibo_prompts.jobs import ASPECT_RATIOS
from fibo_prompts.preview import derive_structured_prompt, render_preview

# EmuJob and Reply are re-exported: the service modules' historical import path
__all__ = ["Emulator", "EmuJob", "Reply"]

#: what nginx answers when its upstream fails or times out: HTML, not the service's format
_GATEWAY_PAGE: Final = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)
_GATEWAY_REASONS: Final = {502: "Bad Gateway", 504: "Gateway Time-out"}


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
        self._server = Server((host, port), Handler)
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
        self._services: dict[str, Service] = {s.name: s for s in self._make_services()}
        self._thread: threading.Thread | None = None

    def _make_services(self) -> tuple[Service, ...]:
        """The served services, in routing order (the first whose router answers wins)."""
        # fal and Replicate import this module (Reply, Emulator): imported here, not at the
        # top, to break the cycle
        from fibo_prompts.emulator.fal import FalService
        from fibo_prompts.emulator.replicate import ReplicateService

        return (
            FalService(self),
            ReplicateService(self),
            BriaService(self),
            SegmindService(self),
            InferenceShService(self),
        )

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
            return json_reply(404, {"error": f"no route {method} {path}"})
        name, endpoint, action, arg = route
        service = self._services[name]
        self._count(f"{name}.{endpoint}")
        denied = self._auth(service, lower)
        if denied is not None:
            self._count("unauthorized")
            return denied
        self._current.key = service.key(lower)
        self._current.digest = hashlib.sha256(body).hexdigest()
        limited = self._rate_limit(service, endpoint)
        if limited is not None:
            return limited
        f = self.config.faults
        if self._chance(f.rate_limit):
            self._count("fault.rate_limit")
            return service.too_many(f.retry_after_s)
        if self._chance(f.server_error):
            self._count("fault.server_error")
            with self._lock:
                status = self._rng.choice((500, 503))
            return service.error(status, "emulated server error")
        if self._chance(f.slow):
            self._count("fault.slow")
            time.sleep(f.slow_s)
        if endpoint == "submit" and action is not None:
            self._count("submits_received")
            if self._chance(f.reset_before_submit):
                self._count("fault.reset_before_submit")
                return Reply(0, action=DROP)
            reply: Reply = action(arg, body, base)
            if reply.status < 300 and self._chance(f.reset_after_submit):
                self._count("fault.reset_after_submit")
                return Reply(0, action=DROP)
            if reply.status < 300 and self._chance(f.gateway_after_accept):
                self._count("fault.gateway_after_accept")
                return self._gateway_page()
            return reply
        if self._chance(f.reset_poll):
            self._count("fault.reset_poll")
            return Reply(0, action=DROP)
        if action is None:  # a stream: the service writes the answer itself
            service.stream(arg, base, handler)  # type: ignore[attr-defined]
            return Reply(0, action=DROP)
        reply = action(arg, body, base)
        if method == "GET" and reply.body and self._chance(f.truncate):
            self._count("fault.truncate")
            reply.action = "truncate"
        return reply

    def _route(self, method: str, path: str) -> Route | None:
        for service in self._services.values():
            found = service.route(method, path)
            if found is not None:
                return found
        return None

    def _auth(self, service: Service, headers: dict[str, str]) -> Reply | None:
        key = service.key(headers)
        wanted = self.config.api_keys.get(service.name)
        if key and (wanted is None or key == wanted):
            return None
        return service.error(401, "missing API key" if not key else "invalid API key")

    def _rate_limit(self, service: Service, endpoint: str) -> Reply | None:
        key = f"{service.name}.{endpoint}"
        rate = self.config.rate_limits.get(key)
        if not rate:
            return None
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
        return service.too_many(wait)

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

    def _internal(self, method: str, path: str) -> Reply:
        if method == "GET" and path == "/_emulator/stats":
            return json_reply(200, self.stats())
        if method == "POST" and path == "/_emulator/reset":
            self.reset()
            return json_reply(200, {"reset": True})
        if method == "GET" and path.startswith("/_emulator/files/"):
            return self._file(path.rsplit("/", 1)[1])
        return json_reply(404, {"error": f"no route {method} {path}"})

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
            return json_reply(404, {"error": "file not found"})
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
        """The first problem with the fields Bria and Segmind share, or ``None``."""
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
