"""The emulator's Bria v2 routes (``reference/hosted-apis.md``, ``docs/protocols.md``, "Bria").

``POST /v2/image/generate`` → 202 ``{request_id, status_url}`` (``sync``: 200 with the result),
``POST /v2/structured_prompt/generate`` (text, images or a structured prompt plus an
instruction → a structured prompt), ``GET /v2/status/{id}`` → IN_PROGRESS, COMPLETED, ERROR or
UNKNOWN (404 ``{"status": "NOT_FOUND"}`` for an unknown or expired id). The key travels in the
``api_token`` header; errors are ``{"error": {code, message, details}}``.
"""

from __future__ import annotations

import json
import math
import time
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.emulator._http import EmuJob, Reply, Route, json_reply

if TYPE_CHECKING:
    from fibo_prompts.emulator.server import Emulator

__all__ = ["BriaService"]

#: Names the emulator's IP signal flags (Bria's real list is not published).
_IP_TERMS: Final = ("pikachu", "mickey mouse", "darth vader")
_SEED_MAX: Final = 2_147_483_647


class BriaService:
    """Bria's v2 routes, served by an :class:`Emulator` (which owns jobs and faults)."""

    name = "bria"

    def __init__(self, app: Emulator) -> None:
        self.app = app

    # ------------------------------------------------------------------ plumbing

    def route(self, method: str, path: str) -> Route | None:
        """``(service, endpoint, action, arg)`` for a Bria path, else ``None``."""
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/v2/image/generate":
            return self.name, "submit", self._submit, "image"
        if method == "POST" and path == "/v2/structured_prompt/generate":
            return self.name, "submit", self._submit, "structured_prompt"
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v2", "status"]:
            return self.name, "status", self._status, parts[2]
        return None

    def key(self, headers: dict[str, str]) -> str | None:
        """The ``api_token`` header."""
        return headers.get("api_token")

    def error(self, status: int, message: str) -> Reply:
        """Bria's error body, ``{"error": {code, message, details}}``."""
        return json_reply(status, {"error": {"code": status, "message": message, "details": ""}})

    def too_many(self, wait: float) -> Reply:
        """A 429 with ``Retry-After`` (Bria's real headers are undocumented: an assumption)."""
        retry = {"retry-after": str(max(1, math.ceil(wait)))}
        message = {"code": 429, "message": "Too many requests", "details": ""}
        return json_reply(429, {"error": message}, retry)

    # ------------------------------------------------------------------ routes

    def _submit(self, kind: str, raw: bytes, base: str) -> Reply:
        app = self.app
        body = app._body(raw)
        if body is None:
            return self.error(400, "the body is not a JSON object")
        has = tuple(k for k in ("prompt", "images", "structured_prompt") if body.get(k))
        allowed = {
            ("prompt",),
            ("images",),
            ("prompt", "images"),
            ("structured_prompt",),
            ("prompt", "structured_prompt"),
        }
        if has not in allowed:
            return self.error(422, f"invalid input combination: {', '.join(has) or 'none'}")
        if kind == "structured_prompt" and has == ("structured_prompt",):
            return self.error(422, "refining needs a prompt with the structured_prompt")
        problem = app._check(body, "steps_num", _SEED_MAX)
        if problem is None and body.get("steps_num") is not None and body["steps_num"] < 20:
            problem = "steps_num must be in 20..50"
        if problem is not None:
            return self.error(422, problem)
        job = app._new_job(self.name, kind, body)
        if kind == "structured_prompt":
            job.instruction = job.text if job.wire else None
        job.warning = self._ip_warning(body)
        if body.get("sync") is True:
            time.sleep(job.duration)
            reply = self._status(job.id, b"", base, count=False)
            data = json.loads(reply.body)
            data.pop("status", None)
            return json_reply(200, data)
        status_url = f"{base}/v2/status/{job.id}"
        accepted = {"request_id": job.id, "status_url": status_url}
        if job.warning:
            accepted["warning"] = job.warning
        return json_reply(202, accepted)

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

    def _status(self, job_id: str, _raw: bytes, base: str, count: bool = True) -> Reply:
        job = self.app._job(job_id, "polls" if count else "sync")
        if job is None:
            # an unknown or expired id is HTTP 404 {"status": "NOT_FOUND"}; UNKNOWN means an
            # internal error (docs.bria.ai "Get status", https://docs.bria.ai/status/endpoints/
            # get_status.md)
            return json_reply(404, {"status": "NOT_FOUND"})
        reply = self._reply(job, base)
        if job.warning:
            data = json.loads(reply.body)
            data["warning"] = job.warning
            return json_reply(reply.status, data)
        return reply

    def _reply(self, job: EmuJob, base: str) -> Reply:
        app = self.app
        if not job.done(time.monotonic()):
            return json_reply(200, {"request_id": job.id, "status": "IN_PROGRESS"})
        if job.outcome == "unknown":
            return json_reply(200, {"request_id": job.id, "status": "UNKNOWN"})
        if job.outcome in ("failed", "moderation"):
            message = (
                "Content moderation: the output was blocked"
                if job.outcome == "moderation"
                else app._failure(job, "Generation failed (emulated)")
            )
            code = 422 if job.outcome == "moderation" else 500
            return json_reply(
                200,
                {
                    "request_id": job.id,
                    "status": "ERROR",
                    "error": {"code": code, "message": message, "details": ""},
                },
            )
        result: dict[str, Any] = {"seed": job.seed}
        if job.kind == "image":
            result["image_url"] = app._file_url(job, base)
            result["structured_prompt"] = job.wire or app._derived(job)
        else:
            result["structured_prompt"] = app._derived(job)
        return json_reply(200, {"request_id": job.id, "status": "COMPLETED", "result": result})
