"""The emulator's Segmind routes (``docs/protocols.md``).

v2: ``POST /v2/{slug}`` → ``{request_id, status, poll_url, status_url, response_url}``,
``GET /v2/requests/{id}/status`` (FAILED as HTTP 422, 404 after expiry), ``GET
/v2/requests/{id}`` and the legacy ``poll_url`` ``GET /v1/requests/{id}``. v1: ``POST
/v1/bria-fibo-generate`` → JPEG bytes (or PNG, or JSON with a URL or base64: config
``segmind_v1_response``) with ``x-seed-value``, ``x-cost``, ``x-request-id``...; ``POST
/v1/bria-fibo-generate-structured-prompt`` → the JSON text. The key travels in ``x-api-key``;
errors are ``{"error": ...}``; a 429 carries ``x-rate-limit-reset-at-utc`` and no
``Retry-After``. Segmind accepts an invalid v2 body with 200 and fails the job (as the real
service does on some endpoints).
"""

from __future__ import annotations

import base64
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.emulator._http import EmuJob, Reply, Route, json_reply
from fibo_prompts.preview import render_preview

if TYPE_CHECKING:
    from fibo_prompts.emulator.server import Emulator

__all__ = [
    "SEGMIND_DEFAULT_ASPECT_RATIO",
    "SEGMIND_SEED",
    "SEGMIND_SLUGS",
    "SEGMIND_STEPS",
    "SegmindService",
]

SEGMIND_SLUGS: Final = ("bria-fibo-generate", "bria-fibo-generate-structured-prompt")
#: https://www.segmind.com/models/bria-fibo-generate/api: aspect_ratio default "16:9"
SEGMIND_DEFAULT_ASPECT_RATIO: Final = "16:9"
#: seed "Range: 1 - 999999999" (the structured-prompt slug's page; the same on generate's),
#: steps_num 20-50 (the generate page), guidance_scale an integer 3-5
SEGMIND_SEED: Final = (1, 999_999_999)
SEGMIND_STEPS: Final = (20, 50)


class SegmindService:
    """Segmind's v1 and v2 routes, served by an :class:`Emulator`."""

    name = "segmind"

    def __init__(self, app: Emulator) -> None:
        self.app = app

    # ------------------------------------------------------------------ plumbing

    def route(self, method: str, path: str) -> Route | None:
        """``(service, endpoint, action, arg)`` for a Segmind path, else ``None``."""
        parts = path.strip("/").split("/")
        if method == "POST" and len(parts) == 2 and parts[0] == "v2":
            return self.name, "submit", self._submit, parts[1]
        if method == "POST" and len(parts) == 2 and parts[0] == "v1":
            return self.name, "submit", self._v1, parts[1]
        if method == "GET" and len(parts) == 4 and parts[:2] == ["v2", "requests"]:
            if parts[3] == "status":
                return self.name, "status", self._status, parts[2]
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v2", "requests"]:
            return self.name, "result", self._result, parts[2]
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "requests"]:
            # the v2 submit's ``poll_url`` (docs: "V1 poll endpoint (backward compatible)")
            return self.name, "status", self._result, parts[2]
        return None

    def key(self, headers: dict[str, str]) -> str | None:
        """The ``x-api-key`` header."""
        return headers.get("x-api-key")

    def error(self, status: int, message: str) -> Reply:
        """Segmind's error body, ``{"error": ...}``."""
        return json_reply(status, {"error": message})

    def too_many(self, wait: float) -> Reply:
        """A 429 with ``x-rate-limit-reset-at-utc`` (ISO 8601) and no ``Retry-After``."""
        reset = datetime.fromtimestamp(time.time() + wait, UTC)
        stamp = reset.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return json_reply(
            429, {"error": "Rate limit exceeded"}, {"x-rate-limit-reset-at-utc": stamp}
        )

    # ------------------------------------------------------------------ v2

    def _submit(self, slug: str, raw: bytes, base: str) -> Reply:
        if slug not in SEGMIND_SLUGS:
            return json_reply(404, {"error": f"model {slug} not found"})
        body = self.app._body(raw)
        if body is None:
            return json_reply(400, {"error": "Invalid JSON body"})
        kind = "image" if slug == "bria-fibo-generate" else "structured_prompt"
        problem = self._problem(kind, body)
        # Segmind accepts and bills nothing for an invalid body, failing the job later
        job = self.app._new_job(
            self.name, kind, body, outcome="invalid" if problem else None, error=problem
        )
        if kind == "structured_prompt":
            job.instruction = job.text if job.wire else None
        return json_reply(200, self._envelope(job, base, "QUEUED"))

    def _problem(self, kind: str, body: dict[str, Any]) -> str | None:
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
        return self.app._check(body, "steps_num", SEGMIND_SEED[1])

    def _envelope(self, job: EmuJob, base: str, status: str) -> dict[str, Any]:
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

    def _state(self, job: EmuJob) -> str:
        now = time.monotonic()
        if not job.done(now):
            return "QUEUED" if job.progress(now) < 0.2 else "PROCESSING"
        return "COMPLETED" if job.outcome == "ok" else "FAILED"

    def _failed(self, job: EmuJob) -> Reply:
        message = job.error or self.app._failure(job, "Inference failed (emulated)")
        if job.outcome == "moderation":
            message = "Content moderation: the output was blocked"
        return json_reply(422, {"status": "FAILED", "error": message, "metrics": {}})

    def _status(self, job_id: str, _raw: bytes, base: str) -> Reply:
        job = self.app._job(job_id, "polls")
        if job is None:
            return json_reply(404, {"error": f"Request {job_id} not found"})
        state = self._state(job)
        if state == "FAILED":
            return self._failed(job)
        return json_reply(200, {**self._envelope(job, base, state), "metrics": {}})

    def _result(self, job_id: str, _raw: bytes, base: str) -> Reply:
        job = self.app._job(job_id, "results")
        if job is None:
            return json_reply(404, {"error": f"Request {job_id} not found"})
        state = self._state(job)
        if state == "FAILED":
            return self._failed(job)
        if state != "COMPLETED":
            return json_reply(200, {**self._envelope(job, base, state), "metrics": {}})
        return json_reply(200, self._output(job, base))

    def _output(self, job: EmuJob, base: str) -> dict[str, Any]:
        total = round(job.duration, 3)
        metrics = {
            "inference_time": round(total * 0.8, 3),
            "queue_time": round(total * 0.2, 3),
            "total_time": total,
            "cost": 0.04 if job.kind == "image" else 0.01,
            "remaining_credits": 100.0,
            "retry_count": 0,
        }
        app = self.app
        output = app._file_url(job, base) if job.kind == "image" else app._derived(job)
        return {
            "request_id": job.id,
            "status": "COMPLETED",
            "output": output,
            "metrics": metrics,
        }

    # ------------------------------------------------------------------ v1

    def _v1(self, slug: str, raw: bytes, base: str) -> Reply:
        app = self.app
        if slug not in SEGMIND_SLUGS:
            return json_reply(404, {"error": f"model {slug} not found"})
        body = app._body(raw)
        if body is None:
            return json_reply(400, {"error": "Invalid JSON body"})
        kind = "image" if slug == "bria-fibo-generate" else "structured_prompt"
        problem = self._problem(kind, body)
        if problem is not None:
            return json_reply(400, {"error": problem})
        job = app._new_job(self.name, kind, body)
        time.sleep(job.duration)
        if job.outcome != "ok":
            failed = {"error": "Inference failed (emulated)"}
            return json_reply(500, failed, {"x-request-id": job.id})
        accounting = {
            "x-cost": "0.04" if kind == "image" else "0.01",
            "x-remaining-credits": "100.0",
            "x-generation-time": f"{job.duration:.3f}",
            "x-request-id": job.id,
        }
        if kind == "structured_prompt":
            # the page: "returning only the JSON string" (answer shape unverified)
            job.instruction = job.text if job.wire else None
            text = app._derived(job).encode()
            return Reply(200, text, {"content-type": "application/json", **accounting})
        answer = app.config.segmind_v1_response
        image = render_preview(
            job.wire,
            job.text,
            job.seed,
            job.aspect_ratio,
            longest=app.config.image_size,
            image_format="PNG" if answer != "jpeg" else "JPEG",
        )
        if answer == "json_url":
            data = {"image": app._file_url(job, base)}
            return json_reply(200, data, {"x-seed-value": str(job.seed), **accounting})
        if answer == "json_base64":
            data = {"image": base64.b64encode(image).decode()}
            return json_reply(200, data, {"x-seed-value": str(job.seed), **accounting})
        headers = {"content-type": f"image/{answer}", "x-seed-value": str(job.seed)}
        return Reply(200, image, {**headers, **accounting})
