"""The emulator's Bria v2 routes (``docs/protocols.md``, "Bria").

``POST /v2/image/generate`` → 202 ``{request_id, status_url}`` (``sync``: 200 with the result),
``POST /v2/structured_prompt/generate`` (text, images or a structured prompt plus an
instruction → a structured prompt), ``GET /v2/status/{id}`` → IN_PROGRESS, COMPLETED, ERROR or
UNKNOWN (404 ``{"status": "NOT_FOUND"}`` for an unknown or expired id). The key travels in the
``api_token`` header; errors are ``{"error": {code, message, details}}``.

FIBO-Edit (docs.bria.ai "Image Editing", v2 endpoints): ``POST /v2/image/edit`` (``images``
with exactly one image, ``instruction`` or ``structured_instruction``, optional ``mask``) and
``POST /v2/structured_instruction/generate`` (``images`` + ``instruction`` [+ ``mask``] → a
``structured_instruction``). The lite routes (``/v2/image/generate/lite``,
``/v2/structured_prompt/generate/lite``) are announced "coming soon": they answer 404 unless
``EmulatorConfig.bria_lite``. ``resolution`` is ``1MP`` or ``4MP`` (``sync`` with 4MP is
refused), ``num_results`` 1..4 (bria-skill ``api-endpoints.md``); the emulator renders one
image whatever ``num_results`` (the reply's shape for several is undocumented).
"""

from __future__ import annotations

import hashlib
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
#: ``resolution`` values (bria-skill ``api-endpoints.md``: "1MP" default, or "4MP")
RESOLUTIONS: Final = ("1MP", "4MP")
#: submit routes: path → (the job's kind, whether it is a lite route)
_SUBMITS: Final[dict[str, str]] = {
    "/v2/image/generate": "image",
    "/v2/structured_prompt/generate": "structured_prompt",
    "/v2/image/generate/lite": "image/lite",
    "/v2/structured_prompt/generate/lite": "structured_prompt/lite",
    "/v2/image/edit": "edit",
    "/v2/structured_instruction/generate": "structured_instruction",
}


class BriaService:
    """Bria's v2 routes, served by an :class:`Emulator` (which owns jobs and faults)."""

    name = "bria"

    def __init__(self, app: Emulator) -> None:
        self.app = app

    # ------------------------------------------------------------------ plumbing

    def route(self, method: str, path: str) -> Route | None:
        """``(service, endpoint, action, arg)`` for a Bria path, else ``None``."""
        parts = path.strip("/").split("/")
        kind = _SUBMITS.get(path)
        if method == "POST" and kind is not None:
            if kind.endswith("/lite") and not self.app.config.bria_lite:
                return None  # announced, not live: the emulator's 404
            if kind == "edit":
                return self.name, "submit", self._edit, kind
            if kind == "structured_instruction":
                return self.name, "submit", self._instruction, kind
            return self.name, "submit", self._submit, kind.removesuffix("/lite")
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
        problem = self._problem(body)
        if problem is not None:
            return self.error(422, problem)
        described = None
        if body.get("images") and not body.get("prompt"):
            # "describe this reference": the emulator cannot see, so the subject names the
            # image by its digest (deterministic, like every derived prompt)
            digest = hashlib.sha256(str(body["images"][0]).encode()).hexdigest()[:12]
            described = f"the scene of reference image {digest}"
        job = app._new_job(self.name, kind, body)
        if described is not None:
            job.text = described
        if kind == "structured_prompt":
            job.instruction = job.text if job.wire else None
        job.warning = self._ip_warning(body)
        return self._accepted(job, body, base)

    def _problem(self, body: dict[str, Any]) -> str | None:
        """The first problem with the fields every Bria v2 route shares, else ``None``."""
        problem = self.app._check(body, "steps_num", _SEED_MAX)
        if problem is None and body.get("steps_num") is not None and body["steps_num"] < 20:
            problem = "steps_num must be in 20..50"
        resolution = body.get("resolution")
        if problem is None and resolution is not None and resolution not in RESOLUTIONS:
            problem = f"resolution must be one of {', '.join(RESOLUTIONS)}"
        if problem is None and resolution == "4MP" and body.get("sync") is True:
            problem = "sync is not supported with resolution 4MP; poll the status instead"
        count = body.get("num_results")
        if (
            problem is None
            and count is not None
            and (type(count) is not int or not 1 <= count <= 4)
        ):
            problem = "num_results must be an integer in 1..4"
        version = body.get("model_version")
        if problem is None and version is not None and not (isinstance(version, str) and version):
            problem = "model_version must be a non-empty string"
        images = body.get("images")
        if (
            problem is None
            and images is not None
            and not (isinstance(images, list) and len(images) == 1 and isinstance(images[0], str))
        ):
            problem = "images must hold exactly one image (a URL or base64)"
        return problem

    def _edit(self, _kind: str, raw: bytes, base: str) -> Reply:
        """``POST /v2/image/edit``: one image, and an instruction or a structured one."""
        body = self.app._body(raw)
        if body is None:
            return self.error(400, "the body is not a JSON object")
        problem = self._edit_problem(body, structured=True)
        if problem is not None:
            return self.error(422, problem)
        sent = {
            **body,
            "structured_prompt": body.get("structured_instruction"),
            "prompt": body.get("instruction"),
        }
        job = self.app._new_job(self.name, "image", sent)
        job.instruction = job.text
        job.warning = self._ip_warning(sent)
        return self._accepted(job, body, base)

    def _instruction(self, _kind: str, raw: bytes, base: str) -> Reply:
        """``POST /v2/structured_instruction/generate``: image + instruction → JSON."""
        body = self.app._body(raw)
        if body is None:
            return self.error(400, "the body is not a JSON object")
        problem = self._edit_problem(body, structured=False)
        if problem is not None:
            return self.error(422, problem)
        job = self.app._new_job(self.name, "structured_instruction", body, text_key="instruction")
        return self._accepted(job, body, base)

    def _edit_problem(self, body: dict[str, Any], *, structured: bool) -> str | None:
        if not body.get("images"):
            return "images is required: the image to edit"
        words, sp = body.get("instruction"), body.get("structured_instruction")
        if not structured and not (isinstance(words, str) and words):
            return "instruction is required"
        if structured and bool(words) == bool(sp):
            return "give exactly one of instruction or structured_instruction"
        if words is not None and not isinstance(words, str):
            return "instruction must be a string"
        if sp is not None:
            try:
                if not isinstance(json.loads(sp), dict):
                    return "structured_instruction must be a JSON object"
            except (TypeError, ValueError):
                return "structured_instruction must be a string containing JSON"
        mask = body.get("mask")
        if mask is not None and not (isinstance(mask, str) and mask):
            return "mask must be an image (a URL or base64)"
        return self._problem(body)

    def _accepted(self, job: EmuJob, body: dict[str, Any], base: str) -> Reply:
        """202 ``{request_id, status_url}``, or with ``sync`` the finished job's 200."""
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
        if job.kind == "structured_instruction":
            data = json.loads(app._derived(job))
            data["edit_instruction"] = job.text
            result["structured_instruction"] = json.dumps(data, ensure_ascii=False)
        elif job.kind == "image":
            result["image_url"] = app._file_url(job, base)
            result["structured_prompt"] = job.wire or app._derived(job)
        else:
            result["structured_prompt"] = app._derived(job)
        return json_reply(200, {"request_id": job.id, "status": "COMPLETED", "result": result})
