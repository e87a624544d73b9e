"""The emulator's fal routes: fal's queue protocol for Bria's FIBO apps.

fal-client 1.0.3 (``fal_client/client.py``) speaks it as: ``POST {queue}/{app}`` →
``{request_id, response_url, status_url, cancel_url}``; ``GET {queue}/{owner}/{alias}/requests/
{id}/status?logs=0|1`` → ``IN_QUEUE`` (``queue_position``), ``IN_PROGRESS`` (``logs``) or
``COMPLETED`` (``logs``, ``metrics``, and ``error``/``error_type`` for a failed request);
``GET .../requests/{id}`` → the app's output; ``PUT .../requests/{id}/cancel``. The key travels
as ``Authorization: Key <key>``. The URLs name the app's owner and alias only
(``bria/fibo``), not its path (``generate``): fal-client builds them so
(``SyncRequestHandle.from_request_id``).

The apps (``https://fal.ai/models/<app>/llms.txt``): ``bria/fibo/generate`` (``prompt``,
``structured_prompt`` **as a JSON object**, ``image_url``, ``seed``, ``steps_num`` 20-50,
``aspect_ratio``, ``negative_prompt``, ``guidance_scale``), ``bria/fibo/generate/
structured_prompt`` (text or image → structured prompt; with one, refine it),
``bria/fibo-lite/generate`` and ``bria/fibo-edit/edit`` (``image_url``, ``mask_url``,
``instruction``, ``structured_instruction``, ``steps_num`` 20-50). The emulated FIBO reads
the structured prompt as ``json.dumps`` of the object (Python's defaults: ``", "`` and
``": "``, non-ASCII escaped): an assumption about fal's app (``docs/protocols.md``, "fal").

Assumptions, all unverified against the live service: an invalid input is accepted and the
request then fails (``COMPLETED`` with ``error``; the result GET answers 422 ``{"detail"}``);
the output is ``{"images": [{"url", "content_type"}], "image": <the first>, "seed",
"structured_prompt": {...}}``; a cancel answers 202 ``{"status":
"CANCELLATION_REQUESTED"}`` (400 ``ALREADY_COMPLETED`` once done); errors are ``{"detail":
...}`` with an ``x-fal-request-id`` header when fal itself answers.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from typing import TYPE_CHECKING, Any, Final

from fibo_prompts.emulator._http import EmuJob, Reply, Route, json_reply
from fibo_prompts.jobs import ASPECT_RATIOS

if TYPE_CHECKING:
    from fibo_prompts.emulator.server import Emulator

__all__ = ["FAL_APPS", "FalService", "fal_wire"]

#: app id → what it makes (``image`` or ``structured_prompt``) and its ``steps_num`` default
FAL_APPS: Final[dict[str, str]] = {
    "bria/fibo/generate": "image",
    "bria/fibo/generate/structured_prompt": "structured_prompt",
    "bria/fibo-lite/generate": "image",
    "bria/fibo-edit/edit": "image",
}
#: the inputs each app declares (llms.txt pages; anything else is refused as invalid)
_INPUTS: Final[dict[str, frozenset[str]]] = {
    "bria/fibo/generate": frozenset(
        {
            "prompt",
            "structured_prompt",
            "image_url",
            "seed",
            "steps_num",
            "aspect_ratio",
            "negative_prompt",
            "guidance_scale",
            "sync_mode",
        }
    ),
    "bria/fibo/generate/structured_prompt": frozenset(
        {"prompt", "structured_prompt", "image_url", "seed"}
    ),
    "bria/fibo-edit/edit": frozenset(
        {
            "image_url",
            "mask_url",
            "instruction",
            "structured_instruction",
            "seed",
            "steps_num",
            "negative_prompt",
            "guidance_scale",
            "sync_mode",
        }
    ),
}
_INPUTS["bria/fibo-lite/generate"] = _INPUTS["bria/fibo/generate"]
_SEED_MAX: Final = 2_147_483_647


def fal_wire(value: Any) -> str:
    """The bytes the emulated FIBO reads for a structured prompt sent as an object: Python's
    ``json.dumps`` with its defaults (the assumption documented in ``docs/protocols.md``)."""
    return json.dumps(value)


class FalService:
    """fal's queue routes, served by an :class:`Emulator` (which owns jobs and faults)."""

    name = "fal"

    def __init__(self, app: Emulator) -> None:
        self.app = app

    # ------------------------------------------------------------------ plumbing

    def route(self, method: str, path: str) -> Route | None:
        """``(service, endpoint, action, arg)`` for a fal path, else ``None``."""
        tail = path.strip("/")
        if method == "POST" and tail in FAL_APPS:
            return self.name, "submit", self._submit, tail
        parts = tail.split("/")
        if len(parts) >= 4 and parts[0] == "bria" and parts[2] == "requests":
            rid = parts[3]
            if method == "GET" and len(parts) == 4:
                return self.name, "result", self._result, rid
            if method == "GET" and len(parts) == 5 and parts[4] == "status":
                return self.name, "status", self._status, rid
            if method == "PUT" and len(parts) == 5 and parts[4] == "cancel":
                return self.name, "status", self._cancel, rid
        return None

    @staticmethod
    def key(headers: dict[str, str]) -> str | None:
        """The key of ``Authorization: Key <key>``."""
        value = headers.get("authorization", "")
        return value[4:] if value.lower().startswith("key ") else None

    def error(self, status: int, message: str, headers: dict[str, str] | None = None) -> Reply:
        """fal's own error body, ``{"detail": ...}``; no request id: nothing was accepted."""
        return json_reply(status, {"detail": message}, headers)

    def too_many(self, wait: float) -> Reply:
        """A 429 (fal documents no rate-limit header; ``Retry-After`` is an assumption)."""
        return json_reply(
            429,
            {"detail": "Too many requests"},
            {"retry-after": str(max(1, math.ceil(wait))), "x-fal-request-id": "emulated-429"},
        )

    # ------------------------------------------------------------------ routes

    def _problem(self, app_id: str, body: dict[str, Any]) -> str | None:
        unknown = sorted(set(body) - _INPUTS[app_id])
        if unknown:
            return f"unexpected input(s) {', '.join(unknown)}"
        seed = body.get("seed")
        if seed is not None and (type(seed) is not int or not 0 <= seed <= _SEED_MAX):
            return f"seed must be an integer in 0..{_SEED_MAX}"
        steps = body.get("steps_num")
        if steps is not None and (type(steps) is not int or not 20 <= steps <= 50):
            return "steps_num must be an integer in 20..50"
        guidance = body.get("guidance_scale")
        if guidance is not None and (type(guidance) not in (int, float) or not 3 <= guidance <= 5):
            return "guidance_scale must be between 3 and 5"
        ratio = body.get("aspect_ratio")
        if ratio is not None and ratio not in ASPECT_RATIOS:
            return f"aspect_ratio must be one of {', '.join(ASPECT_RATIOS)}"
        for key in ("structured_prompt", "structured_instruction"):
            if key in body and not isinstance(body[key], dict):
                return f"{key} must be an object"
        return None

    def _submit(self, app_id: str, raw: bytes, base: str) -> Reply:
        body = self.app._body(raw)
        if body is None:
            return self.error(422, "the body is not a JSON object")
        problem = self._problem(app_id, body)
        kind = FAL_APPS[app_id]
        sent = body.get("structured_prompt", body.get("structured_instruction"))
        view = {
            "seed": body.get("seed", 5555),  # the apps' documented default
            "structured_prompt": fal_wire(sent) if isinstance(sent, dict) else None,
            "prompt": body.get("prompt", body.get("instruction")),
            "aspect_ratio": body.get("aspect_ratio", "1:1"),
        }
        job = self.app._new_job(
            self.name, kind, view, outcome="invalid" if problem else None, error=problem
        )
        if kind == "structured_prompt" and job.wire is not None:
            job.instruction, job.text = job.text, None
        elif kind == "structured_prompt" and body.get("image_url") and not job.text:
            # "describe this image": the emulator cannot see, so the subject names the image
            # by its digest (deterministic, like every derived prompt; as the Bria routes do)
            digest = hashlib.sha256(str(body["image_url"]).encode()).hexdigest()[:12]
            job.text = f"the scene of reference image {digest}"
        owner_alias = "/".join(app_id.split("/")[:2])
        url = f"{base}/{owner_alias}/requests/{job.id}"
        return json_reply(
            200,
            {
                "request_id": job.id,
                "response_url": url,
                "status_url": f"{url}/status",
                "cancel_url": f"{url}/cancel",
                "queue_position": 0,
            },
            {"x-fal-request-id": job.id},
        )

    def _state(self, job: EmuJob) -> str:
        now = time.monotonic()
        if not job.done(now):
            return "IN_QUEUE" if job.progress(now) < 0.2 else "IN_PROGRESS"
        return "COMPLETED"

    def _error_of(self, job: EmuJob) -> tuple[str, str] | None:
        """``(error, error_type)`` of a finished request that failed, else ``None``."""
        if job.outcome == "ok":
            return None
        if job.outcome == "cancelled":
            return "the request was cancelled", "request_cancelled"
        if job.outcome == "invalid":
            return job.error or "invalid input", "validation_error"
        if job.outcome == "moderation":
            return "Content moderation: the output was blocked", "content_policy_violation"
        return self.app._failure(job, "Generation failed (emulated)"), "runner_error"

    def _status(self, rid: str, _raw: bytes, _base: str) -> Reply:
        job = self.app._job(rid, "polls")
        if job is None:
            return self.error(404, f"Request {rid} not found")
        state = self._state(job)
        data: dict[str, Any] = {"status": state, "request_id": rid}
        if state == "IN_QUEUE":
            data["queue_position"] = 0
        else:
            data["logs"] = []
        if state == "COMPLETED":
            data["metrics"] = {"inference_time": round(job.duration, 3)}
            failed = self._error_of(job)
            if failed is not None:
                data["error"], data["error_type"] = failed
        return json_reply(200, data, {"x-fal-request-id": rid})

    def _result(self, rid: str, _raw: bytes, base: str) -> Reply:
        job = self.app._job(rid, "results")
        if job is None:
            return self.error(404, f"Request {rid} not found")
        if self._state(job) != "COMPLETED":
            return self.error(400, "Request is still in progress")
        failed = self._error_of(job)
        if failed is not None:
            status = 422 if failed[1] in ("validation_error", "content_policy_violation") else 500
            return json_reply(
                status,
                {"detail": failed[0], "error_type": failed[1]},
                {"x-fal-request-id": rid, "x-fal-error-type": failed[1]},
            )
        derived = json.loads(job.wire) if job.wire else None
        if job.kind == "structured_prompt":
            return json_reply(200, {"structured_prompt": json.loads(self.app._derived(job))})
        image = {"url": self.app._file_url(job, base), "content_type": "image/png"}
        output = {
            "image": image,
            "images": [image],
            "seed": job.seed,
            "structured_prompt": derived or json.loads(self.app._derived(job)),
        }
        return json_reply(200, output, {"x-fal-request-id": rid})

    def _cancel(self, rid: str, _raw: bytes, _base: str) -> Reply:
        job = self.app._job(rid, "cancels")
        if job is None:
            return self.error(404, f"Request {rid} not found")
        if job.done(time.monotonic()):
            return json_reply(400, {"status": "ALREADY_COMPLETED"}, {"x-fal-request-id": rid})
        job.outcome = "cancelled"
        job.changed.set()
        return json_reply(202, {"status": "CANCELLATION_REQUESTED"}, {"x-fal-request-id": rid})
